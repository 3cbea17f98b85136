"""The compiled fast path (childlink_contracts.compiled) answers exactly as marshmallow does.

Every simulated event, and thousands of broken variants of them (each field removed, nulled, given
the wrong type, an unknown key added at every level, values out of range), go through
`validate_event` twice: with the fast path and with marshmallow alone. The normalised events must be
equal, keys in the same order (stored and hashed as JSON), and the refusals must name the same
fields with the same messages.
"""

import copy
import json
import random

import pytest
from childlink_contracts import ContractError, compiled, validate_event
from childlink_contracts.envelope import EnvelopeSchema
from childlink_contracts.validation import _envelope
from childlink_tools.dataset import generate_dataset
from marshmallow import Schema, fields, pre_load


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
    return copied


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
