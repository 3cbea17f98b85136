"""Calls to the referral service, with a deadline, turned into answers the pages can always show.

The referral service answers refusals as `{"ok": false, "error": {...}}`; this wrapper makes the
failures around it look the same: the service down or not yet offering a call (`unavailable`), too
slow (`timeout`), or crashing (`error`). A page never sees an exception from here.
"""

import time

import eventlet
from childlink_common.logs import get_logger
from nameko.exceptions import MethodNotFound, RemoteError, UnknownService

log = get_logger(__name__)
DEFAULT_TIMEOUT_S = 10.0


def refusal(code, message, field=None):
    return {"ok": False, "error": {"code": code, "message": message, "field": field}}


class ReferralClient:
    def __init__(self, proxy, timeout_s=DEFAULT_TIMEOUT_S):
        self.proxy = proxy
        self.timeout_s = timeout_s
        self.spent_s = 0.0  # time waiting on referral during this request, for Server-Timing

    def _call(self, method, *args):
        started = time.perf_counter()
        try:
            with eventlet.Timeout(self.timeout_s):
                answer = getattr(self.proxy, method)(*args)
        except eventlet.Timeout:
            log.warning("referral.timeout", method=method, timeout_s=self.timeout_s)
            return refusal("timeout", f"the referral service did not answer {method} in {self.timeout_s:g}s")
        except (MethodNotFound, UnknownService) as exc:
            log.warning("referral.unavailable", method=method, error=type(exc).__name__)
            return refusal("unavailable", f"the referral service does not offer {method} (yet)")
        except RemoteError as exc:
            log.error("referral.remote_error", method=method, exc_type=exc.exc_type)
            return refusal("error", f"the referral service failed: {exc.exc_type}")
        except Exception as exc:  # noqa: BLE001 - connection trouble of any kind is 'unavailable'
            log.error("referral.call_failed", method=method, error=type(exc).__name__)
            return refusal("unavailable", f"the referral service could not be reached ({type(exc).__name__})")
        finally:
            self.spent_s += time.perf_counter() - started
        if not isinstance(answer, dict) or "ok" not in answer:
            return refusal("error", f"the referral service answered {method} in an unknown shape")
        if not answer["ok"] and not isinstance(answer.get("error"), dict):
            return refusal("error", "the referral service refused without saying why")
        return answer

    def list_referrals(self, viewer, filters, page, page_size):
        return self._call("list_referrals", viewer, filters, page, page_size)

    def get_referral(self, viewer, referral_id):
        return self._call("get_referral", viewer, referral_id)

    def act_on_referral(self, viewer, referral_id, action, fields, expected_version):
        return self._call("act_on_referral", viewer, referral_id, action, fields, expected_version)

    def child_page(self, viewer, child_id):
        return self._call("child_page", viewer, child_id)

    # --- identity resolution (registrar) ---------------------------------------------------------------

    def list_identity_reviews(self, viewer, status, page, page_size):
        return self._call("list_identity_reviews", viewer, status, page, page_size)

    def get_identity_review(self, viewer, review_id):
        return self._call("get_identity_review", viewer, review_id)

    def decide_identity_review(self, viewer, review_id, decision, reason, expected_version):
        return self._call("decide_identity_review", viewer, review_id, decision, reason, expected_version)

    def merges_of_child(self, viewer, child_id):
        return self._call("merges_of_child", viewer, child_id)

    def undo_merge(self, viewer, merge_id, reason, expected_version):
        return self._call("undo_merge", viewer, merge_id, reason, expected_version)
