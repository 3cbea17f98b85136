"""The outbox relay's asynchronous confirms against the real RabbitMQ: a batch is published in one go,
and only what the broker acked and routed leaves the outbox."""

import datetime as dt
import json
import uuid

import pytest
import yaml
from childlink_common import topology
from childlink_common.outbox.sqlite_store import SqliteOutbox
from childlink_common.relay import OutboxRelay
from childlink_contracts import docs
from kombu import Connection, Exchange, Queue


def event(type_="child.registered", department="health"):
    now = dt.datetime.now(dt.UTC).isoformat()
    event_id = str(uuid.uuid4())
    return {"event_id": event_id, "type": type_, "version": 1, "occurred_at": now, "recorded_at": now,
            "correlation_id": event_id, "source": {"department": department, "system": "his",
                                                   "facility": {"code": "HC-1", "district_code": "1001"}},
            "subject": {"child": {"local_id": "L1"}}, "payload": {}}


def queued(amqp_uri, queue):
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        found = []
        while (message := channel.basic_get(queue=queue, no_ack=True)) is not None:
            found.append(message.properties["message_id"])
        return found


def test_a_batch_is_published_confirmed_and_marked(rabbit_config, tmp_path):
    outbox = SqliteOutbox(tmp_path / "health.sqlite3")
    events = [event() for _ in range(250)]
    outbox.add(events, 0.0)
    relay = OutboxRelay(outbox, "health", rabbit_config["AMQP_URI"], batch_size=100)
    try:
        assert [relay.publish_pending() for _ in range(4)] == [100, 100, 50, 0]
        assert outbox.backlog() == 0
        assert relay.counters() == {"attempted": 250, "confirmed": 250, "unroutable": 0}
        # in outbox order, each once
        assert queued(rabbit_config["AMQP_URI"], "referral.health.events") == [e["event_id"] for e in events]
    finally:
        relay.disconnect()
        outbox.close()


def test_only_routed_messages_leave_the_outbox(rabbit_config, tmp_path):
    """An exchange with one binding: what the broker returns (mandatory) stays in the outbox, even
    though the broker acks it too; the rest of the same batch is marked published."""
    uri = rabbit_config["AMQP_URI"]
    exchange = Exchange("nowhere.events", type="topic", durable=True)
    with Connection(uri) as connection:
        Queue("nowhere.registered", exchange=exchange, routing_key="child.registered",
              durable=True)(connection.channel()).declare()
    outbox = SqliteOutbox(tmp_path / "nowhere.sqlite3")
    routed, unroutable = event(), event("child.immunised")
    outbox.add([unroutable, routed, event("child.screened")], 0.0)
    relay = OutboxRelay(outbox, "nowhere", uri)
    try:
        assert relay.publish_pending() == 1
        assert relay.counters() == {"attempted": 3, "confirmed": 1, "unroutable": 2}
        assert outbox.get(routed["event_id"])["published"] is True
        assert outbox.get(unroutable["event_id"])["published"] is False
        assert outbox.backlog() == 2
        # released at once, not left leased: the next attempt takes them again (and they stay)
        assert relay.publish_pending() == 0
        assert relay.counters()["attempted"] == 5
    finally:
        relay.disconnect()
        outbox.close()


def test_a_lost_connection_marks_what_was_acked_and_releases_the_rest(rabbit_config, tmp_path):
    outbox = SqliteOutbox(tmp_path / "health.sqlite3")
    outbox.add([event() for _ in range(5)], 0.0)
    relay = OutboxRelay(outbox, "health", rabbit_config["AMQP_URI"], batch_size=5)
    try:
        relay._connect()
        real_publish = relay._producer.publish
        calls = []

        def publish_then_break(*args, **kwargs):
            calls.append(1)
            if len(calls) == 3:
                while relay._unconfirmed:  # the first two are acked by now
                    relay._connection.drain_events(timeout=5)
                raise ConnectionError("broker went away")
            return real_publish(*args, **kwargs)

        relay._producer.publish = publish_then_break
        with pytest.raises(ConnectionError):
            relay.publish_pending()
        assert relay.counters()["confirmed"] == 2
        assert outbox.backlog() == 3
        # released, not left leased: the next attempt (a new connection) publishes the rest at once
        assert relay.publish_pending() == 3
        assert outbox.backlog() == 0
    finally:
        relay.disconnect()
        outbox.close()


def test_the_layout_is_declared_before_the_first_publish(rabbit_config, tmp_path):
    outbox = SqliteOutbox(tmp_path / "social.sqlite3")
    outbox.add([event(department="social")], 0.0)
    relay = OutboxRelay(outbox, "social", rabbit_config["AMQP_URI"])
    try:
        assert relay.publish_pending() == 1
        assert queued(rabbit_config["AMQP_URI"], topology.referral_queue("social").name) != []
    finally:
        relay.disconnect()
        outbox.close()


def test_the_relay_publishes_each_example_as_the_asyncapi_document_says(rabbit_config, tmp_path):
    document = yaml.safe_load(docs.render()[docs.ASYNCAPI_FILE])
    outbox = SqliteOutbox(tmp_path / "health.sqlite3")
    relay = OutboxRelay(outbox, "health", rabbit_config["AMQP_URI"])
    messages = {name: m for name, m in document["components"]["messages"].items() if name.startswith("health.")}
    try:
        outbox.add([m["examples"][0]["payload"] for m in messages.values()], 0.0)
        assert relay.publish_pending() == len(messages)
        with Connection(rabbit_config["AMQP_URI"]) as connection:
            channel = connection.channel()
            got = []
            while (message := channel.basic_get(queue="referral.health.events", no_ack=True)) is not None:
                got.append(message)
    finally:
        relay.disconnect()
        outbox.close()
    assert len(got) == len(messages)
    for message, spec in zip(got, messages.values()):
        example, publish = spec["examples"][0], spec["x-amqp-publish"]
        assert message.delivery_info["exchange"] == publish["exchange"]
        assert message.delivery_info["routing_key"] == publish["routing_key"]
        assert json.loads(message.body) == example["payload"]
        assert {k: message.headers[k] for k in example["headers"]} == example["headers"]
        props = publish["properties"]
        assert message.properties["content_type"] == props["content_type"]["value"]
        assert message.properties["content_encoding"] == props["content_encoding"]["value"]
        assert message.properties["delivery_mode"] == props["delivery_mode"]["value"]
        assert message.properties["message_id"] == example["payload"]["event_id"]
        assert message.properties["correlation_id"] == example["payload"]["correlation_id"]
