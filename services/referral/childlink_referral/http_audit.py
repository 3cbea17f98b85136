"""Every HTTP read or decision on child data by a calling system, written to the audit stream.

The staff pages are audited by the gateway (its store). Systems call the referral service's HTTP API
directly (timelines, the child search, the identity API), so this provider writes one structured log
event `audit.http` per such call, allowed or refused: when, which call, the child or review it names,
the asserted user if any, the client address and the outcome (the HTTP status). Never a national ID:
the search posts it in the body, which is not logged.
"""

import datetime as dt

from childlink_common import assertions
from childlink_common.logs import get_logger
from nameko.extensions import DependencyProvider

log = get_logger(__name__)
AUDITED_PREFIXES = ("/v1/children", "/v1/identity", "/fhir")


class HttpAudit(DependencyProvider):
    def worker_result(self, worker_ctx, result=None, exc_info=None):
        request = worker_ctx.args[0] if worker_ctx.args else None
        path = getattr(request, "path", None)
        if not isinstance(path, str) or not path.startswith(AUDITED_PREFIXES):
            return
        status = getattr(result, "status_code", None) if exc_info is None else 500
        asserted = assertions.verify(request.headers.get(assertions.HEADER), self.keys())
        log.info("audit.http", at=dt.datetime.now(dt.UTC).isoformat(), call=f"{request.method} {path[:200]}",
                 target={k: str(v)[:100] for k, v in (worker_ctx.kwargs or {}).items()},
                 user_id=(asserted or {}).get("user_id"), role=(asserted or {}).get("role"),
                 client=(request.remote_addr or "?")[:64],
                 outcome="ok" if status is not None and status < 400 else f"refused:{status}")

    def keys(self):
        if not hasattr(self, "_keys"):
            self._keys = assertions.keys()
        return self._keys
