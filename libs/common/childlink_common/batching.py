"""A nameko consume entrypoint that hands its handler a batch of messages, acknowledged after it returns.

    @consume_batches(referral_queue("health"))
    def on_health_events(self, bodies):
        with self.store.batch():          # one transaction, one commit (one fsync) for the batch
            for body in bodies:
                take_in(self.store, body, "health")

Taking events in one at a time costs a transaction commit each, and with SQLite's `synchronous=FULL`
a commit is an fsync. Here messages are collected until `max_batch` have come or `max_wait_ms` has
passed since the first, whichever is sooner (when no batch of this entrypoint is being handled, the
wait is only until the messages already received are in: a lone event is not held for the window); the handler gets their bodies in one call, and each
message is acked only after the handler returned (so after the batch's transaction committed). The
prefetch is raised to twice the batch so the next batch arrives while this one is written.

The dead-lettering consumer's guarantees hold message by message:
- the batch raised StoreUnavailable: nothing is acked, the whole batch runs again after a back-off;
- the batch raised anything else: it falls back to one message at a time (a batch of one each), so
  one poison message cannot sink the others; each single then follows the per-message rules
  (PermanentFailure dead-lettered at once; other errors requeued, dead-lettered after MAX_ATTEMPTS);
- a redelivered message (the broker's x-delivery-count > 0) is already suspect: it is handled on
  its own rather than put in a batch again.

Settings (environment): CONSUMER_BATCH_SIZE (100), CONSUMER_BATCH_WAIT_MS (10), CONSUMER_PREFETCH
(2 x batch size). CONSUMER_BATCH_SIZE=1 gives one message per call, as `consume_safely` does.
"""

from functools import partial

import eventlet

from . import settings
from .consumer import STORE_BACKOFF_MAX_S, DeadLetteringConsumer, DecodeSafeQueueConsumer
from .errors import StoreUnavailable
from .logs import get_logger

log = get_logger(__name__)


class BatchQueueConsumer(DecodeSafeQueueConsumer):
    """The dead-lettering queue consumer, with the prefetch the batching entrypoints ask for (nameko's
    own is max_workers: 10 messages in flight would make batches of at most 10)."""

    @property
    def prefetch_count(self):
        return max((getattr(provider, "prefetch", 0) for provider in self._providers),
                   default=0) or self.container.max_workers


class BatchingConsumer(DeadLetteringConsumer):
    queue_consumer = BatchQueueConsumer()

    def __init__(self, queue, max_batch=None, max_wait_ms=None, prefetch=None, **kwargs):
        super().__init__(queue, **kwargs)
        self.max_batch = max_batch or settings.int_env("CONSUMER_BATCH_SIZE", 100)
        self.max_wait = (max_wait_ms if max_wait_ms is not None
                         else settings.float_env("CONSUMER_BATCH_WAIT_MS", 10)) / 1000
        self.prefetch = prefetch or settings.int_env("CONSUMER_PREFETCH", 2 * self.max_batch)
        self._pending = []
        self._generation = 0  # bumped at each flush, so a timer armed for an earlier batch does nothing
        self._timer_armed = False
        self._in_flight = 0  # batches handed to a worker and not yet finished

    def stop(self):
        self._flush()  # what is buffered still gets handled (and acked) before the container stops
        super().stop()

    # --- collecting -----------------------------------------------------------------------------

    def handle_message(self, body, message, store_retries=0):
        if self.attempt_of(message) > 1 or self.max_batch <= 1:
            self._spawn([(body, message)], store_retries)
            return
        self._pending.append((body, message))
        if len(self._pending) >= self.max_batch:
            self._flush()
        elif not self._timer_armed:
            self._timer_armed = True
            # Idle (no batch being handled): go as soon as the messages already received are in, rather
            # than hold a lone event for the whole window; busy: collect for the window meanwhile.
            wait = 0 if self._in_flight == 0 else self.max_wait
            self.container.spawn_managed_thread(partial(self._flush_after_wait, self._generation, wait))

    def _flush_after_wait(self, generation, wait):
        eventlet.sleep(wait)
        if generation == self._generation:
            self._flush()

    def _flush(self):
        batch, self._pending = self._pending, []
        self._generation += 1
        self._timer_armed = False
        if batch:
            self._spawn(batch)

    # --- handling -------------------------------------------------------------------------------

    def batch_arguments(self, batch):
        """What the handler is called with: the bodies (childlink_common.partition_consumer adds more)."""
        return [body for body, _message in batch]

    def _spawn(self, batch, store_retries=0):
        handle_result = partial(self.handle_batch_result, batch, store_retries)
        self._in_flight += 1
        try:
            self.container.spawn_worker(self, (self.batch_arguments(batch),), {}, context_data=self.unpack_message_headers(batch[0][1]),
                                        handle_result=handle_result)
        except Exception:  # noqa: BLE001 - container is going away: the broker keeps the messages
            self._in_flight -= 1
            for _body, message in batch:
                self.queue_consumer.requeue_message(message)

    def handle_batch_result(self, batch, store_retries, worker_ctx, result=None, exc_info=None):
        self._in_flight -= 1
        exc = exc_info[1] if exc_info else None
        if exc is None:
            for _body, message in batch:
                self.queue_consumer.ack_message(message)
        elif isinstance(exc, StoreUnavailable):
            self._retry_batch_when_store_returns(batch, store_retries, exc)
        elif len(batch) == 1:
            body, message = batch[0]
            super().handle_result(message, body, store_retries, worker_ctx, result, exc_info)
        else:
            log.warning("batch.failed", queue=self.queue.name, size=len(batch), error=repr(exc)[:500],
                        fallback="one message at a time")
            self.container.spawn_managed_thread(partial(self._one_at_a_time, batch))
        return result, exc_info

    def _one_at_a_time(self, batch):
        for item in batch:
            self._spawn([item])

    def _retry_batch_when_store_returns(self, batch, store_retries, exc):
        delay = min(0.25 * 2 ** store_retries, STORE_BACKOFF_MAX_S)
        log.warning("store.unavailable", queue=self.queue.name, retry_in_s=delay, size=len(batch), error=str(exc))

        def again():
            eventlet.sleep(delay)
            self._spawn(batch, store_retries + 1)

        self.container.spawn_managed_thread(again)


consume_batches = BatchingConsumer.decorator
