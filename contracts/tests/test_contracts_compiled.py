"""The compiled fast path (childlink_contracts.compiled) answers exactly as marshmallow does.

Every simulated event, and thousands of broken variants of them (each field removed, nulled, given
the wrong type, an unknown key added at every level, values out of range), go through
`validate_event` twice: with the fast path and with marshmallow alone. The normalised events must be
equal, keys in the same order (stored and hashed as JSON), and the refusals must name the same
fields with the same messages. `compiled.check`'s single pass is also held, schema by schema, to
marshmallow's `schema.load` and `schema.dump` of what it loaded: both forms, types and key order.
"""

import copy
import datetime as dt
import json
import random

import pytest
from childlink_contracts import ContractError, compiled, lookup, validate_event
from childlink_contracts.envelope import EnvelopeSchema
from childlink_contracts.validation import _envelope, _schema
from childlink_tools.dataset import generate_dataset
from marshmallow import Schema, ValidationError, fields, pre_load


@pytest.fixture(scope="module")
def events():
    dataset = generate_dataset(40, 5)
    return [(department, event) for department, event in dataset.events]


def outcome(raw, department, monkeypatch, enabled):
    monkeypatch.setattr(compiled, "ENABLED", enabled)
    try:
        event = validate_event(copy.deepcopy(raw), department)
    except ContractError as exc:
        return ("refused", exc.errors)
    return ("accepted", json.dumps(event, ensure_ascii=False))


def same(raw, department, monkeypatch):
    fast = outcome(raw, department, monkeypatch, True)
    slow = outcome(raw, department, monkeypatch, False)
    assert fast == slow, (department, raw)
    return fast[0]


def paths(value, prefix=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*prefix, index)
            yield from paths(item, (*prefix, index))


def mutated(raw, path, how):
    copied = copy.deepcopy(raw)
    holder = copied
    for step in path[:-1]:
        holder = holder[step]
    last = path[-1]
    if how == "remove":
        if isinstance(holder, dict):
            del holder[last]
        else:
            holder.pop(last)
    elif how == "null":
        holder[last] = None
    elif how == "wrong_type":
        value = holder[last]
        holder[last] = ("12" if isinstance(value, (int, float)) and not isinstance(value, bool)
                        else 12 if isinstance(value, str) else "yes" if isinstance(value, bool) else "x")
    elif how == "unknown_key" and isinstance(holder[last], dict):
        holder[last]["not_in_the_contract"] = "x"
    elif how == "odd_value":
        value = holder[last]
        holder[last] = (value + 10_000 if isinstance(value, (int, float)) and not isinstance(value, bool)
                        else "2999-01-01T00:00:00+07:00" if isinstance(value, str) and "T" in value
                        else value + "\n" if isinstance(value, str) else value)
    elif how in SPECIAL_NUMBERS:
        holder[last] = SPECIAL_NUMBERS[how]
    return copied


# not JSON, but Python's json module decodes them and a float or integer field must refuse them alike
SPECIAL_NUMBERS = {"nan": float("nan"), "infinity": float("-inf"), "huge": 10**400, "float": 12.0, "true": True}


def test_every_simulated_event_is_normalised_alike(events, monkeypatch):
    answers = [same(raw, department, monkeypatch) for department, raw in events]
    assert answers.count("accepted") > 0.9 * len(answers)  # the simulator's events are valid, mostly


def test_broken_variants_are_refused_alike(events, monkeypatch):
    rng = random.Random(3)
    sample = rng.sample(events, 60)
    seen = {"accepted": 0, "refused": 0}
    for department, raw in sample:
        for path in paths(raw):
            for how in ("remove", "null", "wrong_type", "unknown_key", "odd_value"):
                seen[same(mutated(raw, path, how), department, monkeypatch)] += 1
        seen[same({**raw, "extra": 1}, department, monkeypatch)] += 1
    assert seen["refused"] > 1000 and seen["accepted"] > 100, seen


def test_the_envelope_is_compiled_and_a_schema_with_hooks_is_left_to_marshmallow():
    assert compiled._compiled(_envelope) is not None

    class Hooked(Schema):
        name = fields.String(required=True)

        @pre_load
        def strip(self, data, **kwargs):
            return {**data, "name": data["name"].strip()}

    schema = Hooked()
    assert compiled._compiled(schema) is None
    assert compiled.load(schema, {"name": " x "}) == {"name": "x"}  # marshmallow's answer, hook and all
    assert compiled._compiled(EnvelopeSchema(only=("event_id",))) is None


