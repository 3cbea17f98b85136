"""The content hash: what tells a duplicate from a conflict (childlink_contracts.content)."""

from childlink_contracts import EVENT_TYPES, amqp, content_hash, event_key
from childlink_contracts.examples import example_event


def test_the_hash_ignores_recorded_at_and_key_order_but_not_content():
    event = example_event(EVENT_TYPES[0])
    digest = content_hash(event)
    assert digest.startswith("sha256:") and len(digest) == len("sha256:") + 64
    assert content_hash({**event, "recorded_at": "2024-07-16T08:00:00+07:00"}) == digest
    assert content_hash(dict(reversed(list(event.items())))) == digest
    assert content_hash({**event, "payload": {**event["payload"], "capacity": 41}}) != digest
    assert content_hash({**event, "occurred_at": "2024-07-15T09:31:00+07:00"}) != digest


def test_an_events_key_is_its_department_and_event_id():
    assert event_key("health", "e1") != event_key("social", "e1")
    assert event_key("health", "e1") == "health:e1"


def test_headers_and_properties_may_be_left_out_but_not_contradict_the_body():
    event = example_event(EVENT_TYPES[0])
    assert amqp.disagreements(event, amqp.properties(event), amqp.headers(event)) == {}
    assert amqp.disagreements(event, {}, {}) == {}
    wrong = amqp.disagreements(event, {"message_id": "other"}, {"type": "x", "department": "health", "version": 2})
    assert set(wrong) == {"properties.message_id", "headers.type", "headers.department", "headers.version"}
    assert amqp.disagreements({"n": 1}, {"message_id": "m1"}, {}) == {}  # no event_id in the body: the contract says
