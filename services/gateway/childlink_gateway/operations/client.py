"""Calls to the monitor service, with a deadline, turned into answers the pages can always show.

Like referral_client: an RPC that fails, times out or is not offered becomes
`{"ok": False, "error": {...}}`, never an exception. Calls whose answer is not already in the
ok/error shape (overview, flow, replays) are wrapped as `{"ok": True, "value": ...}`.
"""

import time

import eventlet
from childlink_common.logs import get_logger
from nameko.exceptions import MethodNotFound, RemoteError, UnknownService

log = get_logger(__name__)
DEFAULT_TIMEOUT_S = 10.0


def refusal(code, message, field=None):
    return {"ok": False, "error": {"code": code, "message": message, "field": field}}


class MonitorClient:
    def __init__(self, proxy, timeout_s=DEFAULT_TIMEOUT_S):
        self.proxy = proxy
        self.timeout_s = timeout_s
        self.spent_s = 0.0

    def _call(self, method, *args, wrap=False):
        started = time.perf_counter()
        try:
            if self.proxy is None:
                raise UnknownService("monitor")
            with eventlet.Timeout(self.timeout_s):
                answer = getattr(self.proxy, method)(*args)
        except eventlet.Timeout:
            log.warning("monitor.timeout", method=method, timeout_s=self.timeout_s)
            return refusal("timeout", f"the monitor did not answer {method} in {self.timeout_s:g}s")
        except (MethodNotFound, UnknownService) as exc:
            log.warning("monitor.unavailable", method=method, error=type(exc).__name__)
            return refusal("unavailable", f"the monitor does not offer {method} (is it running?)")
        except RemoteError as exc:
            log.error("monitor.remote_error", method=method, exc_type=exc.exc_type)
            return refusal("error", f"the monitor failed: {exc.exc_type}")
        except Exception as exc:  # noqa: BLE001 - connection trouble of any kind is 'unavailable'
            log.error("monitor.call_failed", method=method, error=type(exc).__name__)
            return refusal("unavailable", f"the monitor could not be reached ({type(exc).__name__})")
        finally:
            self.spent_s += time.perf_counter() - started
        if wrap:
            return {"ok": True, "value": answer}
        if not isinstance(answer, dict) or "ok" not in answer:
            return refusal("error", f"the monitor answered {method} in an unknown shape")
        return answer

    def overview(self):
        return self._call("overview", wrap=True)

    def flow(self, department, type_, minutes, bucket_minutes):
        return self._call("flow", department, type_, minutes, bucket_minutes, wrap=True)

    def dead_letters(self, filters, page, page_size):
        return self._call("dead_letters", filters, page, page_size)

    def dead_letter(self, dl_id, viewer, raw=False):
        return self._call("dead_letter", dl_id, viewer, raw)

    def replay(self, viewer, dl_ids=None, filters=None):
        return self._call("replay", viewer, dl_ids, filters)

    def discard(self, viewer, reason, dl_ids=None, filters=None):
        return self._call("discard", viewer, reason, dl_ids, filters)

    def replays(self, limit=50):
        return self._call("replays", limit, wrap=True)
