"""The dead-lettering consumer against the real RabbitMQ: bounded retries, reasons kept, nothing lost."""

import json
import time

import amqp
import pytest
from childlink_common import topology
from childlink_common.consumer import consume_safely
from childlink_common.errors import StoreUnavailable
from childlink_common.testing.services import wait_until
from kombu import Connection, Exchange, Producer

EXCHANGE = Exchange("test.events", type="topic", durable=True)
QUEUE = topology.consumer_queue("test.work", EXCHANGE)
seen = []
handled = []
store_down_until = {"t": 0.0}


class Worker:
    name = "worker"

    @consume_safely(QUEUE)
    def handle(self, body):
        seen.append(body["n"])
        if body["kind"] == "poison":
            raise ValueError(f"cannot handle message {body['n']}")
        if body["kind"] == "store" and time.monotonic() < store_down_until["t"]:
            raise StoreUnavailable("database is locked")
        handled.append(body["n"])


@pytest.fixture
def worker(container_factory, rabbit_config):
    seen.clear()
    handled.clear()
    container = container_factory(Worker, {**rabbit_config, "max_workers": 4})
    container.start()
    return container


def publish(amqp_uri, body, headers=None):
    with Connection(amqp_uri) as connection:
        Producer(connection.channel()).publish(
            json.dumps(body), exchange=EXCHANGE, routing_key="anything", content_type="application/json",
            message_id=f"m{body['n']}", headers=headers or {})


def dead_letters(amqp_uri):
    found = []
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        while (message := channel.basic_get(queue=topology.DEAD_LETTER_QUEUE, no_ack=True)) is not None:
            found.append(message)
    return found


def test_a_failing_handler_is_retried_a_bounded_number_of_times_then_dead_lettered(worker, rabbit_config):
    uri = rabbit_config["AMQP_URI"]
    publish(uri, {"n": 1, "kind": "poison"}, headers={"traceparent": "abc-123"})
    for n in range(2, 12):
        publish(uri, {"n": n, "kind": "fine"})

    letters = []
    wait_until(lambda: letters.extend(dead_letters(uri)) or letters, message="dead letter")
    wait_until(lambda: set(range(2, 12)) <= set(seen), message="healthy messages handled")
    time.sleep(0.5)  # room for any (wrong) further redelivery to show up

    assert seen.count(1) == topology.MAX_ATTEMPTS
    [letter] = letters
    headers = letter.headers
    assert headers["x-childlink-reason"] == "max_attempts"
    assert headers["x-childlink-attempts"] == topology.MAX_ATTEMPTS
    assert "ValueError: cannot handle message 1" in headers["x-childlink-error"]
    assert headers["traceparent"] == "abc-123"  # the original headers travel with it
    assert headers["x-childlink-queue"] == "test.work"
    assert letter.properties["message_id"] == "m1"
    assert json.loads(letter.body) == {"n": 1, "kind": "poison"}
    assert all(seen.count(n) == 1 for n in range(2, 12))


def test_an_unavailable_store_keeps_the_message_until_it_returns_without_using_up_attempts(worker, rabbit_config):
    uri = rabbit_config["AMQP_URI"]
    store_down_until["t"] = time.monotonic() + 5.0
    publish(uri, {"n": 1, "kind": "store"})
    wait_until(lambda: handled == [1], timeout=20, message="handled after the store came back")
    time.sleep(1.0)
    assert handled == [1]
    assert len(seen) > topology.MAX_ATTEMPTS  # retried past the attempt limit: an outage is not a poison
    assert dead_letters(uri) == []
    with Connection(uri) as connection:
        assert connection.channel().basic_get(queue="test.work") is None  # acked, not left behind


def test_an_undecodable_body_is_dead_lettered_not_looped(worker, rabbit_config):
    uri = rabbit_config["AMQP_URI"]
    with Connection(uri) as connection:
        Producer(connection.channel()).publish(b"\xff{", exchange=EXCHANGE, routing_key="x",
                                               content_type="application/json")
    publish(uri, {"n": 7, "kind": "fine"})
    letters = []
    wait_until(lambda: letters.extend(dead_letters(uri)) or letters, message="dead letter")
    wait_until(lambda: 7 in seen, message="next message handled")
    assert letters[0].headers["x-childlink-reason"] == "undecodable"
    assert letters[0].body == b"\xff{"


def publish_bare(amqp_uri, raw):
    """As a plain AMQP client may: a body and nothing else (no content_type, message_id or headers)."""
    with Connection(amqp_uri) as connection:
        connection.default_channel.basic_publish(amqp.Message(raw), exchange=EXCHANGE.name, routing_key="bare")


def test_a_json_body_without_content_type_is_taken_as_json(worker, rabbit_config):
    # before: kombu handed the handler text, and an event was dead-lettered as "not a JSON object"
    uri = rabbit_config["AMQP_URI"]
    publish_bare(uri, json.dumps({"n": 21, "kind": "fine"}).encode())
    wait_until(lambda: 21 in handled, message="bare JSON handled")
    assert dead_letters(uri) == []


def test_a_bare_body_that_is_not_json_is_dead_lettered_as_undecodable(worker, rabbit_config):
    uri = rabbit_config["AMQP_URI"]
    publish_bare(uri, b"not json")
    letters = []
    wait_until(lambda: letters.extend(dead_letters(uri)) or letters, message="dead letter")
    assert letters[0].headers["x-childlink-reason"] == "undecodable" and letters[0].body == b"not json"


def test_a_dead_letter_carries_the_bodys_event_id_when_the_message_has_none(worker, rabbit_config):
    uri = rabbit_config["AMQP_URI"]
    publish_bare(uri, json.dumps({"n": 22, "kind": "poison", "event_id": "evt-22"}).encode())
    letters = []
    wait_until(lambda: letters.extend(dead_letters(uri)) or letters, message="dead letter")
    [letter] = letters
    assert letter.properties["message_id"] == "evt-22"
    assert letter.headers["event_id"] == "evt-22"
    assert letter.headers["x-childlink-reason"] == "max_attempts"


def test_a_content_type_other_than_json_is_dead_lettered_as_undecodable(worker, rabbit_config):
    uri = rabbit_config["AMQP_URI"]
    with Connection(uri) as connection:
        connection.default_channel.basic_publish(
            amqp.Message(json.dumps({"n": 23, "kind": "fine"}).encode(), content_type="application/data"),
            exchange=EXCHANGE.name, routing_key="bare")
    letters = []
    wait_until(lambda: letters.extend(dead_letters(uri)) or letters, message="dead letter")
    assert letters[0].headers["x-childlink-reason"] == "undecodable"
    assert "application/data" in letters[0].headers["x-childlink-error"]
    assert 23 not in seen


def test_headers_that_contradict_the_body_are_dead_lettered_as_invalid(worker, rabbit_config):
    uri = rabbit_config["AMQP_URI"]
    publish(uri, {"n": 24, "kind": "fine", "event_id": "evt-24", "type": "child.registered"},
            headers={"type": "child.screened"})
    letters = []
    wait_until(lambda: letters.extend(dead_letters(uri)) or letters, message="dead letter")
    assert letters[0].headers["x-childlink-reason"] == "invalid"
    assert set(letters[0].headers["x-childlink-error-fields"]) == {"headers.type", "properties.message_id"}
    assert 24 not in seen
