"""The referral service's nameko edge: consumes every department's events, runs the referral workflow,
serves timelines, referrals and child pages.

Domain work happens in intake, identity, timeline, rules, lifecycle, workflow, access, queries and
child_page; this module only wires them to nameko, the store, the outbox and its relay.
"""

import time

from childlink_common import assertions, partitions, settings
from childlink_common.batching import consume_batches
from childlink_common.consumer import consume_safely
from childlink_common.errors import PermanentFailure
from childlink_common.flow_notices import StoredNotices
from childlink_common.ingest import problem
from childlink_common.logs import get_logger
from childlink_common.metrics import ServiceMetrics, metrics_response
from childlink_common.partition_consumer import partition_entrypoints
from childlink_common.relaying import RelayingOutbox
from childlink_common.topology import REFERRAL_EXCHANGE, consumer_queue, referral_queue
from childlink_common.web import answer, json_response, key_is_valid, unauthorised
from nameko.rpc import rpc
from nameko.timer import timer
from nameko.web.handlers import http

from . import child_page as pages
from . import identity_views, queries
from .child_search import search_children
from .consuming import in_one_transaction, take_in_event
from .events import check_delivered
from .fhir.http import everything_response as fhir_everything
from .http_audit import HttpAudit
from .identity import KnownRecords
from .identity_callers import caller, rpc_caller
from .intake_log import log_batch
from .linking import Linking, check_identity_delivered
from .referral_api import ReferralApi
from .store import open_store
from .times import utc_now
from .workflow import Referrals

log = get_logger(__name__)
READ_KEYS = settings.api_keys("REFERRAL_API_KEYS", "dev-staff-key")
TIMER_INTERVAL_S = settings.float_env("REFERRAL_TIMER_INTERVAL_S", 30.0)
# Scored identity matching of records no key settles (docs/identity-matching.md). Off for a first load of
# history, which the batch command (`python -m childlink_referral.dedup`) deduplicates afterwards.
MATCHING = settings.flag_env("REFERRAL_MATCHING", True)
# The referral service reads its own events back: each delivery is checked and logged, and the relay's
# mandatory publishes always have a queue to reach. Other consumers bind their own queues.
OWN_EVENTS_QUEUE = consumer_queue("referral.referral.events", REFERRAL_EXCHANGE, "referral.#", also=("child.#",))


class Backend(RelayingOutbox):
    """The store, the referral outbox with its relay (publishing to `referral.events`), and the workflow."""

    def __init__(self):
        super().__init__("referral")

    def setup(self):
        super().setup()
        self.store = open_store()
        self.timelines = queries.TimelineCache(self.store)
        self.referrals = Referrals(self.store, self.outbox, wake=self.wake)
        self.linking = Linking(self.store, self.outbox, self.referrals, wake=self.wake)
        self.known = KnownRecords(self.store) if MATCHING else None
        if self.known is not None:  # the matcher's index, from every stored record (later: the log's tail)
            started = time.monotonic()
            records = self.known.catch_up()
            log.info("identity.index_built", records=records, seconds=round(time.monotonic() - started, 2))

    def stop(self):
        super().stop()
        self.store.close()


STATUS_OF_REFUSAL = {"invalid": 422, "forbidden": 403, "not_found": 404, "conflict": 409, "merged": 409}


# Who decides on the identity API: a signed assertion of the calling system's user (identity_callers).
ASSERTION_KEYS = assertions.keys()


MALFORMED = object()


def json_body(request):
    """The request's body parsed as JSON, or MALFORMED when it is not JSON."""
    try:
        return request.get_json(force=True, silent=False)
    except Exception:  # noqa: BLE001 - werkzeug raises several kinds for a bad body
        return MALFORMED


def identity_answer(result):
    """An identity answer over HTTP: 200 with it, or the refusal's status with its error (naming the field)."""
    if result.get("ok"):
        return json_response(200, result)
    error = result["error"]
    return json_response(STATUS_OF_REFUSAL.get(error["code"], 422), result)


