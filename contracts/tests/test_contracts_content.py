"""The content hash: what tells a duplicate from a conflict (childlink_contracts.content)."""

import copy
import datetime as dt
import json
import random
import struct

import orjson
import pytest
from childlink_contracts import (
    EVENT_TYPES,
    ContractError,
    amqp,
    content,
    content_hash,
    event_key,
    validate_event,
)
from childlink_contracts.content import NOT_CONTENT, canonical_content
from childlink_contracts.examples import example_event
from childlink_tools.dataset import generate_dataset


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


# The content hash is stored: orjson's bytes must be json.dumps's, byte for byte, or every stored event
# would look like a conflict. Each case goes through both encoders.
def json_reference(event):
    content = {key: value for key, value in event.items() if key not in NOT_CONTENT}
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def assert_identical(event):
    assert canonical_content(event) == json_reference(event), event


@pytest.fixture(scope="module")
def simulated_events():
    dataset = generate_dataset(40, 5)
    events = [validate_event(copy.deepcopy(event), department) for department, event in dataset.events
              if _valid(event, department)]
    assert len(events) > 500
    return events


def _valid(event, department):
    try:
        validate_event(copy.deepcopy(event), department)
    except ContractError:
        return False
    return True


def test_every_simulated_event_hashes_as_json_dumps_did(simulated_events):
    for event in simulated_events:
        assert_identical(event)
        assert_identical(json.loads(json.dumps(event)))  # as the outbox reads it back


EDGE_VALUES = [
    0.1, -0.0, 0.0, 1e16, 1e15, 1e-4, 1e-5, 9.999999999999999e-05, 1e-7, 1.5e-300, 5e-324, 1e22, 1e300,
    1.7976931348623157e308, 2.2250738585072014e-308, 123456789012345678.0, 9007199254740993.0, 12.4, 88.5,
    float("nan"), float("inf"), float("-inf"), 2**53 + 1, 2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63),
    -(2**63) - 1, 2**100, -(2**100), True, False, None, "", "é", "ไทย", "😀 astral", "\U0010ffff",
    "\x00\x01\x1f\x7f\x80\u2028\u2029\ufeff", '"quoted" \\ back / slash <>&\n\r\t\b\f', "null", ":0.00001",
    ",1e-5", "[1e-7", [], {}, [[1, [2.5, [1e-6, "x"]]], {"b": [None]}], (1, "tuple"),
]


@pytest.mark.parametrize("value", EDGE_VALUES, ids=repr)
def test_edge_values_hash_as_json_dumps_did(value):
    assert_identical({"payload": {"v": value, "list": [value, value]}, "event_id": "e1"})
    assert_identical({"payload": value})


def test_keys_sort_by_code_point_as_json_dumps_did():
    keys = ["z", "a", "é", "e", "ﬀ", "😀", "ไทย", "A", "_", "0", "\x7f", "\u00ff", "\uffff", "\U00010000", "aa", ""]
    assert_identical({key: {inner: index for index, inner in enumerate(reversed(keys))} for key in keys})


def test_every_code_point_but_surrogates_is_escaped_as_json_dumps_did():
    text = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    assert_identical({"payload": {"text": text, text[:5000]: 1}})


def test_random_floats_of_every_magnitude_hash_as_json_dumps_did():
    rng = random.Random(7)
    for _ in range(20_000):
        bits = struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0]
        scaled = rng.uniform(-1000, 1000) * 10.0 ** rng.randint(-12, 24)
        rounded = round(rng.uniform(0, 200), rng.randint(0, 6))
        assert_identical({"payload": {"a": bits, "b": [scaled, rounded], "c": {"d": rounded / 1e6}}})


def test_what_orjson_does_not_take_goes_to_json_dumps():
    class Text(str):
        pass

    assert_identical({"payload": {2: "int keys", 1: "int key"}, "s": Text("sub")})
    assert_identical({"payload": {"big": 2**70}})
    with pytest.raises(TypeError):  # json.dumps's own refusal, as before
        canonical_content({"payload": {"when": dt.datetime(2024, 1, 1)}})


def test_the_fast_encoder_is_used_for_plain_events(simulated_events, monkeypatch):
    monkeypatch.setattr(content, "_json_dumps", lambda _content: pytest.fail("fell back to json.dumps"))
    plain = [event for event in simulated_events if not content._orjson_may_differ(
        orjson.dumps({k: v for k, v in event.items() if k not in NOT_CONTENT}, option=content._ORJSON_OPTIONS))]
    assert len(plain) > 0.9 * len(simulated_events)
    for event in plain:
        canonical_content(event)
