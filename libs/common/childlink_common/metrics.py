"""Prometheus metrics for every childlink service: one registry per process, served at `/metrics`.

    class HealthService:
        metrics = ServiceMetrics("health")          # times and counts every worker, whatever its entrypoint

        @http("GET", "/metrics")
        def metrics_endpoint(self, request):
            return metrics_response("health", outbox_depth=self.outbox.backlog())

`ServiceMetrics` is a nameko DependencyProvider that only listens to the worker lifecycle
(worker_setup / worker_result), so adding it to a service changes no handler. The names:

- childlink_messages_handled_total{service,entrypoint,kind,outcome}  every worker: ok | failed
- childlink_handler_failures_total{service,entrypoint,error}          workers that raised, by exception type
- childlink_handler_seconds{service,entrypoint,kind}                  handler latency histogram
- childlink_dead_lettered_total{service,queue,reason}                 messages the consumer dead-lettered
- childlink_outbox_depth{service}                                     accepted, not yet confirmed by the broker

Labels carry service, entrypoint and queue names only: never an event's content.
"""

import time

from nameko.extensions import DependencyProvider
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from werkzeug.wrappers import Response

# handlers are milliseconds when well, seconds when the store or broker struggles
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

HANDLED = Counter("childlink_messages_handled", "Workers run, by entrypoint and outcome",
                  ["service", "entrypoint", "kind", "outcome"])
FAILURES = Counter("childlink_handler_failures", "Workers that raised, by exception type",
                   ["service", "entrypoint", "error"])
LATENCY = Histogram("childlink_handler_seconds", "Handler latency", ["service", "entrypoint", "kind"],
                    buckets=LATENCY_BUCKETS)
DEAD_LETTERED = Counter("childlink_dead_lettered", "Messages dead-lettered by a childlink consumer",
                        ["service", "queue", "reason"])
OUTBOX_DEPTH = Gauge("childlink_outbox_depth", "Events accepted and not yet confirmed by the broker",
                     ["service"])

KINDS = {"Rpc": "rpc", "HttpRequestHandler": "http", "Timer": "timer", "EventHandler": "event"}


def entrypoint_kind(entrypoint):
    name = type(entrypoint).__name__
    if name in KINDS:
        return KINDS[name]
    return "consume" if "Consumer" in name else name.lower()


class ServiceMetrics(DependencyProvider):
    """Counts and times every worker of the service it is declared on."""

    def __init__(self, service=None):
        self.service = service
        self._started = {}

    def setup(self):
        self.service = self.service or self.container.service_name

    def get_dependency(self, worker_ctx):
        return self

    def worker_setup(self, worker_ctx):
        self._started[id(worker_ctx)] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        started = self._started.pop(id(worker_ctx), None)
        entrypoint = worker_ctx.entrypoint
        name, kind = entrypoint.method_name, entrypoint_kind(entrypoint)
        if started is not None:
            LATENCY.labels(self.service, name, kind).observe(time.perf_counter() - started)
        if exc_info is None:
            HANDLED.labels(self.service, name, kind, "ok").inc()
        else:
            HANDLED.labels(self.service, name, kind, "failed").inc()
            FAILURES.labels(self.service, name, type(exc_info[1]).__name__).inc()

    def worker_teardown(self, worker_ctx):
        self._started.pop(id(worker_ctx), None)


def dead_lettered(service, queue, reason):
    DEAD_LETTERED.labels(service or "unknown", queue, reason).inc()


def set_outbox_depth(service, depth):
    if depth is not None:
        OUTBOX_DEPTH.labels(service).set(depth)


def exposition(registry=REGISTRY):
    return generate_latest(registry)


def metrics_response(service=None, outbox_depth=None, registry=REGISTRY):
    """The Prometheus text exposition as a werkzeug response (what a nameko `http` handler returns)."""
    if service is not None:
        set_outbox_depth(service, outbox_depth)
    return Response(exposition(registry), status=200, content_type=CONTENT_TYPE_LATEST)
