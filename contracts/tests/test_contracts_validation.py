import datetime as dt
import uuid

import pytest
from childlink_contracts import EVENT_TYPES, ContractError, validate_event, validation

KEYS = [t.key for t in EVENT_TYPES]
IDS = [f"{d}.{t}.v{v}" for d, t, v in KEYS]


def errors_of(event, department):
    with pytest.raises(ContractError) as caught:
        validate_event(event, department)
    return caught.value.errors


def test_every_registered_type_has_a_sample(sample_payloads):
    assert set(sample_payloads) == set(KEYS)


@pytest.mark.parametrize("key", KEYS, ids=IDS)
def test_valid_event_of_every_type(key, make_event):
    event = make_event(key)
    normalised = validate_event(event, key[0])
    assert normalised["event_id"] == event["event_id"]
    assert normalised["type"] == key[1]
    assert normalised["version"] == key[2]
    assert normalised["correlation_id"] == event["event_id"]
    assert normalised["source"]["department"] == key[0]
    assert normalised["payload"].keys() >= event["payload"].keys()


def test_normalising_fills_payload_defaults(make_event):
    screened = make_event(("health", "child.screened", 1))
    assert validate_event(screened, "health")["payload"]["rescreen"] is False
    risk = make_event(("social", "household.risk_assessed", 1))
    del risk["payload"]["factors"]
    assert validate_event(risk, "social")["payload"]["factors"] == []


def test_correlation_id_is_kept_when_given(make_event):
    event = make_event(("health", "child.immunised", 1))
    event["correlation_id"] = "visit-2024-06-15-0042"
    assert validate_event(event, "health")["correlation_id"] == "visit-2024-06-15-0042"


def test_social_may_retract_a_centre_event(make_event):
    event = make_event(("social", "event.retracted", 1), subject_kind="centre")
    assert validate_event(event, "social")["subject"] == {"centre": event["subject"]["centre"]}


# -- missing fields ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [
    "event_id", "type", "version", "occurred_at", "recorded_at", "source", "subject", "payload",
    "source.system", "source.facility", "source.facility.code", "source.facility.district_code",
    "subject.child.local_id", "subject.child.birth_date", "subject.child.sex",
])
def test_missing_envelope_field(path, make_event):
    event = make_event(("health", "child.screened", 1))
    *parents, last = path.split(".")
    holder = event
    for part in parents:
        holder = holder[part]
    del holder[last]
    errors = errors_of(event, "health")
    assert errors[path] == ["Missing data for required field."]


