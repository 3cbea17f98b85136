"""The one department service, made concrete per department: ingest into the outbox, relay to the broker.

Social, education, health and medical differ only in their name and the event types the contracts
give them, so each service module is one line calling `department_service`.
"""

import threading

from nameko.extensions import DependencyProvider
from nameko.web.handlers import http

from . import settings
from .ingest import accept_events, problem
from .logs import configure, get_logger
from .metrics import ServiceMetrics, metrics_response
from .outbox import open_outbox
from .relay import OutboxRelay
from .web import answer, json_response, key_is_valid, read_body, unauthorised

log = get_logger(__name__)


class Outbox(DependencyProvider):
    """The department's outbox store, and the relay that drains it while the service runs."""

    def __init__(self, department):
        self.department = department
        self._stopping = False
        self._work = threading.Event()
        self._relay_thread = None

    def setup(self):
        configure(self.department)
        self.store = open_outbox(self.department)
        self.relay = OutboxRelay(
            self.store, self.department, settings.amqp_uri(self.container.config),
            batch_size=settings.int_env("RELAY_BATCH_SIZE", 200),
            ssl=settings.amqp_ssl(self.container.config),
        )

    def start(self):
        if settings.flag_env("RELAY_ENABLED", True):
            self._relay_thread = self.container.spawn_managed_thread(self._run_relay)

    def _run_relay(self):
        self.relay.run(lambda: self._stopping, self._wait_for_work)

    def _wait_for_work(self, seconds):
        self._work.wait(seconds)
        self._work.clear()

    def stop(self):
        self._stopping = True
        self._work.set()
        if self._relay_thread is not None:
            self._relay_thread.wait()
        self.store.close()

    def kill(self):
        self._stopping = True
        if self._relay_thread is not None:
            self._relay_thread.kill()

    def get_dependency(self, worker_ctx):
        return self

    def accept(self, raw):
        result = accept_events(raw, self.department, self.store)
        if result.status == 202:
            self._work.set()
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
                                       "outbox_backlog": self.outbox.store.backlog(),
                                       "relay": self.outbox.relay.counters()})

        @http("GET", "/metrics")
        def metrics_endpoint(self, request):
            return metrics_response(department, outbox_depth=self.outbox.store.backlog())

        @http("GET", "/v1/events/<string:event_id>")
        def event_status(self, request, event_id):
            if not key_is_valid(request, api_keys):
                return unauthorised()
            found = self.outbox.store.get(event_id)
            if found is None:
                return answer(problem(404, "not_found", f"no event {event_id} was accepted here"))
            return json_response(200, {"event_id": event_id, "published": found["published"]})

    DepartmentService.__name__ = DepartmentService.__qualname__ = f"{department.title()}Service"
    return DepartmentService

