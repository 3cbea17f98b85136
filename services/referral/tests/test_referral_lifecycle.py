"""The referral state machine: every transition allowed and refused, the fields each needs, FHIR Task status
and the Thai e-Refer code beside each status, and the history each transition leaves."""

import copy
import datetime as dt

import pytest
from childlink_referral.lifecycle import (
    ACTIONS,
    CLOSED,
    EREFER,
    FHIR,
    OPEN,
    STAFF_ACTIONS,
    STATUSES,
    Refusal,
    allowed_actions,
    new_referral,
    transition,
)
from childlink_referral.times import bangkok_date, iso, utc_now

NOW = utc_now()
TODAY = bangkok_date(NOW)
HOSPITAL = {"user_id": "u-hosp", "role": "hospital_staff", "facility": "HOSP-1008"}
FIELDS = {
    "accept": {}, "start": {}, "expire": {},
    "reject": {"reason": "no paediatric developmental clinic this quarter"},
    "schedule": {"scheduled_for": (TODAY + dt.timedelta(days=3)).isoformat()},
    "complete": {"outcome": "treated", "notes": "TEDA4I stimulation, 6 sessions"},
    "cancel": {"reason": "family moved to Chiang Mai"},
    "mark_entered_in_error": {"reason": "raised for the wrong child"},
    "withdraw": {"reason": "source screening retracted"},
    "attach_evidence": {"evidence": {"code": "later_evidence", "rule": "dspm_delayed", "event_ids": ["e-2"]}},
    "record_outcome": {"outcome": "no_problem_found"},
}
# (action, from status) -> to status: the whole machine, written out
ALLOWED = {
    ("accept", "requested"): "accepted",
    ("reject", "requested"): "rejected",
    ("schedule", "accepted"): "scheduled",
    ("schedule", "scheduled"): "scheduled",
    ("start", "accepted"): "in_progress",
    ("start", "scheduled"): "in_progress",
    ("complete", "accepted"): "completed",
    ("complete", "scheduled"): "completed",
    ("complete", "in_progress"): "completed",
    **{("cancel", s): "cancelled" for s in OPEN},
    ("withdraw", "requested"): "cancelled",  # the rules withdraw only what nobody acted on
    **{("attach_evidence", s): s for s in OPEN},  # evidence changes no status
    **{("expire", s): "expired" for s in OPEN},
    **{("record_outcome", s): "completed" for s in OPEN},
    **{("mark_entered_in_error", s): "entered_in_error" for s in STATUSES if s != "entered_in_error"},
}


def referral(status="requested", due_in_days=30):
    made = new_referral(
        referral_id="r-1", child_id="c-1", rule="dspm_delayed", reason="dspm_delayed", rule_key="dspm_delayed|e-1",
        from_={"department": "health", "facility": "HC-1001-01", "district": "1001"},
        to={"department": "medical", "facility": "HOSP-1008", "district": "1008", "service": "developmental_clinic"},
        district="1001", note="delayed: fine_motor", source_event_ids=["e-1"],
        due_by=NOW + dt.timedelta(days=due_in_days), now=NOW, by={"user_id": "system", "role": "rules"})
    if status != "requested":
        made["status"] = status  # as if it got there
    return made


CASES = [(action, status) for action in ACTIONS for status in STATUSES]


@pytest.mark.parametrize("action, status", CASES, ids=[f"{a}-from-{s}" for a, s in CASES])
def test_every_action_from_every_status(action, status):
    before = referral(status)
    snapshot = copy.deepcopy(before)
    if (action, status) in ALLOWED:
        after = transition(before, action, HOSPITAL, FIELDS[action], NOW)
        assert after["status"] == ALLOWED[(action, status)]
        assert after["version"] == before["version"] + 1
        item = after["history"][-1]
        assert (item["action"], item["from"], item["to"], item["by"]) == (action, status, after["status"], HOSPITAL)
        assert item["at"] == iso(NOW) and item["version"] == after["version"]
    else:
        with pytest.raises(Refusal) as refused:
            transition(before, action, HOSPITAL, FIELDS[action], NOW)
        assert refused.value.code == "not_allowed"
        assert status in refused.value.message and action in refused.value.message
    assert before == snapshot  # never changed in place


