"""`timeline.stored` notices: what a consumer stored (and what failed), batched, for the monitor.

A nameko DependencyProvider that only listens to the worker lifecycle: after each worker of a
consuming entrypoint whose message is an event (a dict with an event_id; a batching consumer's
worker takes a list of them), it notes the event's ids,
department, type, occurred_at and recorded_at with the time it finished (stored_at) or the error type
it failed with. A background thread publishes the notes every second as one message on
`referral.events` with routing key `timeline.stored`, which the monitor's tap receives; from them it
computes end-to-end lag per flow. Nothing else binds that routing key.

It never slows the flow: the handler's cost is one append to a bounded deque; publishing is
best-effort (transient, unconfirmed, not mandatory) on a connection of its own, and a notice that
cannot be published is dropped and counted, never retried into the handler's path. No child data:
ids, types and times only.

FLOW_NOTICES_ENABLED=0 turns it off.
"""

import collections
import json
import time

from kombu import Connection, Producer
from nameko.extensions import DependencyProvider

from . import settings
from .logs import get_logger
from .topology import REFERRAL_EXCHANGE

log = get_logger(__name__)

ROUTING_KEY = "timeline.stored"
MAX_BUFFERED = 20000
MAX_PER_MESSAGE = 1000


def note_of(body, stored_at, error=None):
    if not isinstance(body, dict) or not isinstance(body.get("event_id"), str):
        return None
    source = body.get("source") if isinstance(body.get("source"), dict) else {}
    note = {"event_id": body["event_id"], "department": source.get("department"), "type": body.get("type"),
            "correlation_id": body.get("correlation_id")}
    if error is None:
        note.update(stored_at=stored_at, occurred_at=body.get("occurred_at"), recorded_at=body.get("recorded_at"))
    else:
        note.update(at=stored_at, error=error)
    return note


class StoredNotices(DependencyProvider):
    def __init__(self, service=None, exchange=REFERRAL_EXCHANGE, interval_s=1.0):
        self.service = service
        self.exchange = exchange
        self.interval_s = interval_s
        self.stored = collections.deque(maxlen=MAX_BUFFERED)
        self.failed = collections.deque(maxlen=MAX_BUFFERED)
        self.published = 0
        self.dropped = 0
        self._stopping = False
        self._thread = None
        self._connection = None
        self._producer = None

    def setup(self):
        self.service = self.service or self.container.service_name
        self.enabled = settings.flag_env("FLOW_NOTICES_ENABLED", True)
        self.amqp_uri = settings.amqp_uri(self.container.config)
        self.ssl = settings.amqp_ssl(self.container.config)

    def start(self):
        if self.enabled:
            self._thread = self.container.spawn_managed_thread(self._run)

    def stop(self):
        self._stopping = True
        if self._thread is not None:
            self._thread.wait()

    def kill(self):
        self._stopping = True
        if self._thread is not None:
            self._thread.kill()

    def get_dependency(self, worker_ctx):
        return self

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        if not self.enabled or "Consumer" not in type(worker_ctx.entrypoint).__name__ or not worker_ctx.args:
            return
        error = None if exc_info is None else type(exc_info[1]).__name__
        first = worker_ctx.args[0]
        bodies = first if isinstance(first, list) else [first]  # a batching consumer's worker takes a list
        if error is not None and len(bodies) > 1:
            return  # a failed batch is taken again one message at a time: those outcomes are the ones noted
        at = time.time()
        for body in bodies:
            note = note_of(body, at, error)
            if note is not None:
                (self.stored if error is None else self.failed).append(note)

    def _run(self):
        while not self._stopping:
            deadline = time.monotonic() + self.interval_s
            while not self._stopping and time.monotonic() < deadline:
                time.sleep(0.1)
            self.flush()
        self.flush()
        self._disconnect()

    def _take(self, queue):
        taken = []
        while queue and len(taken) < MAX_PER_MESSAGE:
            taken.append(queue.popleft())
        return taken

    def flush(self):
        while self.stored or self.failed:
            stored, failed = self._take(self.stored), self._take(self.failed)
            body = {"service": self.service, "stored": stored, "failed": failed}
            try:
                self._ready().publish(json.dumps(body, separators=(",", ":")), routing_key=ROUTING_KEY,
                                      content_type="application/json", content_encoding="utf-8",
                                      delivery_mode=1, retry=False)
                self.published += len(stored) + len(failed)
            except Exception as exc:  # noqa: BLE001 - best effort: count it, never hold up the flow
                self.dropped += len(stored) + len(failed)
                log.warning("flow_notices.dropped", count=len(stored) + len(failed), error=repr(exc))
                self._disconnect()
                return

    def _ready(self):
        if self._producer is None:
            connection = Connection(self.amqp_uri, ssl=self.ssl, connect_timeout=5)
            try:
                connection.ensure_connection(max_retries=1)
                self._producer = Producer(connection.channel(), exchange=self.exchange, auto_declare=False)
            except Exception:
                connection.release()
                raise
            self._connection = connection
        return self._producer

    def _disconnect(self):
        connection, self._connection, self._producer = self._connection, None, None
        if connection is not None:
            try:
                connection.release()
            except Exception:  # noqa: BLE001, S110 - already broken
                pass
