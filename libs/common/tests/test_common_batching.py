"""The batching consumer against the real RabbitMQ: batches handled in one call and acked after it,
and the dead-lettering consumer's guarantees kept message by message."""

import json
import time

import pytest
from childlink_common import topology
from childlink_common.batching import consume_batches
from childlink_common.errors import PermanentFailure, StoreUnavailable
from childlink_common.testing.services import wait_until
from kombu import Connection, Exchange, Producer

EXCHANGE = Exchange("batch.events", type="topic", durable=True)
QUEUE = topology.consumer_queue("batch.work", EXCHANGE)
calls = []  # the size of each call
committed = []  # what each successful call "committed": all of its batch or none of it
store_down_until = {"t": 0.0}


class Worker:
    name = "batch_worker"

    @consume_batches(QUEUE, max_batch=20, max_wait_ms=50)
    def handle(self, bodies):
        calls.append(len(bodies))
        transaction = []
        for body in bodies:
            if body["kind"] == "poison":
                raise ValueError(f"cannot handle message {body['n']}")
            if body["kind"] == "invalid":
                raise PermanentFailure("breaks its contract", {"payload.x": ["required"]})
            if body["kind"] == "store" and time.monotonic() < store_down_until["t"]:
                raise StoreUnavailable("database is locked")
            transaction.append(body["n"])
        committed.extend(transaction)


@pytest.fixture
def idle_worker(container_factory, rabbit_config):
    """The worker's container, not started yet."""
    calls.clear()
    committed.clear()
    store_down_until["t"] = 0.0
    return container_factory(Worker, {**rabbit_config, "max_workers": 4})


@pytest.fixture
def worker(idle_worker):
    idle_worker.start()
    return idle_worker


def publish(amqp_uri, bodies):
    with Connection(amqp_uri) as connection:
        producer = Producer(connection.channel())
        for body in bodies:
            producer.publish(json.dumps(body), exchange=EXCHANGE, routing_key="anything",
                             content_type="application/json", message_id=f"m{body['n']}")


def dead_letters(amqp_uri):
    found = []
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        while (message := channel.basic_get(queue=topology.DEAD_LETTER_QUEUE, no_ack=True)) is not None:
            found.append(message)
    return found


def queue_is_empty(amqp_uri):
    with Connection(amqp_uri) as connection:
        return connection.channel().queue_declare(QUEUE.name, passive=True).message_count == 0


def test_messages_are_handled_in_batches_each_once_and_acked(idle_worker, rabbit_config):
    uri = rabbit_config["AMQP_URI"]
    with Connection(uri) as connection:
        topology.declare_all(connection.channel())
        QUEUE(connection.channel()).declare()
    publish(uri, [{"n": n, "kind": "fine"} for n in range(100)])  # waiting, however busy the machine
    worker = idle_worker
    worker.start()
    wait_until(lambda: len(committed) == 100, timeout=60, message="all handled")
    assert sorted(committed) == list(range(100))
    assert max(calls) > 1 and max(calls) <= 20
    assert sum(calls) == 100  # no message was handled twice
    worker.stop()  # stopping returns every unacked message to the queue: none may be left
    assert queue_is_empty(uri)


def test_a_lone_message_is_not_held_longer_than_the_wait(worker, rabbit_config):
    publish(rabbit_config["AMQP_URI"], [{"n": 1, "kind": "fine"}])
    started = time.monotonic()
    wait_until(lambda: committed == [1], interval=0.01, message="handled")  # by the timer: no 2nd message
    assert time.monotonic() - started < 5.0  # 50 ms, and room for a busy machine
    assert calls == [1]


def test_a_poison_message_does_not_sink_its_batch(worker, rabbit_config):
    uri = rabbit_config["AMQP_URI"]
    bodies = [{"n": n, "kind": "fine"} for n in range(30)]
    bodies[7] = {"n": 7, "kind": "poison"}
    publish(uri, bodies)
    letters = []
    wait_until(lambda: letters.extend(dead_letters(uri)) or letters, timeout=60, message="dead letter")
    wait_until(lambda: len(committed) == 29, timeout=60, message="the others handled")
    time.sleep(0.3)
    assert sorted(committed) == [n for n in range(30) if n != 7]  # each once: a failed batch kept nothing
    [letter] = letters
    assert letter.headers["x-childlink-reason"] == "max_attempts"
    assert letter.headers["x-childlink-attempts"] == topology.MAX_ATTEMPTS
    assert letter.properties["message_id"] == "m7"
    assert queue_is_empty(uri)


def test_a_message_that_breaks_its_contract_is_dead_lettered_at_once(worker, rabbit_config):
    uri = rabbit_config["AMQP_URI"]
    bodies = [{"n": n, "kind": "fine"} for n in range(10)]
    bodies[3] = {"n": 3, "kind": "invalid"}
    publish(uri, bodies)
    letters = []
    wait_until(lambda: letters.extend(dead_letters(uri)) or letters, message="dead letter")
    wait_until(lambda: len(committed) == 9, timeout=60, message="the others handled")
    [letter] = letters
    assert letter.headers["x-childlink-reason"] == "invalid"
    assert letter.headers["x-childlink-attempts"] == 1
    assert letter.headers["x-childlink-error-fields"] == {"payload.x": ["required"]}


def test_a_store_outage_holds_the_batch_until_the_store_returns(worker, rabbit_config):
    uri = rabbit_config["AMQP_URI"]
    store_down_until["t"] = time.monotonic() + 1.5
    publish(uri, [{"n": n, "kind": "store"} for n in range(10)])
    wait_until(lambda: len(committed) == 10, timeout=30, message="handled once the store is back")
    assert sorted(committed) == list(range(10))
    assert dead_letters(uri) == []  # an outage is not the messages' fault
