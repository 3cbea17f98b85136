"""At ingest, a growth measurement beyond WHO's plausibility limits is refused naming the field and its
z-score, unless the sender marks it re-checked; the child's age is counted in Bangkok days."""

import datetime as dt
import json
import re

import pytest
from childlink_common.ingest import accept_events
from childlink_common.testing.events import child, event
from childlink_contracts import ContractError, validate_event
from childlink_contracts.growth.plausibility import age_in_days


def growth_event(payload, birth_date="2025-12-01", occurred_at="2026-12-01T09:00:00+07:00", sex="male"):
    return event("health", "child.growth_measured", subject=child(birth_date=birth_date, sex=sex),
                 payload=payload, occurred_at=occurred_at, recorded_at=occurred_at)


class Outbox:
    def __init__(self):
        self.events = []

    def add(self, events, accepted_at):
        self.events += events
        return ["accepted"] * len(events)


def test_a_weight_beyond_whos_limits_is_refused_naming_the_field_and_its_z_score():
    with pytest.raises(ContractError) as refused:
        validate_event(growth_event({"weight_kg": 4.0, "height_cm": 75.0, "measured_lying": True}), "health")
    [message, *_] = refused.value.errors["payload.weight_kg"]
    assert message.startswith("weight-for-age z-score -6.") and "at 365 days" in message
    assert "payload.rechecked = true" in message
    assert "payload.height_cm" not in refused.value.errors  # length-for-age is plausible


def test_a_height_beyond_whos_limits_is_refused_on_the_height():
    with pytest.raises(ContractError) as refused:
        validate_event(growth_event({"weight_kg": 9.6, "height_cm": 100.0, "measured_lying": True}), "health")
    [message] = refused.value.errors["payload.height_cm"]
    assert re.match(r"length/height-for-age z-score \+10\.\d\d at 365 days", message)


def test_a_head_circumference_beyond_whos_limits_is_refused_on_it():
    with pytest.raises(ContractError) as refused:
        validate_event(growth_event({"weight_kg": 9.6, "height_cm": 75.0, "head_circumference_cm": 60.0}),
                       "health")
    assert refused.value.errors["payload.head_circumference_cm"][0].startswith("head circumference-for-age z-score +")


def test_re_checked_it_is_stored_with_the_mark():
    stored = validate_event(growth_event({"weight_kg": 4.0, "height_cm": 75.0, "rechecked": True}), "health")
    assert stored["payload"] == {"weight_kg": 4.0, "height_cm": 75.0, "rechecked": True}


def test_a_plausible_measurement_and_one_without_an_age_are_taken():
    assert validate_event(growth_event({"weight_kg": 9.6, "height_cm": 75.0}), "health")
    # an occurred_at before the birth date is another check's to refuse; here it gives no z-score
    late_birth = growth_event({"weight_kg": 4.0, "height_cm": 75.0}, birth_date="2026-12-02")
    try:
        validate_event(late_birth, "health")
    except ContractError as exc:
        assert not any("z-score" in " ".join(m) for m in exc.errors.values())


def test_the_ingest_answer_is_422_and_nothing_is_stored():
    outbox = Outbox()
    bad = growth_event({"weight_kg": 4.0, "height_cm": 75.0})
    good = growth_event({"weight_kg": 9.6, "height_cm": 75.0})
    answer = accept_events(json.dumps([good, bad]).encode(), "health", outbox)
    assert answer.status == 422 and outbox.events == []
    assert "weight-for-age z-score" in json.dumps(answer.body["errors"]["1"]["payload.weight_kg"])


def test_age_is_counted_in_bangkok_days():
    born = dt.date(2025, 12, 1)
    late_evening_utc = dt.datetime(2026, 11, 30, 18, 30, tzinfo=dt.UTC)  # 01:30 on 1 December in Bangkok
    assert age_in_days(late_evening_utc, born) == 365
    assert age_in_days(dt.datetime(2026, 11, 30, 16, 59, tzinfo=dt.UTC), born) == 364
