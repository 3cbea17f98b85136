"""Flows are keyed by department and envelope type; whatever does not parse is one "invalid" row per
department (before: a row per routing key anyone published, `x`, `unknown`, a blank one)."""

import json

from childlink_contracts import EVENT_TYPES
from childlink_contracts.examples import example_event
from childlink_monitor import flows

NOW = 1_800_000_000.0
HEALTH_EXAMPLE = example_event(next(t for t in EVENT_TYPES if t.key == ("health", "child.screened", 1)))


def test_a_tapped_message_is_keyed_by_its_envelope_type_whatever_its_routing_key():
    body = json.dumps(HEALTH_EXAMPLE).encode()
    assert flows.sighting("health", body) == ("child.screened", HEALTH_EXAMPLE["event_id"])
    assert flows.sighting("health", body, "m-1") == ("child.screened", "m-1")


def test_what_does_not_parse_is_invalid():
    for raw in (b"not json", b"[1, 2]", b'"child.screened"', b"{}", b'{"type": ""}', b'{"type": 7}',
                json.dumps({**HEALTH_EXAMPLE, "type": "x"}).encode(),
                json.dumps({**HEALTH_EXAMPLE, "type": "child.enrolled"}).encode(),  # a social/education type
                b"\xff{"):
        assert flows.sighting("health", raw)[0] == flows.INVALID, raw
    assert flows.sighting("referral", b'{"type": "referral.requested"}')[0] == "referral.requested"
    assert flows.sighting("referral", b'{"type": "no dots"}')[0] == flows.INVALID


def test_one_invalid_row_per_department_however_many_odd_keys():
    book = flows.FlowBook()
    for type_ in ("x", "unknown", "", "child.screened", None):
        book.seen("health", type_, NOW)
    book.seen("social", "x", NOW)
    book.failed("health", "unknown", NOW)
    book.dead_lettered("health", "not.a_health_type", NOW)
    minutes, touches = book.drain()
    rows = {(m.department, m.type): m.as_dict() for m in minutes}
    assert set(rows) == {("health", "child.screened"), ("health", flows.INVALID), ("social", flows.INVALID)}
    assert rows[("health", flows.INVALID)]["seen"] == 4
    assert rows[("health", flows.INVALID)]["failures"] == 1 and rows[("health", flows.INVALID)]["dead_letters"] == 1
    assert {(t.department, t.type) for t in touches} == {
        ("health", "child.screened"), ("health", flows.INVALID), ("social", flows.INVALID)}
