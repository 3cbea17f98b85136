"""The gateway's nameko edge: staff web pages over HTTP, calling the referral service over RPC.

The pages live in app.GatewayApp (plain werkzeug); this class only wires the store, the session
signer and the `referral` RPC proxy to it.
"""

from childlink_common import assertions, settings
from childlink_common.logs import configure, get_logger
from childlink_common.metrics import ServiceMetrics, metrics_response
from childlink_common.web import json_response
from eventlet import tpool
from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy
from nameko.web.handlers import http

from .app import GatewayApp
from .city.pages import CityPages
from .config import (
    proxy_hops,
    referral_timeout_s,
    secret_key,
    secure_cookies,
    session_idle_s,
    session_max_age_s,
)
from .operations.pages import OperatorPages
from .security import Passwords, Sessions
from .store import open_store

log = get_logger(__name__)


class StaffPages(DependencyProvider):
    def setup(self):
        configure("gateway")
        self.store = open_store()
        sessions = Sessions(secret_key(), self.store, max_age_s=session_max_age_s(), idle_s=session_idle_s(),
                            secure=secure_cookies())
        self.app = GatewayApp(self.store, sessions, Passwords(offload=tpool.execute),
                              referral_timeout_s=referral_timeout_s(), proxy_hops=proxy_hops(),
                              assertion_key=assertions.signing_key())
        log.info("gateway.ready", store="mongodb" if settings.mongo_uri() else "sqlite",
                 secure_cookies=secure_cookies())

    def stop(self):
        self.store.close()

    def get_dependency(self, worker_ctx):
        return self.app


class GatewayService:
    name = "gateway"
    referral = RpcProxy("referral")
    pages = StaffPages()
    monitor = RpcProxy("monitor")  # the operator pages (childlink_gateway.operations)
    operator = OperatorPages(staff="pages")
    insights = RpcProxy("insights")  # the city pages (childlink_gateway.city)
    city = CityPages(staff="pages")
    metrics = ServiceMetrics("gateway")

    @http("GET", "/health")
    def health(self, request):
        return json_response(200, {"service": "gateway", "status": "ok"})

    @http("GET", "/metrics")
    def metrics_endpoint(self, request):
        return metrics_response("gateway")

    @http("GET,POST", "/operator")
    def operator_home(self, request):
        return self.operator.handle(request, self.monitor)

    @http("GET,POST", "/operator/<path:path>")
    def operator_page(self, request, path):
        return self.operator.handle(request, self.monitor)

    @http("GET", "/city")
    def city_home(self, request):
        return self.city.handle(request, self.insights)

    @http("GET", "/city.csv")
    def city_csv(self, request):
        return self.city.handle(request, self.insights)

    @http("GET", "/city/<path:path>")
    def city_page(self, request, path):
        return self.city.handle(request, self.insights)

    @http("GET,POST", "/")
    def home(self, request):
        return self.pages.handle(request, self.referral)

    @http("GET,POST", "/<path:path>")
    def page(self, request, path):
        return self.pages.handle(request, self.referral)