class ReferralService:
    name = "referral"
    backend = Backend()
    metrics = ServiceMetrics("referral")
    http_audit = HttpAudit()  # every HTTP call on child data, to the audit stream
    notices = StoredNotices()  # `timeline.stored` notices for the monitor's end-to-end lag

    @property
    def store(self):
        return self.backend.store

    def _take_in(self, body, department, applied=None):
        backend = self.backend
        return take_in_event(self.store, backend.referrals, body, department, known=backend.known,
                             linking=backend.linking, applied=applied)

    def _take_in_batch(self, bodies, department):
        """A batch of deliveries in one store transaction (one commit), acked once it committed; a batch
        that fails is taken again one message at a time (childlink_common.batching). One log line for
        the batch, naming each event (id, child, correlation id): a line per event cost more than the
        store writes it reports."""
        intakes = self._in_one_transaction(
            lambda applied: [(self._take_in(body, department, applied), body) for body in bodies])
        log_batch(department, intakes)

    def _in_one_transaction(self, take):
        """`take(applied)` in one store batch (consuming.in_one_transaction)."""
        return in_one_transaction(self.store, self.backend.known, self.backend.referrals, take)

    def _take_in_items(self, items):
        """A partition's batch: (department, body) pairs of any department (childlink_common.partition_consumer)."""
        unknown = [body.get("event_id") if isinstance(body, dict) else None for department, body in items
                   if department is None]
        if unknown:  # dead-lettered `invalid` once the batch falls back to one message at a time
            raise PermanentFailure("no department: the message came through no department's exchange",
                                   {"exchange": [f"not a department's events exchange (event {unknown[0]})"]})
        intakes = self._in_one_transaction(
            lambda applied: [(department, self._take_in(body, department, applied), body)
                             for department, body in items])
        for department in sorted({department for department, _, _ in intakes}):
            log_batch(department, [(intake, body) for d, intake, body in intakes if d == department])

    @consume_batches(referral_queue("social"))
    def on_social_event(self, bodies):
        self._take_in_batch(bodies, "social")

    @consume_batches(referral_queue("education"))
    def on_education_event(self, bodies):
        self._take_in_batch(bodies, "education")

    @consume_batches(referral_queue("health"))
    def on_health_event(self, bodies):
        self._take_in_batch(bodies, "health")

    @consume_batches(referral_queue("medical"))
    def on_medical_event(self, bodies):
        self._take_in_batch(bodies, "medical")

    @consume_safely(OWN_EVENTS_QUEUE)
    def on_referral_event(self, body):
        """Every transition read back from `referral.events`: checked against the referral and logged, so
        operators see each one delivered (and the relay's mandatory publishes always have a queue)."""
        payload = (body.get("payload") or {}) if isinstance(body, dict) else {}
        if isinstance(body, dict) and str(body.get("type", "")).startswith("child."):
            merge_id = payload.get("merge_id")
            check_identity_delivered(body, self.store.get_merge(merge_id) if isinstance(merge_id, str) else None)
            log.info("identity.event_delivered", event_id=body["event_id"], type=body["type"], merge_id=merge_id)
            return
        referral_id = payload.get("referral_id")
        check_delivered(body, self.store.get_referral(referral_id) if isinstance(referral_id, str) else None)
        log.info("referral.event_delivered", event_id=body["event_id"], type=body.get("type"),
                 referral_id=referral_id, correlation_id=body.get("correlation_id"))

    @timer(interval=TIMER_INTERVAL_S)
    def housekeeping(self):
        done = self.backend.referrals.housekeeping()
        if any(done.values()):
            log.info("referral.housekeeping", **done)

    # --- RPC for the gateway (docs/referral-interface.md) ------------------------------------------

    @rpc
    def list_referrals(self, viewer, filters=None, page=1, page_size=50):
        return queries.list_referrals(self.store, viewer, filters, page, page_size, utc_now())

    @rpc
    def get_referral(self, viewer, referral_id):
        return queries.get_referral(self.store, viewer, referral_id, utc_now())

    @rpc
    def act_on_referral(self, viewer, referral_id, action, fields=None, expected_version=None):
        return self.backend.referrals.act(viewer, referral_id, action, fields, expected_version)

    @rpc
    def child_page(self, viewer, child_id):
        return pages.child_page(self.store, viewer, child_id, utc_now())

    @rpc
    def search_children(self, viewer, query):
        return search_children(self.store, viewer, query)

    # --- identity: the review queue and merges (registrar) -------------------------------------------

    @rpc
    def list_identity_reviews(self, viewer, status="open", page=1, page_size=50):
        viewer, refused = rpc_caller(viewer, ASSERTION_KEYS, "list_identity_reviews")
        if refused is not None:
            return refused
        return identity_views.list_reviews(self.store, viewer, status, page, page_size)

    @rpc
    def get_identity_review(self, viewer, review_id):
        viewer, refused = rpc_caller(viewer, ASSERTION_KEYS, "get_identity_review")
        if refused is not None:
            return refused
        return identity_views.get_review(self.store, viewer, review_id)

    @rpc
    def decide_identity_review(self, viewer, review_id, decision, reason=None, expected_version=None):
        viewer, refused = rpc_caller(viewer, ASSERTION_KEYS, "decide_identity_review")
        if refused is not None:
            return refused
        return self.backend.linking.decide(viewer, review_id, decision, reason, expected_version)

    @rpc
    def merges_of_child(self, viewer, child_id):
        viewer, refused = rpc_caller(viewer, ASSERTION_KEYS, "merges_of_child")
        if refused is not None:
            return refused
        return identity_views.merges_of_child(self.store, viewer, child_id)

    @rpc
    def undo_merge(self, viewer, merge_id, reason=None, expected_version=None):
        viewer, refused = rpc_caller(viewer, ASSERTION_KEYS, "undo_merge")
        if refused is not None:
            return refused
        return self.backend.linking.undo(viewer, merge_id, reason, expected_version)

    # --- service to service ----------------------------------------------------------------------

    @rpc
    def get_timeline(self, child_id):
        return queries.timeline_view(self.store, child_id)

    @rpc
    def find_child(self, national_id=None, department=None, facility=None, local_id=None):
        key = queries.child_key(national_id, department, facility, local_id)
        return self.store.find_child(key) if key else None

    @rpc
    def stats(self):
        return self.store.stats()

    # --- HTTP ------------------------------------------------------------------------------------

    @http("GET", "/v1/children/<string:child_id>/timeline")
    def http_timeline(self, request, child_id):
        if not key_is_valid(request, READ_KEYS):
            return unauthorised()
        body = self.backend.timelines.encoded_view(child_id)
        if body is None:
            return answer(problem(404, "not_found", f"no child {child_id}"))
        return queries.json_bytes_response(200, body)

    @http("GET", "/fhir/Patient/<string:child_id>/$everything")
    def http_fhir_everything(self, request, child_id):
        """FHIR R4 of one child for the viewer a signed assertion names (docs/fhir.md): self-asserted
        X-Childlink-* headers are refused and audited, as on the identity API."""
        if not key_is_valid(request, READ_KEYS):
            return unauthorised()
        viewer, refused = caller(request, ASSERTION_KEYS)
        if refused is not None:
            return refused
        return fhir_everything(self.store, request, child_id, utc_now(), viewer)

    @http("POST", "/v1/children/search")
    def http_find_child(self, request):
        """POST, not GET: a national ID must not travel in a URL (access logs, proxies)."""
        if not key_is_valid(request, READ_KEYS):
            return unauthorised()
        query = json_body(request)
        if query is MALFORMED:
            return answer(problem(400, "malformed_json", "body is not valid JSON"))
        fields = ("national_id", "department", "facility", "local_id")
        key = queries.child_key(**{f: query.get(f) for f in fields}) if isinstance(query, dict) else None
        if key is None:
            return answer(problem(422, "invalid_query", "give national_id, or department, facility and local_id",
                                  errors={"national_id": ["required unless department, facility and local_id"]}))
        child_id = self.store.find_child(key)
        if child_id is None:
            return answer(problem(404, "not_found", "no such child"))
        return json_response(200, {"child_id": child_id})

    @http("GET", "/v1/identity/reviews")
    def http_identity_reviews(self, request):
        """The review queue. The API key says which system calls; a signed assertion (X-Childlink-Assertion)
        who in it decides: self-asserted role headers are refused and audited (identity_callers)."""
        if not key_is_valid(request, READ_KEYS):
            return unauthorised()
        reviewer, refused = caller(request, ASSERTION_KEYS)
        if refused is not None:
            return refused
        try:
            page = int(request.args.get("page", 1))
        except ValueError:
            return answer(problem(422, "invalid_query", "page must be a whole number", errors={"page": ["not a number"]}))
        return identity_answer(identity_views.list_reviews(self.store, reviewer,
                                                           request.args.get("status", "open") or None, page))

    @http("GET", "/v1/identity/reviews/<string:review_id>")
    def http_identity_review(self, request, review_id):
        if not key_is_valid(request, READ_KEYS):
            return unauthorised()
        reviewer, refused = caller(request, ASSERTION_KEYS)
        if refused is not None:
            return refused
        return identity_answer(identity_views.get_review(self.store, reviewer, review_id))

    @http("POST", "/v1/identity/reviews/<string:review_id>/decision")
    def http_identity_decision(self, request, review_id):
        """Body: {"decision": "link" | "keep_apart", "reason": ..., "expected_version": n}."""
        if not key_is_valid(request, READ_KEYS):
            return unauthorised()
        reviewer, refused = caller(request, ASSERTION_KEYS)
        if refused is not None:
            return refused
        body = json_body(request)
        if not isinstance(body, dict):
            return answer(problem(400, "malformed_json", "body is not a JSON object"))
        return identity_answer(self.backend.linking.decide(reviewer, review_id, body.get("decision"),
                                                           body.get("reason"), body.get("expected_version")))

    @http("POST", "/v1/identity/merges/<string:merge_id>/undo")
    def http_undo_merge(self, request, merge_id):
        """Body: {"reason": ..., "expected_version": n}."""
        if not key_is_valid(request, READ_KEYS):
            return unauthorised()
        reviewer, refused = caller(request, ASSERTION_KEYS)
        if refused is not None:
            return refused
        body = json_body(request)
        if not isinstance(body, dict):
            return answer(problem(400, "malformed_json", "body is not a JSON object"))
        return identity_answer(self.backend.linking.undo(reviewer, merge_id, body.get("reason"),
                                                         body.get("expected_version")))

    # --- the referral API for department systems (referral_api, docs/referral-api.openapi.yaml) ---------

    @http("GET", "/v1/referrals")
    def http_list_referrals(self, request):
        return ReferralApi(self.store, self.backend.referrals).handle(request)

    @http("GET", "/v1/referrals/<string:referral_id>")
    def http_get_referral(self, request, referral_id):
        return ReferralApi(self.store, self.backend.referrals).handle(request)

    @http("POST", "/v1/referrals/<string:referral_id>/actions")
    def http_act_on_referral(self, request, referral_id):
        return ReferralApi(self.store, self.backend.referrals).handle(request)

    @http("GET", "/metrics")
    def metrics_endpoint(self, request):
        return metrics_response("referral", outbox_depth=self.backend.backlog())

    @http("GET", "/health")
    def health(self, request):
        return json_response(200, {"service": "referral", "status": "ok", **self.store.stats(),
                                   "outbox_backlog": self.backend.backlog()})


def _partition_handler(partition):
    def on_partition_events(self, items):
        self._take_in_items(items)

    on_partition_events.__name__ = f"on_partition_{partition:03d}"
    return on_partition_events


# Partitioned by child (REFERRAL_PARTITIONS, docs/design.md "Partitions by child"): one entrypoint per
# partition queue (own partitions at once, the others as standby) in place of one per department.
if partitions.count():
    for _name in ("on_social_event", "on_education_event", "on_health_event", "on_medical_event"):
        delattr(ReferralService, _name)
for _partition, _consume in partition_entrypoints():
    _handler = _partition_handler(_partition)
    setattr(ReferralService, _handler.__name__, _consume(_handler))
