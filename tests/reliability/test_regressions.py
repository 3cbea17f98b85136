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
