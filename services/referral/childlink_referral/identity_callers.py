"""Who is calling the identity API over HTTP, proven, not claimed.

The API key (X-API-Key) says which system calls. Who in it decides comes only from a signed assertion
(X-Childlink-Assertion, childlink_common.assertions) made with a key the referral service shares with
that system. X-Childlink-User / Role / Department headers alone are refused (401), and so are headers
that disagree with the assertion (403); each refusal is written to the service's audit stream (the
structured log event `audit.identity_refused`: who claimed what, on which call, when, why).
"""

import datetime as dt

from childlink_common import assertions
from childlink_common.ingest import problem
from childlink_common.logs import get_logger
from childlink_common.web import answer

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
