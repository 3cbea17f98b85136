"""The monitor's nameko edge: the tap thread, the poll thread, RPC for the gateway's operator pages,
and HTTP for /health, /metrics and a JSON overview.

Everything it knows and does lives in console.MonitorApp (plain Python); this module only wires it to
nameko, the broker connection and the environment:

- AMQP_URI: the broker (and the vhost the management API is asked about)
- MANAGEMENT_URL: RabbitMQ's management API, default http://guest:guest@127.0.0.1:15672
- MONITOR_HEALTH_URLS: name=url pairs of the services whose /health reports an outbox backlog
- MONITOR_POLL_S (5): how often the broker and the outboxes are polled
- MONITOR_SILENCE_MIN_S, MONITOR_SILENCE_FACTOR, MONITOR_LAG_ALERT_S, MONITOR_OUTBOX_GROWTH_POLLS,
  MONITOR_OUTBOX_ALERT_BACKLOG: alert thresholds (childlink_monitor.alerts.Thresholds)
- MONITOR_TAP_MAX_LENGTH, MONITOR_TAP_TTL_MS, MONITOR_TAP_EXPIRES_MS: the tap queues' limits
- MONITOR_RAW_VIEW_ROLES: roles (comma-separated) that may open a raw dead letter, besides a
  department's own staff for that department's messages
"""

import os
import time

from childlink_common import settings
from childlink_common.logs import configure, get_logger
from childlink_common.metrics import ServiceMetrics, metrics_response
from childlink_common.web import json_response
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc
from nameko.web.handlers import http
from prometheus_client import REGISTRY

from .alerts import Thresholds
from .console import MonitorApp
from .exposition import MonitorCollector
from .management import Management
from .outboxes import OutboxWatch, health_urls
from .replay import Replayer
from .store import open_store
from .tap import Tap

log = get_logger(__name__)


def _roles(name, default=""):
    return frozenset(r.strip() for r in os.environ.get(name, default).split(",") if r.strip())


class Monitoring(DependencyProvider):
    def __init__(self):
        self._stopping = False
        self._threads = []
        self._collector = None

    def setup(self):
        configure("monitor")
        config = self.container.config
        amqp_uri, ssl = settings.amqp_uri(config), settings.amqp_ssl(config)
        self.store = open_store()
        self.replayer = Replayer(amqp_uri, ssl=ssl)
        self.app = MonitorApp(
            self.store, management=Management.from_env(amqp_uri), outboxes=OutboxWatch(health_urls()),
            replayer=self.replayer, thresholds=Thresholds.from_env(),
            raw_view_roles=_roles("MONITOR_RAW_VIEW_ROLES"),
        )
        self.tap = Tap(amqp_uri, ssl=ssl, on_event=self.app.on_event, on_notice=self.app.on_notice,
                       on_dead_letter=self.app.on_dead_letter, flush=self.app.flush)
        self.poll_s = settings.float_env("MONITOR_POLL_S", 5.0)
        self._collector = MonitorCollector(self.app, self.tap)
        try:
            REGISTRY.register(self._collector)
        except ValueError:  # registered already (a second container in one process)
            self._collector = None

    def start(self):
        self._threads.append(self.container.spawn_managed_thread(lambda: self.tap.run(lambda: self._stopping)))
        self._threads.append(self.container.spawn_managed_thread(self._poll_loop))

    def _poll_loop(self):
        while not self._stopping:
            try:
                self.app.poll()
            except Exception as exc:  # noqa: BLE001 - the next poll tries again; the console says when
                log.warning("monitor.poll_failed", error=repr(exc))
            deadline = time.monotonic() + self.poll_s
            while not self._stopping and time.monotonic() < deadline:
                time.sleep(0.2)

    def stop(self):
        self._stopping = True
        for thread in self._threads:
            thread.wait()
        self.replayer.close()
        self.store.close()
        if self._collector is not None:
            REGISTRY.unregister(self._collector)

    def kill(self):
        self._stopping = True
        for thread in self._threads:
            thread.kill()

    def get_dependency(self, worker_ctx):
        return self


class MonitorService:
    name = "monitor"
    monitor = Monitoring()
    metrics = ServiceMetrics("monitor")

    # --- RPC for the gateway's operator pages -------------------------------------------------------

    @rpc
    def overview(self):
        return self.monitor.app.overview()

    @rpc
    def alerts(self):
        return self.monitor.app.alerts()

    @rpc
    def flow(self, department, type_=None, minutes=60, bucket_minutes=1):
        return self.monitor.app.flow(department, type_, minutes, bucket_minutes)

    @rpc
    def dead_letters(self, filters=None, page=1, page_size=50):
        return self.monitor.app.dead_letters(filters, page, page_size)

    @rpc
    def dead_letter(self, dl_id, viewer=None, raw=False):
        return self.monitor.app.dead_letter(dl_id, viewer, raw)

    @rpc
    def replay(self, viewer, dl_ids=None, filters=None):
        return self.monitor.app.replay(viewer, dl_ids, filters)

    @rpc
    def discard(self, viewer, reason, dl_ids=None, filters=None):
        return self.monitor.app.discard(viewer, reason, dl_ids, filters)

    @rpc
    def replays(self, limit=50):
        return self.monitor.app.replays(limit)

    # --- HTTP ------------------------------------------------------------------------------------

    @http("GET", "/health")
    def health(self, request):
        return json_response(200, {"service": "monitor", "status": "ok", "tapping": self.monitor.tap.connected,
                                   "tap": self.monitor.tap.counters, "broker_error": self.monitor.app.broker_error})

    @http("GET", "/metrics")
    def metrics_endpoint(self, request):
        return metrics_response("monitor")

    @http("GET", "/v1/overview")
    def http_overview(self, request):
        """The same overview operators see, as JSON: ids, counts and times only, no child data."""
        return json_response(200, self.monitor.app.overview())
