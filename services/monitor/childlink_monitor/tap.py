"""The monitor's taps: its own queues on every `*.events` exchange, and the dead-letter queue.

A plain kombu consumer on a connection of its own (no nameko in here; the service runs `Tap.run` in a
managed thread). Tap messages are counted into the flow book and acknowledged in batches, after the
book was written to the store (`flush`); a dead letter is acknowledged once it is stored.

The tap queues cannot back up the broker: quorum queues with a length limit (oldest dropped first:
`drop-head`, never `reject-publish`, which would nack the departments' relays), a message TTL, and
an expiry that deletes a queue no monitor has consumed for a day. They have no dead-letter exchange:
a tap message that expires or overflows is only a statistic lost, never an event (the departments'
events reach the referral service through its own queues either way).
"""

import json
import os
import time

from childlink_common import settings, topology
from childlink_common.logs import get_logger
from childlink_contracts import INGEST_DEPARTMENTS
from kombu import Connection, Consumer, Queue

from . import flows

log = get_logger(__name__)

SOURCES = (*INGEST_DEPARTMENTS, "referral")
NOTICE_ROUTING_KEY = "timeline.stored"


def tap_arguments(env=os.environ):
    return {
        "x-queue-type": "quorum",
        "x-max-length": int(env.get("MONITOR_TAP_MAX_LENGTH", 20000)),
        "x-overflow": "drop-head",
        "x-message-ttl": int(env.get("MONITOR_TAP_TTL_MS", 3_600_000)),
        "x-expires": int(env.get("MONITOR_TAP_EXPIRES_MS", 86_400_000)),
    }


def tap_queue(source, arguments=None):
    return Queue(f"monitor.{source}.events", exchange=topology.events_exchange(source), routing_key="#",
                 durable=True, queue_arguments=arguments or tap_arguments())


def source_of(exchange):
    return exchange[: -len(".events")] if exchange and exchange.endswith(".events") else (exchange or "unknown")


class Tap:
    """Consumes the taps and the dead letters until `should_stop()`; reconnects with back-off."""

    def __init__(self, amqp_uri, *, on_event, on_notice, on_dead_letter, flush, ssl=None, prefetch=1000,
                 flush_interval_s=1.0, max_pending=500, arguments=None, topology_mode=None, clock=time.time):
        self.amqp_uri = amqp_uri
        self.ssl = ssl
        self.on_event, self.on_notice, self.on_dead_letter, self.flush = on_event, on_notice, on_dead_letter, flush
        self.prefetch = prefetch
        self.flush_interval_s = flush_interval_s
        self.max_pending = max_pending
        self.arguments = arguments or tap_arguments()
        self.topology_mode = topology_mode or settings.topology_mode()
        self.clock = clock
        self.connected = False
        self.counters = {"tapped": 0, "notices": 0, "dead_letters": 0, "flushes": 0, "flush_failures": 0,
                         "reconnects": 0}
        self._tap_channel = None
        self._last_tag = None
        self._pending = 0

    # --- message callbacks ----------------------------------------------------------------------------

    def _on_tap(self, message):
        info = message.delivery_info or {}
        source = source_of(info.get("exchange"))
        routing_key = info.get("routing_key") or ""
        if source == "referral" and routing_key == NOTICE_ROUTING_KEY:
            try:
                self.on_notice(json.loads(message.body))
                self.counters["notices"] += 1
            except (ValueError, TypeError, KeyError) as exc:
                log.warning("monitor.notice_unreadable", error=type(exc).__name__)
        else:  # keyed by the envelope's type: routing keys and headers are whatever the publisher chose
            event_type, event_id = flows.sighting(source, message.body, (message.properties or {}).get("message_id"))
            self.on_event(source, event_type, event_id, self.clock())
            self.counters["tapped"] += 1
        self._last_tag = message.delivery_tag
        self._pending += 1
        if self._pending >= self.max_pending:
            self._flush()

    def _on_dead_letter(self, message):
        try:
            self.on_dead_letter(message.body, message.headers or {}, dict(message.properties or {}),
                                dict(message.delivery_info or {}))
        except Exception as exc:  # noqa: BLE001 - the store is away: keep the dead letter in the broker
            log.error("monitor.dead_letter_not_stored", error=repr(exc))
            time.sleep(1.0)
            message.requeue()
            return
        self.counters["dead_letters"] += 1
        message.ack()

    def _flush(self):
        try:
            self.flush()
        except Exception as exc:  # noqa: BLE001 - unacked messages stay with the broker; try again
            self.counters["flush_failures"] += 1
            log.warning("monitor.flush_failed", error=repr(exc), pending=self._pending)
            return False
        if self._last_tag is not None and self._tap_channel is not None:
            self._tap_channel.basic_ack(self._last_tag, multiple=True)
        self._last_tag, self._pending = None, 0
        self.counters["flushes"] += 1
        return True

    # --- the loop ----------------------------------------------------------------------------------------

    def run(self, should_stop, *, max_backoff_s=10.0):
        backoff = 0.5
        while not should_stop():
            try:
                self._run_connected(should_stop)
                backoff = 0.5
            except Exception as exc:  # noqa: BLE001 - broker away or connection lost: try again
                self.connected = False
                self.counters["reconnects"] += 1
                log.warning("monitor.tap_disconnected", error=repr(exc), retry_in_s=backoff)
                deadline = time.monotonic() + backoff
                while time.monotonic() < deadline and not should_stop():
                    time.sleep(0.2)
                backoff = min(backoff * 2, max_backoff_s)
        try:
            self.flush()
        except Exception:  # noqa: BLE001, S110 - the unacked ones are redelivered to the next monitor
            pass

    def _run_connected(self, should_stop):
        connection = Connection(self.amqp_uri, ssl=self.ssl, connect_timeout=5, heartbeat=30)
        try:
            connection.ensure_connection(max_retries=1)
            topology.ensure(connection, self.topology_mode).close()  # the exchanges and the dead-letter queue
            tap_channel = connection.channel()
            tap_channel.basic_qos(0, self.prefetch, False)
            queues = [tap_queue(source, self.arguments)(tap_channel) for source in SOURCES]
            for queue in queues:
                queue.declare()
            dl_channel = connection.channel()
            dl_channel.basic_qos(0, 10, False)
            self._tap_channel, self._last_tag, self._pending = tap_channel, None, 0
            taps = Consumer(tap_channel, queues=queues, on_message=self._on_tap, auto_declare=False)
            dead = Consumer(dl_channel, queues=[topology.dead_letter_queue(dl_channel)],
                            on_message=self._on_dead_letter, auto_declare=False)
            with taps, dead:
                self.connected = True
                log.info("monitor.tapping", queues=[q.name for q in queues])
                next_flush = time.monotonic() + self.flush_interval_s
                while not should_stop():
                    try:
                        connection.drain_events(timeout=max(0.05, min(1.0, next_flush - time.monotonic())))
                    except TimeoutError:
                        connection.heartbeat_check()
                    if time.monotonic() >= next_flush:
                        self._flush()
                        next_flush = time.monotonic() + self.flush_interval_s
                self._flush()
        finally:
            self.connected = False
            self._tap_channel = None
            try:
                connection.release()
            except Exception:  # noqa: BLE001, S110 - already gone
                pass