def test_closed_statuses_allow_nothing_but_entered_in_error():
    for status in CLOSED:
        possible = [a for a in ACTIONS if (a, status) in ALLOWED]
        assert possible == ([] if status == "entered_in_error" else ["mark_entered_in_error"])


def test_a_new_referral_is_requested_at_version_1_raised_by_the_rules():
    made = referral()
    assert (made["status"], made["version"], made["fhir_status"], made["erefer_code"]) == (
        "requested", 1, "requested", "P")
    assert made["history"] == [{"version": 1, "event_id": made["history"][0]["event_id"], "at": iso(NOW),
                                "by": {"user_id": "system", "role": "rules"}, "action": "raise", "from": None,
                                "to": "requested", "note": "delayed: fine_motor", "details": {}}]


@pytest.mark.parametrize("status", STATUSES)
def test_fhir_status_and_erefer_code_beside_every_status(status):
    path = {"requested": [], "accepted": ["accept"], "rejected": ["reject"], "scheduled": ["accept", "schedule"],
            "in_progress": ["accept", "start"], "completed": ["accept", "complete"], "cancelled": ["cancel"],
            "expired": ["expire"], "entered_in_error": ["mark_entered_in_error"]}[status]
    current = referral()
    for action in path:
        current = transition(current, action, HOSPITAL, FIELDS[action], NOW)
    assert current["status"] == status
    assert (current["fhir_status"], current["fhir_business_status"]) == FHIR[status]
    assert current["erefer_code"] == EREFER[status]


def test_the_fhir_and_erefer_tables_match_the_documented_ones():
    assert {s: FHIR[s][0] for s in STATUSES} == {
        "requested": "requested", "accepted": "accepted", "rejected": "rejected", "scheduled": "accepted",
        "in_progress": "in-progress", "completed": "completed", "cancelled": "cancelled", "expired": "failed",
        "entered_in_error": "entered-in-error"}
    assert EREFER == {"requested": "P", "accepted": "A", "rejected": "R", "scheduled": "A", "in_progress": "A",
                      "completed": "F", "cancelled": "C", "expired": "E", "entered_in_error": "C"}


def test_a_moved_appointment_is_erefer_v_and_keeps_both_dates_in_history():
    current = transition(referral(), "accept", HOSPITAL, {}, NOW)
    current = transition(current, "schedule", HOSPITAL, FIELDS["schedule"], NOW)
    moved = (TODAY + dt.timedelta(days=5)).isoformat()
    current = transition(current, "schedule", HOSPITAL, {"scheduled_for": moved}, NOW)
    assert (current["scheduled_for"], current["erefer_code"]) == (moved, "V")
    assert [h["details"].get("scheduled_for") for h in current["history"]] == [None, None, FIELDS["schedule"][
        "scheduled_for"], moved]


def test_an_appointment_after_the_deadline_moves_the_deadline_to_a_week_after_it():
    current = transition(referral(due_in_days=10), "accept", HOSPITAL, {}, NOW)
    late = (TODAY + dt.timedelta(days=20)).isoformat()
    after = transition(current, "schedule", HOSPITAL, {"scheduled_for": late}, NOW)
    assert after["due_by"].startswith((TODAY + dt.timedelta(days=26)).isoformat())  # 00:00 Bangkok = 17:00Z the day before
    assert after["history"][-1]["details"]["due_by"] == after["due_by"]
    early = transition(current, "schedule", HOSPITAL, FIELDS["schedule"], NOW)
    assert early["due_by"] == current["due_by"]


def test_completion_keeps_the_outcome_for_the_referrer():
    current = transition(referral(), "accept", HOSPITAL, {}, NOW)
    done = transition(current, "complete", HOSPITAL, FIELDS["complete"], NOW)
    assert (done["outcome"], done["outcome_notes"]) == ("treated", "TEDA4I stimulation, 6 sessions")
    assert done["history"][-1]["details"] == {"outcome": "treated"}


@pytest.mark.parametrize("action, field", [("reject", "reason"), ("cancel", "reason"),
                                           ("mark_entered_in_error", "reason"), ("schedule", "scheduled_for"),
                                           ("complete", "outcome")])
