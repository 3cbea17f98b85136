"""The AsyncAPI document, followed blind by a plain AMQP client that is not childlink's code (pika):
every message example published exactly as the document says lands in the timeline once; a message
that reuses a department's event_id with other content is dead-lettered with reason `conflict`."""

import json
from pathlib import Path

import pika
import pytest
import yaml
from childlink_common.testing.services import wait_until

pytestmark = pytest.mark.e2e

DOCUMENT = Path(__file__).resolve().parents[2] / "contracts" / "generated" / "asyncapi.yaml"
DEAD_LETTERS = "childlink.dead_letters"  # the document's dead-letter queue is the operators' business


def publish_as_documented(channel, document, message, payload=None, properties=None, headers=None):
    """Publish one message the way the document says: its channel's exchange and address (the routing
    key), the `x-amqp-publish` properties and the example's headers."""
    spec = document["components"]["messages"][message]
    example = spec["examples"][0]
    payload = example["payload"] if payload is None else payload
    [channel_id] = [c for c, ch in document["channels"].items() if message in ch["messages"]]
    binding = document["channels"][channel_id]["bindings"]["amqp"]
    props = spec["x-amqp-publish"]["properties"]
    if properties is None:
        properties = pika.BasicProperties(
            content_type=props["content_type"]["value"], content_encoding=props["content_encoding"]["value"],
            delivery_mode=props["delivery_mode"]["value"], message_id=payload["event_id"],
            correlation_id=payload["correlation_id"], headers=example["headers"] if headers is None else headers)
    channel.basic_publish(exchange=binding["exchange"]["name"], routing_key=document["channels"][channel_id]["address"],
                          body=json.dumps(payload, ensure_ascii=False).encode("utf-8"), properties=properties,
                          mandatory=spec["x-amqp-publish"]["mandatory"])


def entries_of(system, child_id):
    view = system.timeline(child_id)
    return {(e["department"], e["event_id"]): e for e in (view or {}).get("entries", [])}


def dead_letters(channel):
    found = []
    while True:
        method, properties, body = channel.basic_get(DEAD_LETTERS, auto_ack=True)
        if method is None:
            return found
        found.append((properties, body))


def test_every_documented_example_published_by_a_plain_client_lands_in_the_timeline_once(system, rabbit_config):
    document = yaml.safe_load(DOCUMENT.read_text("utf-8"))
    messages = document["components"]["messages"]
    # kombu's "pyamqp://" is AMQP 0-9-1 all the same
    uri = "amqp://" + rabbit_config["AMQP_URI"].split("://", 1)[1]
    connection = pika.BlockingConnection(pika.URLParameters(uri))
    try:
        channel = connection.channel()
        channel.confirm_delivery()  # an unroutable or refused publish raises here
        for name in messages:
            publish_as_documented(channel, document, name)
        examples = [m["examples"][0]["payload"] for m in messages.values()]
        wait_until(lambda: system.referral_health()["events"] == len(examples), timeout=90,
                   message=f"{len(examples)} examples in the timelines")

        child = examples[0]["subject"].get("child") or next(e["subject"]["child"] for e in examples
                                                            if "child" in e["subject"])
        child_id = system.find_child(national_id=child["national_id"])
        centre = next(e["subject"]["centre"] for e in examples if "centre" in e["subject"])
        stored = {**entries_of(system, child_id), **entries_of(system, f"centre:{centre['centre_id']}")}
        assert set(stored) == {(e["source"]["department"], e["event_id"]) for e in examples}
        assert all(entry["duplicates"] == 0 for entry in stored.values())
        assert system.referral_health()["duplicates"] == 0
        assert dead_letters(channel) == []

        # the same example again: a duplicate, counted, not stored twice
        growth = "health.child.growth_measured.v1"
        publish_as_documented(channel, document, growth)
        wait_until(lambda: system.referral_health()["duplicates"] == 1, message="the duplicate counted")
        assert system.referral_health()["events"] == len(examples)

        # the same department and event_id with other content: dead-lettered, reason conflict, never applied
        original = messages[growth]["examples"][0]["payload"]
        changed = {**original, "payload": {**original["payload"], "weight_kg": 14.2}}
        publish_as_documented(channel, document, growth, payload=changed)
        letters = wait_until(lambda: dead_letters(channel), timeout=60, message="the conflict dead-lettered")
        [(properties, body)] = letters
        assert properties.headers["x-childlink-reason"] == "conflict"
        assert properties.message_id == original["event_id"] and json.loads(body) == changed
        assert "event_id" in properties.headers["x-childlink-error-fields"]
        key = ("health", original["event_id"])
        assert entries_of(system, child_id)[key]["payload"] == original["payload"]

        # the document makes JSON the default: a body with no properties or headers at all is taken
        bare = {**original, "event_id": "8f5c4c1e-2f7a-4c61-9d1b-0e6a3f9b7c21",
                "correlation_id": "8f5c4c1e-2f7a-4c61-9d1b-0e6a3f9b7c21"}
        publish_as_documented(channel, document, growth, payload=bare, properties=pika.BasicProperties())
        wait_until(lambda: ("health", bare["event_id"]) in entries_of(system, child_id), timeout=60,
                   message="the bare JSON message in the timeline")
    finally:
        connection.close()
