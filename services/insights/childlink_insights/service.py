"""The insights service's nameko edge: consumes every department's events and `referral.events` on its
own quorum queues (dead-lettered like every consumer's) and keeps the indicator cells up to date; serves
them to the gateway over RPC and HTTP (staff API key), with /health and /metrics.

Domain work happens in aggregate, facts, indicators and views; this module only wires them."""

from childlink_common import settings
from childlink_common.batching import consume_batches
from childlink_common.ingest import problem
from childlink_common.logs import configure, get_logger
from childlink_common.metrics import ServiceMetrics, metrics_response
from childlink_common.topology import REFERRAL_EXCHANGE, consumer_queue, events_exchange
from childlink_common.web import answer, json_response, key_is_valid, unauthorised
from childlink_referral.growth import zscores
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc
from nameko.web.handlers import http

from . import links, views
from .aggregate import Aggregator
from .store import open_store
from .taking import take_batch

log = get_logger(__name__)
READ_KEYS = settings.api_keys("INSIGHTS_API_KEYS", "dev-staff-key")


def insights_queue(department):
    exchange = REFERRAL_EXCHANGE if department == "referral" else events_exchange(department)
    if department == "referral":  # its referrals and its identity decisions (childlink_insights.links)
        return consumer_queue("insights.referral.events", exchange, "referral.#", also=links.LINK_TYPES)
    return consumer_queue(f"insights.{department}.events", exchange, "#")


class Insights(DependencyProvider):
    def setup(self):
        configure("insights")
        self.store = open_store()
        self.aggregator = Aggregator(self.store, zscores)

    def stop(self):
        self.store.close()

    def get_dependency(self, worker_ctx):
        return self


def _answer(call):
    try:
        return json_response(200, call())
    except views.Refused as refused:
        error = refused.error
        return answer(problem(422, "invalid_query", error["message"], errors={error["field"]: [error["message"]]}))


class InsightsService:
    name = "insights"
    insights = Insights()
    metrics = ServiceMetrics("insights")

    def _take(self, bodies, department):
        taken = take_batch(self.insights.store, self.insights.aggregator, bodies)
        log.info("insights.batch", department=department, messages=len(bodies), counted=taken)

    @consume_batches(insights_queue("social"))
    def on_social_event(self, bodies):
        self._take(bodies, "social")

    @consume_batches(insights_queue("education"))
    def on_education_event(self, bodies):
        self._take(bodies, "education")

    @consume_batches(insights_queue("health"))
    def on_health_event(self, bodies):
        self._take(bodies, "health")

    @consume_batches(insights_queue("medical"))
    def on_medical_event(self, bodies):
        self._take(bodies, "medical")

    @consume_batches(insights_queue("referral"))
    def on_referral_event(self, bodies):
        self._take(bodies, "referral")

    # --- RPC for the gateway ---------------------------------------------------------------------

    @rpc
    def definitions(self):
        return views.Answers(self.insights.store).definitions()

    @rpc
    def overview(self, indicator, month):
        return views.Answers(self.insights.store).overview(indicator, month)

    @rpc
    def scope_page(self, scope, scope_id, month):
        return views.Answers(self.insights.store).scope_page(scope, scope_id, month)

    @rpc
    def members(self, district, kind):
        return views.Answers(self.insights.store).members(district, kind)

    # --- HTTP ------------------------------------------------------------------------------------

    @http("GET", "/v1/indicators")
    def http_definitions(self, request):
        if not key_is_valid(request, READ_KEYS):
            return unauthorised()
        return json_response(200, {"indicators": views.definitions()})

    @http("GET", "/v1/overview")
    def http_overview(self, request):
        if not key_is_valid(request, READ_KEYS):
            return unauthorised()
        return _answer(lambda: views.overview(self.insights.store, request.args.get("indicator", ""),
                                              request.args.get("month", "")))

    @http("GET", "/v1/<string:scope>/<string:scope_id>")
    def http_scope(self, request, scope, scope_id):
        if not key_is_valid(request, READ_KEYS):
            return unauthorised()
        return _answer(lambda: views.scope_page(self.insights.store, scope, scope_id, request.args.get("month", "")))

    @http("GET", "/metrics")
    def metrics_endpoint(self, request):
        return metrics_response("insights")

    @http("GET", "/health")
    def health(self, request):
        return json_response(200, {"service": "insights", "status": "ok", **self.insights.store.stats()})