@pytest.mark.parametrize("value", [None, "", "   "])
def test_a_missing_field_is_refused_naming_it(action, field, value):
    start = {"schedule": "accepted", "complete": "in_progress"}.get(action, "requested")
    with pytest.raises(Refusal) as refused:
        transition(referral(start), action, HOSPITAL, {field: value} if value is not None else {}, NOW)
    assert (refused.value.code, refused.value.field) == ("invalid", f"fields.{field}")
    assert "required" in refused.value.message


@pytest.mark.parametrize("value, words", [
    ("01/04/2026", "ISO date"), ("2026-13-01", "ISO date"), (20260401, "ISO date"),
    ((TODAY - dt.timedelta(days=1)).isoformat(), "in the past"),
    ((TODAY + dt.timedelta(days=400)).isoformat(), "more than a year"),
])
def test_a_bad_appointment_date_is_refused(value, words):
    with pytest.raises(Refusal) as refused:
        transition(referral("accepted"), "schedule", HOSPITAL, {"scheduled_for": value}, NOW)
    assert refused.value.field == "fields.scheduled_for" and words in refused.value.message


def test_an_outcome_must_be_a_medical_outcome():
    with pytest.raises(Refusal) as refused:
        transition(referral("in_progress"), "complete", HOSPITAL, {"outcome": "cured"}, NOW)
    assert refused.value.field == "fields.outcome" and "treated" in refused.value.message


def test_text_fields_have_a_limit_and_fields_must_be_an_object():
    with pytest.raises(Refusal) as refused:
        transition(referral(), "cancel", HOSPITAL, {"reason": "x" * 501}, NOW)
    assert refused.value.field == "fields.reason"
    with pytest.raises(Refusal) as refused:
        transition(referral(), "cancel", HOSPITAL, ["reason"], NOW)
    assert refused.value.field == "fields"


def test_an_unknown_action_is_invalid():
    with pytest.raises(Refusal) as refused:
        transition(referral(), "approve", HOSPITAL, {}, NOW)
    assert (refused.value.code, refused.value.field) == ("invalid", "action")


def test_each_history_item_has_its_own_stable_event_id():
    current = referral()
    current = transition(current, "accept", HOSPITAL, {}, NOW)
    current = transition(current, "start", HOSPITAL, {}, NOW)
    event_ids = [h["event_id"] for h in current["history"]]
    assert len(set(event_ids)) == 3
    again = transition(transition(referral(), "accept", HOSPITAL, {}, NOW), "start", HOSPITAL, {}, NOW)
    assert [h["event_id"] for h in again["history"]] == event_ids  # same referral, same versions, same ids


@pytest.mark.parametrize("status, sides, expected", [
    ("requested", {"receiver"}, ["accept", "reject", "mark_entered_in_error"]),
    ("requested", {"requester"}, ["cancel", "mark_entered_in_error"]),
    ("requested", {"requester", "receiver"}, ["accept", "reject", "cancel", "mark_entered_in_error"]),
    ("requested", set(), []),
    ("accepted", {"receiver"}, ["schedule", "start", "complete", "mark_entered_in_error"]),
    ("scheduled", {"receiver"}, ["schedule", "start", "complete", "mark_entered_in_error"]),
    ("in_progress", {"receiver"}, ["complete", "mark_entered_in_error"]),
    ("in_progress", {"requester"}, ["cancel", "mark_entered_in_error"]),
    ("completed", {"receiver", "requester"}, ["mark_entered_in_error"]),
    ("entered_in_error", {"receiver", "requester"}, []),
])
def test_allowed_actions_by_side_and_status(status, sides, expected):
    assert allowed_actions(referral(status), sides) == expected
    assert set(expected) <= set(STAFF_ACTIONS)


def test_attached_evidence_is_kept_on_the_referral_and_its_history():
    after = transition(referral("accepted"), "attach_evidence", {"user_id": "system", "role": "rules"},
                       FIELDS["attach_evidence"], NOW)
    assert after["status"] == "accepted" and after["erefer_code"] == "A"
    assert after["evidence"] == [{**FIELDS["attach_evidence"]["evidence"], "at": iso(NOW)}]
    assert after["history"][-1]["details"]["evidence"]["event_ids"] == ["e-2"]


def test_acted_on_means_any_status_past_requested_or_any_staff_action():
    from childlink_referral.lifecycle import acted_on
    assert not acted_on(referral("requested"))
    assert acted_on(referral("accepted")) and acted_on(referral("scheduled")) and acted_on(referral("in_progress"))
