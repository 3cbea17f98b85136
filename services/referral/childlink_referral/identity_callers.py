"""Who is calling the identity API (over HTTP, and over RPC from the gateway), proven, not claimed.

The API key (X-API-Key) says which system calls. Who in it decides comes only from a signed assertion
(X-Childlink-Assertion, childlink_common.assertions) made with a key the referral service shares with
that system. X-Childlink-User / Role / Department headers alone are refused (401), and so are headers
that disagree with the assertion (403); each refusal is written to the service's audit stream (the
structured log event `audit.identity_refused`: who claimed what, on which call, when, why).

Over RPC the gateway puts the assertion of its signed-in user in the viewer (`viewer["assertion"]`): the
broker already lets only the gateway call RPC, and the assertion adds that the decider is a user the
gateway signed in, with the role it signed (a stolen broker account cannot make one).
"""

import datetime as dt

from childlink_common import assertions
from childlink_common.ingest import problem
from childlink_common.logs import get_logger
from childlink_common.web import answer

from .lifecycle import Refusal

log = get_logger(__name__)
CLAIM_HEADERS = {"X-Childlink-User": "user_id", "X-Childlink-Role": "role", "X-Childlink-Department": "department"}


def caller(request, keys):
    """(viewer, None) when the assertion is good; else (None, the refusal to answer with)."""
    token = request.headers.get(assertions.HEADER)
    claimed = {field: request.headers[h][:100] for h, field in CLAIM_HEADERS.items() if request.headers.get(h)}
    viewer = assertions.verify(token, keys) if token else None
    if viewer is None:
        why = "the assertion is forged, expired or malformed" if token else "no signed assertion of the user"
        return None, refuse(request, 401, "unsigned_identity", why, claimed)
    conflicting = sorted(field for field, value in claimed.items() if viewer.get(field) != value)
    if conflicting:
        return None, refuse(request, 403, "conflicting_identity",
                            f"headers disagree with the signed assertion: {', '.join(conflicting)}", claimed, viewer)
    return viewer, None


def refuse(request, status, code, why, claimed, viewer=None):
    log.warning("audit.identity_refused", at=dt.datetime.now(dt.UTC).isoformat(), call=f"{request.method} {request.path}",
                outcome=f"refused:{code}", reason=why, claimed=claimed,
                asserted_user=(viewer or {}).get("user_id"), client=(request.remote_addr or "?")[:64])
    return answer(problem(status, code, why))


def rpc_caller(viewer, keys, call):
    """(the asserted viewer, None), or (None, a `forbidden` answer naming viewer.assertion), audited."""
    token = viewer.get("assertion") if isinstance(viewer, dict) else None
    asserted = assertions.verify(token, keys) if token else None
    claimed = {k: str(viewer.get(k))[:100] for k in ("user_id", "role", "department")
               if isinstance(viewer, dict) and viewer.get(k)}
    if asserted is None or any(asserted.get(k) != v for k, v in claimed.items()):
        why = "no valid signed assertion of the user" if asserted is None else "viewer disagrees with its assertion"
        log.warning("audit.identity_refused", at=dt.datetime.now(dt.UTC).isoformat(), call=f"rpc {call}",
                    outcome="refused:forbidden", reason=why, claimed=claimed)
        return None, Refusal("forbidden", why, "viewer.assertion").answer()
    return asserted, None