def shape(value):
    """`value` with its key order and types made comparable (aware datetimes equal by instant differ)."""
    if isinstance(value, dict):
        return ("dict", [(key, shape(item)) for key, item in value.items()])
    if isinstance(value, list):
        return ("list", [shape(item) for item in value])
    if isinstance(value, dt.date):
        return (type(value).__name__, value.isoformat())
    return (type(value).__name__, value)


def marshmallow_forms(schema, data):
    try:
        loaded = schema.load(copy.deepcopy(data))
    except ValidationError as exc:
        return ("refused", exc.messages)
    return ("accepted", shape(loaded), shape(schema.dump(loaded)))


def single_pass_forms(schema, data):
    try:
        loaded, dumped = compiled.check(schema, copy.deepcopy(data))
    except ValidationError as exc:
        return ("refused", exc.messages), False
    if dumped is None:  # gave up: marshmallow loaded it; dump as validate_event then does
        return ("accepted", shape(loaded), shape(schema.dump(loaded))), False
    return ("accepted", shape(loaded), shape(dumped)), True


def schemas_of(raw, department):
    """(schema, data) pairs validate_event checks for `raw`: the envelope, and the type's payload schema."""
    yield _envelope, raw
    event_type = lookup(department, raw.get("type"), raw.get("version")) if isinstance(raw, dict) else None
    if event_type is not None and isinstance(raw.get("payload"), dict):
        yield _schema(event_type), raw["payload"]


def same_forms(raw, department):
    fast_count = 0
    for schema, data in schemas_of(raw, department):
        fast, in_one_pass = single_pass_forms(schema, data)
        assert fast == marshmallow_forms(schema, data), (type(schema).__name__, data)
        fast_count += in_one_pass
    return fast_count


def test_the_single_pass_loads_and_dumps_every_simulated_event_as_marshmallow(events):
    in_one_pass = sum(same_forms(raw, department) for department, raw in events)
    assert in_one_pass > 1.8 * len(events)  # envelope and payload: the fast path is what was compared


def test_the_single_pass_loads_and_dumps_broken_variants_as_marshmallow(events):
    rng = random.Random(5)
    checked = 0
    for department, raw in rng.sample(events, 60):
        for path in paths(raw):
            for how in ("remove", "null", "wrong_type", "unknown_key", "odd_value", *SPECIAL_NUMBERS):
                same_forms(mutated(raw, path, how), department)
                checked += 1
    assert checked > 6000


@pytest.mark.parametrize("ahead", [dt.timedelta(minutes=4), dt.timedelta(minutes=6), dt.timedelta(days=-1)])
def test_not_in_the_future_keeps_its_clock_and_tolerance(events, ahead, monkeypatch):
    department, raw = events[0]
    moment = (dt.datetime.now(dt.UTC) + ahead).astimezone(dt.timezone(dt.timedelta(hours=7)))
    event = {**raw, "occurred_at": moment.isoformat(), "recorded_at": moment.isoformat()}
    fast, _in_one_pass = single_pass_forms(_envelope, event)
    assert fast == marshmallow_forms(_envelope, event)
    assert fast[0] == ("refused" if ahead > dt.timedelta(minutes=5) else "accepted")
    assert same(event, department, monkeypatch) == fast[0]


@pytest.mark.parametrize("value", ["2024-06-01T10:00:00Z", "2024-06-01T10:00:00.5+07:00", "2024-06-01 10:00:00+07:00",
                                   "2024-06-01T10:00+07:00", "20240601T100000+0700", "2024-06-01T10:00:00",
                                   "2024-06-01", "2024-06-01T10:00:00+07:00:30", "2024-06-01T10:00:00.123456789+07:00"])
def test_odd_but_iso_instants_load_and_dump_as_marshmallow(events, value):
    _department, raw = events[0]
    event = {**raw, "occurred_at": value}
    assert single_pass_forms(_envelope, event)[0] == marshmallow_forms(_envelope, event)


@pytest.mark.parametrize("value", ["C6F1E4B2-1D2A-4C3B-9E8F-0A1B2C3D4E5F", "{c6f1e4b2-1d2a-4c3b-9e8f-0a1b2c3d4e5f}",
                                   "urn:uuid:c6f1e4b2-1d2a-4c3b-9e8f-0a1b2c3d4e5f", "c6f1e4b21d2a4c3b9e8f0a1b2c3d4e5f",
                                   "not-a-uuid"])
def test_uuids_in_any_spelling_load_and_dump_as_marshmallow(events, value):
    _department, raw = events[0]
    event = {**raw, "event_id": value, "supersedes": value}
    assert single_pass_forms(_envelope, event)[0] == marshmallow_forms(_envelope, event)
