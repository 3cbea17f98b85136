"""The referral service's nameko edge: consumes every department's events, serves timelines.

Domain work happens in intake, identity, timeline and queries; this class only wires them up.
"""

from nameko.extensions import DependencyProvider
from nameko.rpc import rpc
from nameko.web.handlers import http

from childlink_common import settings
from childlink_common.consumer import consume_safely
from childlink_common.ingest import problem
from childlink_common.logs import configure, get_logger
from childlink_common.topology import referral_queue
from childlink_common.web import answer, json_response, key_is_valid, unauthorised

from .intake import take_in
from .queries import child_key, timeline_view
from .store import open_store

log = get_logger(__name__)
READ_KEYS = settings.api_keys("REFERRAL_API_KEYS", "dev-staff-key")


class TimelineStoreProvider(DependencyProvider):
    def setup(self):
        configure("referral")
        self.store = open_store()

    def stop(self):
        self.store.close()

    def get_dependency(self, worker_ctx):
        return self.store


class ReferralService:
    name = "referral"
    store = TimelineStoreProvider()

    def _take_in(self, body, department):
        intake = take_in(self.store, body, department)
        log.info("timeline.appended" if intake.applied else "timeline.duplicate",
                 event_id=intake.event_id, child_id=intake.child_id, department=department,
                 correlation_id=body.get("correlation_id") if isinstance(body, dict) else None)
        if intake.conflicts:
            log.warning("identity.conflict", event_id=intake.event_id, child_id=intake.child_id,
                        conflicting_keys=len(intake.conflicts))

    @consume_safely(referral_queue("social"))
    def on_social_event(self, body):
        self._take_in(body, "social")

    @consume_safely(referral_queue("education"))
    def on_education_event(self, body):
        self._take_in(body, "education")

    @consume_safely(referral_queue("health"))
    def on_health_event(self, body):
        self._take_in(body, "health")

    @consume_safely(referral_queue("medical"))
    def on_medical_event(self, body):
        self._take_in(body, "medical")

    @rpc
    def get_timeline(self, child_id):
        return timeline_view(self.store, child_id)

    @rpc
    def find_child(self, national_id=None, department=None, facility=None, local_id=None):
        key = child_key(national_id, department, facility, local_id)
        return self.store.find_child(key) if key else None

    @rpc
    def stats(self):
        return self.store.stats()

    @http("GET", "/v1/children/<string:child_id>/timeline")
    def http_timeline(self, request, child_id):
        if not key_is_valid(request, READ_KEYS):
            return unauthorised()
        view = timeline_view(self.store, child_id)
        if view is None:
            return answer(problem(404, "not_found", f"no child {child_id}"))
        return json_response(200, view)

    @http("POST", "/v1/children/search")
    def http_find_child(self, request):
        """POST, not GET: a national ID must not travel in a URL (access logs, proxies)."""
        if not key_is_valid(request, READ_KEYS):
            return unauthorised()
        try:
            query = request.get_json(force=True, silent=False)
        except Exception:  # noqa: BLE001 - werkzeug raises several kinds for a bad body
            return answer(problem(400, "malformed_json", "body is not valid JSON"))
        fields = ("national_id", "department", "facility", "local_id")
        key = child_key(**{f: query.get(f) for f in fields}) if isinstance(query, dict) else None
        if key is None:
            return answer(problem(422, "invalid_query", "give national_id, or department, facility and local_id",
                                  errors={"national_id": ["required unless department, facility and local_id"]}))
        child_id = self.store.find_child(key)
        if child_id is None:
            return answer(problem(404, "not_found", "no such child"))
        return json_response(200, {"child_id": child_id})

    @http("GET", "/health")
    def health(self, request):
        return json_response(200, {"service": "referral", "status": "ok", **self.store.stats()})
