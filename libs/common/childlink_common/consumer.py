"""A nameko consume entrypoint that never loses a message it failed to handle.

Plain nameko acks a message whose handler raised, and it is gone. Here:
- success: ack;
- StoreUnavailable: keep the message unacked and run the handler again after a back-off, for as
  long as it takes (the store coming back is the fix; it does not count as an attempt);
- PermanentFailure (breaks its contract): dead-letter at once with the field errors, then ack (reason
  `invalid`; `conflict` for an EventConflict: an event_id seen before with other content);
- any other error: requeue after a short pause, and after MAX_ATTEMPTS dead-letter it with the
  error and the original headers, then ack. The quorum queue's x-delivery-count says which attempt
  this is, so the count survives restarts and moves between replicas.
"""

import json
import time
from functools import partial

import amqp.exceptions
import eventlet
from childlink_contracts import amqp as wire
from nameko.messaging import Consumer, QueueConsumer

from . import metrics, topology
from .dead_letters import DeadLetterPublisher, event_id_of
from .errors import PermanentFailure, StoreUnavailable
from .logs import get_logger
from .settings import amqp_ssl, amqp_uri, topology_mode

log = get_logger(__name__)

# Pause before attempt n+1: n x RETRY_PAUSE_S (0.05 + 0.1 + 0.15 + 0.2 s for MAX_ATTEMPTS 5). Short,
# because the message holds a prefetch slot meanwhile; measured in tests/reliability (scenario 5).
RETRY_PAUSE_S = 0.05
STORE_BACKOFF_MAX_S = 5.0


class UndecodableMessage(PermanentFailure):
    pass


# What acking or requeueing on a connection the broker has just dropped raises: a socket error
# (reset, broken pipe) or py-amqp's own. nameko catches only the latter.
LOST_CONNECTION = (OSError, amqp.exceptions.ConnectionError)


class DecodeSafeQueueConsumer(QueueConsumer):
    """nameko's queue consumer, except:
    - a body without a content_type is read as JSON (the documented default); another content type
      than JSON is dead-lettered undecodable, headers or properties contradicting the body invalid;
    - a body that cannot be decoded is dead-lettered, not re-raised (re-raised, it tears down the
      connection and comes back forever);
    - an ack or requeue that meets a dropped connection is let go: the broker has already taken the
      message back and will deliver it again (idempotent handlers count it as a duplicate). Raised,
      as nameko lets it be, it escapes the worker and kills the whole service."""

    def ack_message(self, message):
        self._settle(message, message.ack, "ack")

    def requeue_message(self, message):
        self._settle(message, message.requeue, "requeue")

    @staticmethod
    def _settle(message, settle, action):
        if not message.channel.connection:
            return  # connection gone: the broker has reclaimed the message
        try:
            settle()
        except LOST_CONNECTION as exc:
            log.warning("message.settle_lost", action=action, error=repr(exc), event_id=event_id_of(message))

    def handle_message(self, provider, body, message):
        # The AsyncAPI document (childlink_contracts.docs) makes application/json the default content
        # type: a message without one is JSON;
        # kombu hands such a body over as text, undecoded. Any other content type than JSON is refused
        # as the document says (kombu would pass application/data or application/text through raw).
        if message.content_type and message.content_type != wire.CONTENT_TYPE:
            self._on_decode_error(provider, message, ValueError(
                f"content_type {message.content_type!r}: send {wire.CONTENT_TYPE}, or none (JSON is the default)"))
            return
        if not message.content_type:
            try:
                body = json.loads(body) if isinstance(body, (str, bytes)) else body
            except (ValueError, RecursionError) as exc:
                self._on_decode_error(provider, message, exc)
                return
        contradicted = wire.disagreements(body, message.properties, message.headers)
        if contradicted:
            provider.dead_letter(message, "invalid", PermanentFailure("headers contradict the body", contradicted),
                                 attempts=provider.attempt_of(message))
            return
        super().handle_message(provider, body, message)

    def get_consumers(self, consumer_cls, channel):
        # the dead-letter exchange must exist before the broker's own delivery limit needs it; on a
        # channel of its own, so a refused declare (least-privilege user) cannot close this one
        topology_channel = topology.ensure(channel.connection, topology_mode())
        topology_channel.close()
        consumers = super().get_consumers(consumer_cls, channel)
        for provider, consumer in self._consumers.items():
            consumer.on_decode_error = partial(self._on_decode_error, provider)
        return consumers

    def _on_decode_error(self, provider, message, exc):
        provider.dead_letter(message, "undecodable", UndecodableMessage(f"cannot decode body: {exc}"),
                             attempts=provider.attempt_of(message))


