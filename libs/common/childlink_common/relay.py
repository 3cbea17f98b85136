"""The outbox relay: publishes what the department accepted, with publisher confirms.

An event leaves the outbox only once the broker has confirmed it and routed it to at least one
queue (mandatory). With the broker down the relay backs off and retries; ingest never waits for it.

Confirms are asynchronous: a claimed batch is published in one go, then the relay waits for the
broker's acks (by delivery tag, `multiple` honoured) instead of one round trip per message, which is
what py-amqp's `confirm_publish` transport option does. A message the broker returned (mandatory, no
queue bound) or nacked, or whose ack had not come when the wait timed out, stays in the outbox.
"""

import json
import os
import socket
import time
import uuid

from childlink_contracts import amqp
from kombu import Connection, Producer

from . import settings, topology
from .logs import get_logger

log = get_logger(__name__)


def relay_owner():
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def message_headers(record):
    """The headers the AsyncAPI document promises (childlink_contracts.amqp.relay_headers)."""
    return amqp.relay_headers(record.body)


class OutboxRelay:
    def __init__(self, store, department, amqp_uri, *, batch_size=200, lease_seconds=30.0,
                 clock=time.time, ssl=None, owner=None, topology_mode=None, confirm_timeout=30.0):
        self.store = store
        self.department = department
        self.amqp_uri = amqp_uri
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds
        self.clock = clock
        self.ssl = ssl if ssl is not None else settings.amqp_ssl({"AMQP_URI": amqp_uri})
        self.topology_mode = topology_mode or settings.topology_mode()
        self.owner = owner or relay_owner()
        self.exchange = topology.events_exchange(department)
        self._connection = None
        self._producer = None
        self.confirm_timeout = confirm_timeout
        self._returned = set()
        self._unconfirmed = {}  # delivery tag -> event_id, published and not yet acked or nacked
        self._acked = set()  # event_ids the broker acked in the batch being published
        self._next_tag = 1
        self.attempted = 0  # publishes sent to the broker, confirmed or not (counted for /health)
        self.published = 0  # confirmed by the broker and routed to a queue
        self.unroutable = 0  # returned by the broker: no queue bound (kept in the outbox, retried)

    def _connect(self):
        if self._producer is not None:
            return self._producer
        connection = Connection(self.amqp_uri, ssl=self.ssl, connect_timeout=5, heartbeat=0)
        try:
            connection.ensure_connection(max_retries=1)
            channel = topology.ensure(connection, self.topology_mode, on_refused=self._declare_refused)
            channel.confirm_select()
        except Exception:
            connection.release()
            raise
        channel.events["basic_ack"].add(self._on_ack)
        channel.events["basic_nack"].add(self._on_nack)
        self._unconfirmed, self._next_tag = {}, 1  # delivery tags count publishes on this channel from 1
        self._connection = connection
        # auto_declare off: the layout was ensured above, and a least-privilege user may not
        # (re-)declare even its own exchange.
        self._producer = Producer(channel, exchange=self.exchange, on_return=self._on_return,
                                  auto_declare=False)
        log.info("relay.connected", department=self.department, tls=bool(self.ssl),
                 topology=self.topology_mode)
        return self._producer

    def _declare_refused(self, exc):
        log.info("relay.topology_checked_passively", department=self.department, reason=str(exc))

    def _on_return(self, exception, exchange, routing_key, message):
        # the broker sends basic.return before the basic.ack of the same message
        self._returned.add(message.properties.get("message_id"))

    def _settled(self, delivery_tag, multiple):
        tags = [t for t in self._unconfirmed if t <= delivery_tag] if multiple else [delivery_tag]
        return [self._unconfirmed.pop(t) for t in tags if t in self._unconfirmed]

    def _on_ack(self, delivery_tag, multiple):
        self._acked.update(self._settled(delivery_tag, multiple))

    def _on_nack(self, delivery_tag, multiple):
        for event_id in self._settled(delivery_tag, multiple):
            log.warning("relay.nacked", department=self.department, event_id=event_id)

    def _await_confirms(self):
        deadline = time.monotonic() + self.confirm_timeout
        while self._unconfirmed:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{len(self._unconfirmed)} publishes unconfirmed after {self.confirm_timeout}s")
            self._connection.drain_events(timeout=remaining)

    def disconnect(self):
        connection, self._connection, self._producer = self._connection, None, None
        self._unconfirmed = {}
        if connection is not None:
            try:
                connection.release()
            except Exception:  # noqa: BLE001, S110 - the connection is already broken; nothing to save
                pass

    def publish_pending(self):
        """Publish one batch; return how many the broker confirmed. Raises if the broker is unreachable.

        Whatever happens, the events the broker acked and did not return are marked published, and
        the rest of the batch is released for the next attempt."""
        records = self.store.claim(self.owner, self.batch_size, self.clock(), self.lease_seconds)
        if not records:
            return 0
        self._acked = set()
        confirmed = []
        try:
            producer = self._connect()
            for record in records:
                self._returned.discard(record.event_id)
                self.attempted += 1
                producer.publish(
                    record.text if record.text is not None else json.dumps(record.body, separators=(",", ":")),
                    routing_key=amqp.routing_key(record.body),
                    content_type=amqp.CONTENT_TYPE,
                    content_encoding=amqp.CONTENT_ENCODING,
                    delivery_mode=amqp.PERSISTENT,
                    mandatory=True,
                    message_id=record.event_id,
                    correlation_id=record.correlation_id,
                    headers=message_headers(record),
                    retry=False,
                )
                self._unconfirmed[self._next_tag] = record.event_id
                self._next_tag += 1
            self._await_confirms()
        except Exception:
            self.disconnect()
            raise
        finally:
            for record in records:
                if record.event_id not in self._acked:
                    continue
                if record.event_id in self._returned:
                    self.unroutable += 1
                    log.warning("relay.unroutable", event_id=record.event_id, type=record.type)
                else:
                    confirmed.append(record.event_id)
            self.store.mark_published(confirmed, self.clock())
            self.published += len(confirmed)
            done = set(confirmed)
            self.store.release(self.owner, [r.event_id for r in records if r.event_id not in done])
        return len(confirmed)

    def run(self, should_stop, wait_for_work, *, idle_seconds=0.5, max_backoff=10.0):
        """Loop until should_stop(): drain the outbox, sleep while idle, back off while the broker is away."""
        backoff = 0.2
        while not should_stop():
            try:
                published = self.publish_pending()
                backoff = 0.2
                if published == 0:
                    wait_for_work(idle_seconds)
            except Exception as exc:  # noqa: BLE001 - any failure here means "try again later"
                log.warning("relay.publish_failed", department=self.department, error=str(exc),
                            retry_in_s=backoff, backlog=self._safe_backlog())
                time.sleep(backoff)
                backoff = min(backoff * 2, max_backoff)
        self.disconnect()

    def counters(self):
        return {"attempted": self.attempted, "confirmed": self.published, "unroutable": self.unroutable}

    def _safe_backlog(self):
        try:
            return self.store.backlog()
        except Exception:  # noqa: BLE001 - only for the log line
            return None
