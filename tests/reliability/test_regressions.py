"""Fast checks, without a broker, for the defects the reliability scenarios found. Each names the
scenario that found it; the scenario itself catches it again end to end."""

from types import SimpleNamespace

import amqp.exceptions
import pytest
from childlink_common.consumer import DecodeSafeQueueConsumer


def _message(raises):
    def settle():
        raise raises

    return SimpleNamespace(channel=SimpleNamespace(connection=object()), ack=settle, requeue=settle,
                           properties={"message_id": "e-1"})


@pytest.mark.parametrize("error", [ConnectionResetError(104, "Connection reset by peer"),
                                   BrokenPipeError(32, "Broken pipe"),
                                   amqp.exceptions.RecoverableConnectionError("connection already closed")])
@pytest.mark.parametrize("action", ["ack_message", "requeue_message"])
def test_settling_a_message_on_a_dropped_connection_does_not_raise(action, error):
    """Scenario 1 (broker stop_app mid-stream): the referral service died. A handler finished while
    the broker was closing its connection; the ack raised ConnectionResetError, which nameko's
    queue consumer does not catch (it catches py-amqp's ConnectionError only), so the exception left
    the worker and killed the container. The broker redelivers the unacked message anyway."""
    getattr(DecodeSafeQueueConsumer(), action)(_message(error))


def test_settling_still_raises_what_is_not_a_lost_connection():
    with pytest.raises(ValueError):
        DecodeSafeQueueConsumer().ack_message(_message(ValueError("a bug, not an outage")))


def test_concurrent_dead_letters_are_published_one_at_a_time(monkeypatch):
    """Scenario 5 (a burst of poison): workers of one consumer dead-lettered at the same moment on
    the DeadLetterPublisher's one connection; their confirm waits read the socket together, eventlet
    refused ("Second simultaneous read on fileno ..."), the publishes failed and the messages were
    requeued, some after their dead letter had already been published."""
    import eventlet
    from childlink_common import dead_letters

    inside, most = [0], [0]

    class SlowProducer:
        def publish(self, *args, **kwargs):
            inside[0] += 1
            most[0] = max(most[0], inside[0])
            eventlet.sleep(0.01)  # waiting for the broker's confirm: other green threads run
            inside[0] -= 1

    publisher = dead_letters.DeadLetterPublisher("memory://")
    monkeypatch.setattr(publisher, "_ready_producer", lambda: SlowProducer())
    message = SimpleNamespace(headers={}, delivery_info={}, properties={"message_id": "m"}, body=b"{}",
                              content_type="application/json", content_encoding="utf-8")
    pool = eventlet.GreenPool()
    for n in range(5):
        pool.spawn(publisher.publish, message, "q", "max_attempts", RuntimeError(str(n)), 5)
    pool.waitall()
    assert most[0] == 1


def test_a_failed_attempt_gives_its_worker_back_at_once():
    """Scenario 5 (a burst of poison, on the probe consumer): each failed attempt slept
    RETRY_PAUSE_S x attempt (0.2 s x n) inside the worker before requeueing, so a burst of 40 failing
    messages held the workers and the prefetch and the healthy messages behind them went 4-7x slower.
    The pause is now short and taken in a managed thread of its own."""
    import time

    from childlink_common import consumer as consumer_module
    from childlink_common.consumer import DeadLetteringConsumer
    from kombu import Queue

    entry = DeadLetteringConsumer(Queue("reliability.regression"))
    spawned, requeued = [], []
    entry.container = SimpleNamespace(spawn_managed_thread=spawned.append)
    entry.queue_consumer = SimpleNamespace(requeue_message=requeued.append, ack_message=None)
    message = SimpleNamespace(headers={"x-delivery-count": 3}, properties={"message_id": "m"})
    error = RuntimeError("a handler bug")
    started = time.monotonic()
    entry.handle_result(message, {}, 0, None, exc_info=(RuntimeError, error, None))
    assert time.monotonic() - started < 0.05  # no pause in the worker
    assert requeued == [] and len(spawned) == 1
    spawned[0]()
    assert requeued == [message]
    assert consumer_module.RETRY_PAUSE_S * (consumer_module.topology.MAX_ATTEMPTS - 1) <= 0.25