class DeadLetteringConsumer(Consumer):
    queue_consumer = DecodeSafeQueueConsumer()

    def __init__(self, queue, max_attempts=topology.MAX_ATTEMPTS, **kwargs):
        super().__init__(queue, requeue_on_error=True, **kwargs)
        self.max_attempts = max_attempts
        self.dead_letters = None

    def setup(self):
        config = self.container.config
        self.dead_letters = DeadLetterPublisher(amqp_uri(config), ssl=amqp_ssl(config))
        super().setup()

    def stop(self):
        super().stop()
        self.dead_letters.close()

    def handle_message(self, body, message, store_retries=0):
        context_data = self.unpack_message_headers(message)
        handle_result = partial(self.handle_result, message, body, store_retries)
        try:
            self.container.spawn_worker(self, (body,), {}, context_data=context_data,
                                        handle_result=handle_result)
        except Exception:  # noqa: BLE001 - container is going away: the broker keeps the message
            self.queue_consumer.requeue_message(message)

    def handle_result(self, message, body, store_retries, worker_ctx, result=None, exc_info=None):
        exc = exc_info[1] if exc_info else None
        if exc is None:
            self.queue_consumer.ack_message(message)
        elif isinstance(exc, StoreUnavailable):
            self._retry_when_store_returns(body, message, store_retries, exc)
        elif isinstance(exc, PermanentFailure):  # "invalid", or the failure's own reason ("conflict")
            self.dead_letter(message, getattr(exc, "dead_letter_reason", "invalid"), exc,
                             attempts=self.attempt_of(message))
        else:
            attempt = self.attempt_of(message)
            if attempt >= self.max_attempts:
                self.dead_letter(message, "max_attempts", exc, attempts=attempt)
            else:
                log.warning("message.retry", queue=self.queue.name, attempt=attempt, error=repr(exc),
                            event_id=event_id_of(message),
                            correlation_id=(message.properties or {}).get("correlation_id"))
                self._requeue_later(message, RETRY_PAUSE_S * attempt)
        return result, exc_info

    def _requeue_later(self, message, delay):
        """Requeue after a short pause, in a thread of its own: the worker goes back to the pool at
        once. (Paused in the worker, as before, a burst of failing messages held the workers and the
        prefetch for seconds and the healthy messages behind them crawled.) A requeued message comes
        back ahead of the rest of a quorum queue, so the pause is what keeps it from hot-looping, and
        it stays short: it holds one of the consumer's prefetch slots while it lasts."""

        def later():
            eventlet.sleep(delay)
            self.queue_consumer.requeue_message(message)

        try:
            self.container.spawn_managed_thread(later)
        except Exception:  # noqa: BLE001 - container going away: requeue now (or the broker will)
            self.queue_consumer.requeue_message(message)

    @staticmethod
    def attempt_of(message):
        return int((message.headers or {}).get("x-delivery-count") or 0) + 1

    def _retry_when_store_returns(self, body, message, store_retries, exc):
        delay = min(0.25 * 2 ** store_retries, STORE_BACKOFF_MAX_S)
        log.warning("store.unavailable", queue=self.queue.name, retry_in_s=delay, error=str(exc))

        def again():
            eventlet.sleep(delay)
            self.handle_message(body, message, store_retries + 1)

        self.container.spawn_managed_thread(again)

    def dead_letter(self, message, reason, exc, attempts):
        event_id = event_id_of(message)
        try:
            self.dead_letters.publish(message, self.queue.name, reason, exc, attempts)
        except Exception as publish_error:  # noqa: BLE001 - keep the message; the broker limit backs us
            log.error("dead_letter.publish_failed", queue=self.queue.name, event_id=event_id,
                      error=repr(publish_error))
            time.sleep(RETRY_PAUSE_S)
            self.queue_consumer.requeue_message(message)
            return
        log.error("message.dead_lettered", queue=self.queue.name, reason=reason, attempts=attempts,
                  event_id=event_id, correlation_id=(message.properties or {}).get("correlation_id"),
                  error=f"{type(exc).__name__}: {exc}"[:500])
        metrics.dead_lettered(self.container.service_name, self.queue.name, reason)
        self.queue_consumer.ack_message(message)


consume_safely = DeadLetteringConsumer.decorator
