"""The one department service, made concrete per department: ingest into the outbox, relay to the broker.

Social, education, health and medical differ only in their name and the event types the contracts
give them, so each service module is one line calling `department_service`.
"""

from nameko.web.handlers import http

from . import settings
from .ingest import accept_events, problem
from .logs import get_logger
from .metrics import ServiceMetrics, metrics_response
from .outbox.group_commit import GroupCommit
from .relaying import RelayingOutbox
from .web import answer, json_response, key_is_valid, read_body, unauthorised

log = get_logger(__name__)


class Outbox(RelayingOutbox):
    """The department's outbox, and the relay that drains it while the service runs."""

    def setup(self):
        super().setup()
        self.ingest = GroupCommit(self.outbox)

    def accept(self, raw):
        result = accept_events(raw, self.name, self.ingest)
        if result.status == 202:
            self.wake()
        return result


def department_service(department):
    api_keys = settings.api_keys(f"{department.upper()}_API_KEYS", f"dev-{department}-key")

    class DepartmentService:
        name = department
        outbox = Outbox(department)
        metrics = ServiceMetrics(department)

        @http("POST", "/v1/events")
        def post_events(self, request):
            if not key_is_valid(request, api_keys):
                return unauthorised()
            raw = read_body(request)
            if raw is None:
                return answer(problem(413, "too_large", "request body too large"))
            result = self.outbox.accept(raw)
            log.info("ingest.answered", status=result.status,
                     events=len(result.body.get("accepted", [])),
                     event_ids=[a["event_id"] for a in result.body.get("accepted", [])][:20])
            return answer(result)

        @http("GET", "/health")
        def health(self, request):
            return json_response(200, {"service": department, "status": "ok",
                                       "outbox_backlog": self.outbox.backlog(),
                                       "relay": self.outbox.relay.counters()})

        @http("GET", "/metrics")
        def metrics_endpoint(self, request):
            return metrics_response(department, outbox_depth=self.outbox.backlog())

        @http("GET", "/v1/events/<string:event_id>")
        def event_status(self, request, event_id):
            if not key_is_valid(request, api_keys):
                return unauthorised()
            found = self.outbox.outbox.get(event_id)
            if found is None:
                return answer(problem(404, "not_found", f"no event {event_id} was accepted here"))
            return json_response(200, {"event_id": event_id, "published": found["published"]})

    DepartmentService.__name__ = DepartmentService.__qualname__ = f"{department.title()}Service"
    return DepartmentService

