"""Calls to another service over nameko RPC, with a deadline, turned into answers the pages can always show.

The services answer refusals as `{"ok": false, "error": {...}}`; this makes the failures around a call
look the same: the service down or not offering the call (`unavailable`), too slow (`timeout`), crashing
(`error`), or answering in another shape (`error`). A page never sees an exception from here.
"""

import time

import eventlet
from childlink_common.logs import get_logger
from nameko.exceptions import MethodNotFound, RemoteError, UnknownService

log = get_logger(__name__)
DEFAULT_TIMEOUT_S = 10.0


def refusal(code, message, field=None):
    return {"ok": False, "error": {"code": code, "message": message, "field": field}}


class RpcClient:
    """Subclasses name the service (`service`, for logs), how pages call it (`label`), and what to say
    when it does not offer a call (`not_offered`)."""

    service = "service"
    label = "the service"
    not_offered = ""

    def __init__(self, proxy, timeout_s=DEFAULT_TIMEOUT_S):
        self.proxy = proxy
        self.timeout_s = timeout_s
        self.spent_s = 0.0  # time waiting on the service during this request, for Server-Timing

    def _call(self, method, *args, wrap=False):
        """The service's answer; `wrap`: for calls whose answer is not in the ok/error shape already,
        `{"ok": True, "value": answer}`."""
        started = time.perf_counter()
        try:
            if self.proxy is None:
                raise UnknownService(self.service)
            with eventlet.Timeout(self.timeout_s):
                answer = getattr(self.proxy, method)(*args)
        except eventlet.Timeout:
            log.warning(f"{self.service}.timeout", method=method, timeout_s=self.timeout_s)
            return refusal("timeout", f"{self.label} did not answer {method} in {self.timeout_s:g}s")
        except (MethodNotFound, UnknownService) as exc:
            log.warning(f"{self.service}.unavailable", method=method, error=type(exc).__name__)
            return refusal("unavailable", f"{self.label} does not offer {method} {self.not_offered}")
        except RemoteError as exc:
            log.error(f"{self.service}.remote_error", method=method, exc_type=exc.exc_type)
            return refusal("error", f"{self.label} failed: {exc.exc_type}")
        except Exception as exc:  # noqa: BLE001 - connection trouble of any kind is 'unavailable'
            log.error(f"{self.service}.call_failed", method=method, error=type(exc).__name__)
            return refusal("unavailable", f"{self.label} could not be reached ({type(exc).__name__})")
        finally:
            self.spent_s += time.perf_counter() - started
        if wrap:
            return {"ok": True, "value": answer}
        if not isinstance(answer, dict) or "ok" not in answer:
            return refusal("error", f"{self.label} answered {method} in an unknown shape")
        if not answer["ok"] and not isinstance(answer.get("error"), dict):
            return refusal("error", f"{self.label} refused without saying why")
        return answer