@pytest.mark.parametrize("key, field", [
    (("health", "child.screened", 1), "domains"),
    (("health", "child.screened", 1), "age_band_months"),
    (("social", "centre.registered", 1), "capacity"),
    (("education", "child.readiness_assessed", 1), "overall"),
    (("medical", "child.diagnosed", 1), "icd10"),
    (("medical", "event.retracted", 1), "reason"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_missing_payload_field(key, field, make_event):
    event = make_event(key)
    del event["payload"][field]
    assert set(errors_of(event, key[0])) == {f"payload.{field}"}


def test_missing_centre_field(make_event):
    event = make_event(("social", "centre.assessed", 1))
    del event["subject"]["centre"]["district_code"]
    assert set(errors_of(event, "social")) == {"subject.centre.district_code"}


# -- wrong types and values ----------------------------------------------------------------------


@pytest.mark.parametrize("path, value", [
    ("event_id", "not-a-uuid"),
    ("version", "1"),
    ("version", 1.0),
    ("version", True),
    ("occurred_at", "yesterday"),
    ("occurred_at", "2024-06-15T09:30:00"),  # no timezone
    ("occurred_at", 1718418600),
    ("subject.child.birth_date", "04/03/2021"),
    ("subject.child.sex", "boy"),
    ("subject.child.national_id", "1234567890122"),
    ("subject.child.guardian.phone", "+66812345678"),
    ("subject.child.district_code", "1051"),
    ("subject.child.local_id", "HN 000123"),
    ("subject.child.local_id", "HN-000123\n"),
    ("source.facility.code", ""),
    ("correlation_id", ""),
    ("supersedes", "nope"),
])
def test_wrong_envelope_value(path, value, make_event):
    event = make_event(("health", "child.immunised", 1))
    *parents, last = path.split(".")
    holder = event
    for part in parents:
        holder = holder[part]
    holder[last] = value
    assert path in errors_of(event, "health")


@pytest.mark.parametrize("key, field, value", [
    (("health", "child.immunised", 1), "dose", "2"),
    (("health", "child.immunised", 1), "dose", 2.5),
    (("health", "child.immunised", 1), "dose", 6),
    (("health", "child.immunised", 1), "vaccine", "COVID"),
    (("health", "child.growth_measured", 1), "weight_kg", "heavy"),
    (("health", "child.growth_measured", 1), "height_cm", 200),
    (("health", "child.growth_measured", 1), "weight_kg", "12.4"),
    (("health", "child.growth_measured", 1), "weight_kg", True),
    (("health", "child.growth_measured", 1), "measured_lying", "yes"),
    (("health", "child.growth_measured", 1), "measured_lying", 1),
    (("health", "child.screened", 1), "rescreen", "false"),
    (("health", "child.screened", 1), "age_band_months", 12),
    (("social", "centre.registered", 1), "capacity", True),
    (("social", "centre.registered", 1), "name", ""),
    (("social", "centre.assessed", 1), "standard_score", 101),
    (("social", "household.risk_assessed", 1), "factors", "poverty"),
    (("education", "child.readiness_assessed", 1), "scores", {}),
    (("education", "child.readiness_assessed", 1), "scores", []),
    (("medical", "child.diagnosed", 1), "icd10", "U07.1"),
    (("medical", "child.diagnosed", 1), "icd10", "F84.0\n"),
    (("medical", "child.therapy_planned", 1), "starts_on", "2024-13-01"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_wrong_payload_value(key, field, value, make_event):
    event = make_event(key)
    event["payload"][field] = value
    assert set(errors_of(event, key[0])) == {f"payload.{field}"}


def test_whole_numbers_are_fine_for_float_fields(make_event):
    event = make_event(("health", "child.growth_measured", 1))
    event["payload"].update(weight_kg=12, height_cm=88)
    assert validate_event(event, "health")["payload"]["weight_kg"] == 12


def test_wrong_item_in_a_list_names_its_index(make_event):
    event = make_event(("social", "household.risk_assessed", 1))
    event["payload"]["factors"] = ["poverty", "aliens"]
    assert set(errors_of(event, "social")) == {"payload.factors.1"}


def test_wrong_dict_key_and_value_are_named(make_event):
    event = make_event(("health", "child.screened", 1))
    event["payload"]["domains"]["gross_motor"] = "fine"
    event["payload"]["domains"]["walking"] = "normal"
    assert set(errors_of(event, "health")) == {"payload.domains.gross_motor.value", "payload.domains.walking.key"}


def test_dspm_needs_all_five_domains(make_event):
    event = make_event(("health", "child.screened", 1))
    del event["payload"]["domains"]["personal_social"]
    assert errors_of(event, "health") == {"payload.domains": ["must give all five DSPM domains"]}


@pytest.mark.parametrize("change, path", [
    ({"days_expected": 10, "days_present": 12}, "payload.days_present"),
    ({"period_end": "2024-05-01"}, "payload.period_end"),
])
def test_attendance_cross_field_checks(change, path, make_event):
    event = make_event(("social", "child.attendance_recorded", 1))
    event["payload"].update(change)
    assert set(errors_of(event, "social")) == {path}


def test_unknown_fields_are_rejected(make_event):
    event = make_event(("health", "child.immunised", 1))
    event["colour"] = "blue"
    event["payload"]["site"] = "left thigh"
    event["subject"]["child"]["nickname"] = "Nong"
    assert set(errors_of(event, "health")) == {"colour", "payload.site", "subject.child.nickname"}


@pytest.mark.parametrize("raw", [None, [], "event", 42])
def test_not_an_object(raw):
    assert errors_of(raw, "health") == {"_schema": ["an event must be a JSON object"]}


def test_payload_not_an_object(make_event):
    event = make_event(("health", "child.immunised", 1))
    event["payload"] = ["MMR", 1]
    assert set(errors_of(event, "health")) == {"payload"}


# -- types, versions, departments ----------------------------------------------------------------


def test_unknown_type(make_event):
    event = make_event(("health", "child.immunised", 1))
    event["type"] = "child.teleported"
    errors = errors_of(event, "health")
    assert set(errors) == {"type"}
    assert "unknown event type 'child.teleported'" in errors["type"][0]
    assert "child.screened" in errors["type"][0]  # tells the sender what it may send


def test_malformed_type(make_event):
    event = make_event(("health", "child.immunised", 1))
    event["type"] = "Child-Immunised"
    assert set(errors_of(event, "health")) == {"type"}


def test_unknown_version(make_event):
    event = make_event(("health", "child.immunised", 1))
    event["version"] = 2
    errors = errors_of(event, "health")
    assert set(errors) == {"version"}
    assert "known versions: [1]" in errors["version"][0]


def test_version_zero(make_event):
    event = make_event(("health", "child.immunised", 1))
    event["version"] = 0
    assert "version" in errors_of(event, "health")


def test_another_departments_type(make_event):
    event = make_event(("medical", "child.diagnosed", 1))
    event["source"]["department"] = "health"
    errors = errors_of(event, "health")
    assert set(errors) == {"type"}
    assert "medical event" in errors["type"][0]


def test_shared_type_name_checks_the_senders_schema(make_event):
    # child.enrolled exists for social and education with different payloads
    event = make_event(("social", "child.enrolled", 1))
    event["source"]["department"] = "education"
    assert set(errors_of(event, "education")) == {"payload.school_id", "payload.class_level", "payload.centre_id"}


def test_wrong_source_department(make_event):
    event = make_event(("health", "child.immunised", 1))
    event["source"]["department"] = "education"
    errors = errors_of(event, "health")
    assert set(errors) == {"source.department"}
    assert "health department's endpoint" in errors["source.department"][0]


def test_unknown_source_department(make_event):
    event = make_event(("health", "child.immunised", 1))
    event["source"]["department"] = "police"
    assert set(errors_of(event, "health")) == {"source.department"}


# -- dates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path, value", [
    ("occurred_at", "2567-06-15T09:30:00+07:00"),
    ("recorded_at", "2569-01-02T10:00:00+07:00"),
    ("subject.child.birth_date", "2564-03-04"),
])
def test_buddhist_era_year(path, value, make_event):
    event = make_event(("health", "child.immunised", 1))
    *parents, last = path.split(".")
    holder = event
    for part in parents:
        holder = holder[part]
    holder[last] = value
    errors = errors_of(event, "health")
    assert set(errors) == {path}
    assert "Buddhist-era" in errors[path][0]
    assert str(int(value[:4]) - 543) in errors[path][0]


def test_buddhist_era_year_in_payload(make_event):
    event = make_event(("health", "child.visit_missed", 1))
    event["payload"]["due_on"] = "2569-01-15"
    errors = errors_of(event, "health")
    assert set(errors) == {"payload.due_on"}
    assert "Buddhist-era" in errors["payload.due_on"][0]


def test_future_instant(make_event):
    event = make_event(("health", "child.immunised", 1))
    event["occurred_at"] = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    assert errors_of(event, "health") == {"occurred_at": ["must not be in the future"]}


def test_small_clock_skew_is_allowed(make_event):
    event = make_event(("health", "child.immunised", 1))
    event["recorded_at"] = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)).isoformat()
    validate_event(event, "health")


def test_future_date(make_event):
    event = make_event(("health", "child.immunised", 1))
    event["subject"]["child"]["birth_date"] = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    assert errors_of(event, "health") == {"subject.child.birth_date": ["must not be in the future"]}


def test_date_before_2000(make_event):
    event = make_event(("health", "child.immunised", 1))
    event["subject"]["child"]["birth_date"] = "1999-12-31"
    assert errors_of(event, "health") == {"subject.child.birth_date": ["must not be before 2000-01-01"]}


# -- subjects and retractions --------------------------------------------------------------------


def test_child_type_about_a_centre(make_event):
    event = make_event(("health", "child.immunised", 1), subject_kind="centre")
    errors = errors_of(event, "health")
    assert set(errors) == {"subject"}
    assert "subject.child" in errors["subject"][0]


def test_centre_type_about_a_child(make_event):
    event = make_event(("social", "centre.assessed", 1), subject_kind="child")
    errors = errors_of(event, "social")
    assert set(errors) == {"subject"}
    assert "subject.centre" in errors["subject"][0]


def test_subject_with_both_child_and_centre(make_event):
    event = make_event(("social", "child.enrolled", 1))
    event["subject"]["centre"] = make_event(("social", "centre.assessed", 1))["subject"]["centre"]
    assert errors_of(event, "social") == {"subject": ["give exactly one of 'child' or 'centre'"]}


def test_empty_subject(make_event):
    event = make_event(("social", "child.enrolled", 1))
    event["subject"] = {}
    assert set(errors_of(event, "social")) == {"subject"}


def test_health_retraction_is_about_a_child(make_event):
    event = make_event(("health", "event.retracted", 1), subject_kind="centre")
    assert set(errors_of(event, "health")) == {"subject"}


def test_retraction_without_supersedes(make_event):
    event = make_event(("health", "event.retracted", 1))
    del event["supersedes"]
    assert errors_of(event, "health") == {"supersedes": ["a retraction must name the event it retracts"]}


def test_event_cannot_supersede_itself(make_event):
    event = make_event(("health", "child.immunised", 1))
    event["supersedes"] = event["event_id"]
    assert errors_of(event, "health") == {"supersedes": ["an event cannot supersede itself"]}


def test_correction_may_supersede_another_event(make_event):
    event = make_event(("health", "child.immunised", 1))
    event["supersedes"] = str(uuid.uuid4())
    assert validate_event(event, "health")["supersedes"] == event["supersedes"]


# -- the error itself ----------------------------------------------------------------------------


def test_contract_error_collects_every_problem_with_dotted_paths(make_event):
    event = make_event(("health", "child.screened", 1))
    del event["event_id"]
    event["subject"]["child"]["guardian"]["national_id"] = "1234567890122"
    event["payload"]["age_band_months"] = "18"
    event["source"]["department"] = "medical"
    with pytest.raises(ContractError) as caught:
        validate_event(event, "health")
    error = caught.value
    assert set(error.errors) == {
        "event_id", "subject.child.guardian.national_id", "payload.age_band_months", "source.department",
    }
    assert all(isinstance(msgs, list) and msgs for msgs in error.errors.values())
    assert isinstance(error, ValueError)
    assert "subject.child.guardian.national_id: not a valid Thai national ID" in str(error)


# -- consent -------------------------------------------------------------------------------------


@pytest.mark.parametrize("department", ["social", "education", "health", "medical"])
def test_every_ingest_department_records_consent(department, make_event):
    event = make_event((department, "consent.recorded", 1))
    event["payload"] = {"decision": "refused", "scope": "share_outside_department"}
    assert validate_event(event, department)["payload"] == event["payload"]


@pytest.mark.parametrize("field, value", [
    ("decision", "maybe"), ("decision", None), ("scope", "share_with_everyone"), ("note", ""),
])
def test_consent_refuses_a_wrong_value(field, value, make_event):
    event = make_event(("health", "consent.recorded", 1))
    event["payload"][field] = value
    assert set(errors_of(event, "health")) == {f"payload.{field}"}


@pytest.mark.parametrize("field", ["decision", "scope"])
def test_consent_needs_decision_and_scope(field, make_event):
    event = make_event(("health", "consent.recorded", 1))
    del event["payload"][field]
    assert set(errors_of(event, "health")) == {f"payload.{field}"}


# The lone-surrogate check first encodes the whole event once; only when that fails does it walk to
# name the fields. The answers must be the walk's on every shape, surrogate or not.
SURROGATE_CASES = [
    {"a": "fine", "b": ["é", {"c": "😀"}]},
    {"a": "x\ud800"},
    {"\udfffkey": "v"},
    {"\udfffkey": "v\ud800"},
    {"a": [1, ["deep", {"b": "\ud83d"}]], "c": "\ude00"},
    {1: "int key", "a": "\ud800"},  # a key not text: the walk decides
    {1: "int key"},
    {"a": ("tuple \ud800",)},  # tuples were never walked: still not refused
    {"a": 2**70, "b": "big int beside \ud800"},
    {"a": None, "b": True, "c": 1.5, "d": "\ud800"},
    {"a": type("Text", (str,), {})("a subclass \ud800")},
]


@pytest.mark.parametrize("value", SURROGATE_CASES, ids=repr)
def test_the_one_encode_answers_as_the_walk(value, monkeypatch):
    fast = validation.lone_surrogates(value)
    monkeypatch.setattr(validation, "_surely_valid_unicode", lambda _value: False)
    assert fast == validation.lone_surrogates(value)
