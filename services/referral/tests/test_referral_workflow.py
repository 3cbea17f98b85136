"""The referral workflow on the real SQLite adapter: rules reconciled after each timeline change, withdrawal
by correction, outcomes from the hospital, expiry, reviews, publishing through the outbox, and every staff
action allowed or refused by role, state, field and version."""

import concurrent.futures
import datetime as dt

import pytest
from childlink_common.testing.events import child, event
from childlink_referral.testing import (
    CENTRE,
    DEPARTMENT_STAFF,
    DISTRICT_OFFICER,
    HC,
    HOSPITAL,
    OPERATOR,
    OTHER_HC,
    SCHOOL,
    SOCIAL_WORKER,
    World,
    consent,
    correction,
    immunised,
    measured,
    retraction,
    screening,
)
from childlink_referral.times import bangkok_date, iso

DELAYED = {"fine_motor": "delayed"}
NORMAL = {d: "normal" for d in ("gross_motor", "fine_motor", "receptive_language", "expressive_language",
                                "personal_social")}


def delayed_referral(world, **kw):
    screened = screening(DELAYED, **kw)
    child_id = world.send(screened)
    return child_id, screened, world.one(child_id, "dspm_delayed")


def state(world, referral):
    return world.store.get_referral(referral["referral_id"])


# --- rules -> referrals --------------------------------------------------------------------------


def test_a_delayed_screening_raises_one_referral_and_publishes_it(world):
    child_id, screened, referral = delayed_referral(world)
    assert (referral["status"], referral["version"], referral["source_event_ids"]) == (
        "requested", 1, [screened["event_id"]])
    assert referral["district"] == "1001"
    published = [e for e in world.outbox.events.values() if e["payload"]["referral_id"] == referral["referral_id"]]
    assert [e["type"] for e in published] == ["referral.requested"]
    assert published[0]["subject"] == {"child_id": child_id}
    assert published[0]["source"]["department"] == "referral"
    assert world.store.referrals_not_outboxed(10) == []


def test_evaluating_the_same_state_again_raises_nothing(world):
    child_id, screened, referral = delayed_referral(world)
    before = len(world.outbox.events)
    for _ in range(3):
        changes = world.referrals.reconcile_child(child_id)
        assert not (changes.raised or changes.withdrawn or changes.completed)
    world.send(screened)  # the broker delivers the same event again
    assert world.referrals_of(child_id, "dspm_delayed") == [referral]
    assert len(world.outbox.events) == before


def test_a_closed_referral_is_not_raised_again_for_the_same_source(world):
    child_id, _, referral = delayed_referral(world)
    world.referrals.act(HOSPITAL, referral["referral_id"], "reject", {"reason": "seen privately"}, 1)
    world.referrals.reconcile_child(child_id)
    assert [r["status"] for r in world.referrals_of(child_id, "dspm_delayed")] == ["rejected"]


def test_a_later_delayed_screening_raises_a_new_referral(world):
    kid = child(birth_date=(bangkok_date(world.clock.now) - dt.timedelta(days=600)).isoformat())
    child_id, _, first = delayed_referral(world, occurred_days_ago=300, subject=kid)  # 9-month band
    world.send(screening({"gross_motor": "delayed"}, occurred_days_ago=20, subject=kid))  # 18-month band
    statuses = sorted((r["source_event_ids"][0] != first["source_event_ids"][0], r["status"])
                      for r in world.referrals_of(child_id, "dspm_delayed"))
    assert statuses == [(False, "cancelled"), (True, "requested")]  # the 9-month one no longer applies


def test_a_retracted_screening_cancels_its_referral_with_the_reason(world):
    _, screened, referral = delayed_referral(world)
    retracted = retraction(screened, reason="screened the wrong child")
    world.send(retracted)
    after = state(world, referral)
    assert after["status"] == "cancelled"
    assert "retracted" in after["cancel_reason"] and "screened the wrong child" in after["cancel_reason"]
    assert after["cancel_details"] == {"code": "source_retracted", "rule": "dspm_delayed",
                                       "source_event_id": screened["event_id"], "source_type": "child.screened",
                                       "event_ids": [retracted["event_id"]],
                                       "retraction_reason": "screened the wrong child"}
    assert after["history"][-1]["action"] == "withdraw"
    assert after["history"][-1]["by"] == {"user_id": "system", "role": "rules"}
    assert "referral.cancelled" in world.outbox.types()


def test_a_screening_corrected_to_normal_cancels_and_one_still_delayed_keeps_the_referral(world):
    _, screened, referral = delayed_referral(world, occurred_days_ago=3)
    band = screened["payload"]["age_band_months"]
    still = correction(screened, {"age_band_months": band, "domains": {**NORMAL, "gross_motor": "delayed"}},
                       occurred_days_ago=3)
    world.send(still)
    assert state(world, referral)["status"] == "requested"
    fixed = correction(still, {"age_band_months": band, "domains": NORMAL}, occurred_days_ago=3)
    world.send(fixed)
    after = state(world, referral)
    assert after["status"] == "cancelled" and "corrected by" in after["cancel_reason"]


def test_a_correction_arriving_before_what_it_corrects_raises_nothing(world):
    screened = screening(DELAYED, occurred_days_ago=3)
    fixed = correction(screened, {"age_band_months": screened["payload"]["age_band_months"], "domains": NORMAL},
                       occurred_days_ago=3)
    child_id = world.send(fixed, screened)
    assert world.referrals_of(child_id, "dspm_delayed") == []


def test_consent_refused_withdraws_and_granted_raises_again(world, monkeypatch):
    born = (bangkok_date(world.clock.now) - dt.timedelta(days=365)).isoformat()
    kid = child(birth_date=born)
    severe = event("health", "child.growth_measured", subject=kid, payload={"weight_kg": 5.9, "height_cm": 74.0})
    child_id = world.send(severe)
    support = world.one(child_id, "household_support")
    world.send(consent("health", "refused", subject=kid, occurred_days_ago=5))
    withdrawn = state(world, support)
    assert withdrawn["status"] == "cancelled" and "consent" in withdrawn["cancel_reason"]
    assert world.one(child_id, "nutrition_follow_up")["status"] == "requested"  # health -> health goes on
    world.send(consent("health", "granted", subject=kid, occurred_days_ago=2))
    again = [r for r in world.referrals_of(child_id, "household_support") if r["status"] == "requested"]
    assert len(again) == 1 and again[0]["referral_id"] != support["referral_id"]


def test_a_time_based_rule_is_reviewed_when_it_falls_due(world):
    screened = screening({"receptive_language": "suspected_delay"}, occurred_days_ago=25)
    child_id = world.send(screened)
    task = world.one(child_id, "dspm_suspected_delay")
    assert world.referrals_of(child_id, "dspm_rescreen_overdue") == []
    assert world.referrals.run_due_reviews() == 0
    world.clock.advance(days=6)
    assert world.referrals.expire_overdue() == [task["referral_id"]]
    assert world.referrals.run_due_reviews() == 1
    trace = world.one(child_id, "dspm_trace_rescreen")  # the health centre traces the child first
    assert trace["to"] == {"department": "health", "facility": "HC-1001-01", "district": "1001",
                           "service": "dspm_trace"}
    assert world.referrals_of(child_id, "dspm_rescreen_overdue") == []
    assert state(world, task)["status"] == "expired"
    assert world.store.due_reviews(iso(world.clock.now), 10) == []  # the review moved on
    world.clock.advance(days=14)
    world.referrals.housekeeping()
    assert world.one(child_id, "dspm_rescreen_overdue")["to"]["facility"] == "HOSP-1008"  # escalated
    assert state(world, trace)["status"] == "expired"


def test_a_rescreen_in_time_cancels_the_task_as_done(world):
    child_id = world.send(screening({"receptive_language": "suspected_delay"}, occurred_days_ago=25))
    task = world.one(child_id, "dspm_suspected_delay")
    world.send(screening(rescreen=True, occurred_days_ago=2))
    assert state(world, task)["status"] == "cancelled"
    assert state(world, task)["cancel_details"]["code"] == "rescreen_passed"


def test_an_accepted_hospital_referral_is_not_cancelled_by_a_later_normal_screening(world):
    child_id, _, referral = delayed_referral(world, occurred_days_ago=20)
    world.referrals.act(HOSPITAL, referral["referral_id"], "accept", {}, 1)
    normal = screening(occurred_days_ago=2)
    world.send(normal)
    after = state(world, referral)
    assert after["status"] == "accepted"  # was: cancelled by the rules
    assert [e["event_ids"] for e in after["evidence"]] == [[normal["event_id"]]]
    assert after["history"][-1]["action"] == "attach_evidence"
    assert "referral.evidence_attached" in world.outbox.types()  # no second "referral.accepted"
    assert world.outbox.types().count("referral.accepted") == 1
    shown = world.referrals.act(HOSPITAL, referral["referral_id"], "complete", {"outcome": "no_problem_found"},
                                after["version"])
    assert shown["ok"] and shown["referral"]["evidence"] == after["evidence"]  # the receiver sees it, closes it
    world.referrals.reconcile_child(child_id)
    assert len(state(world, referral)["evidence"]) == 1  # attached once


def test_a_retraction_of_the_source_of_an_accepted_referral_is_attached_not_withdrawn(world):
    _, screened, referral = delayed_referral(world)
    world.referrals.act(HOSPITAL, referral["referral_id"], "accept", {}, 1)
    world.send(retraction(screened, reason="screened the wrong child"))
    after = state(world, referral)
    assert after["status"] == "accepted"
    assert after["evidence"][0]["code"] == "source_retracted"


def test_one_better_weight_does_not_withdraw_an_accepted_household_support_referral(world):
    kid = child(birth_date=(bangkok_date(world.clock.now) - dt.timedelta(days=365)).isoformat())
    child_id = world.send(measured(5.9, 74.0, subject=kid, occurred_days_ago=40))
    support = world.one(child_id, "household_support")
    world.referrals.act({**SOCIAL_WORKER, "district": "1001"}, support["referral_id"], "accept", {}, 1)
    better = measured(8.9, 74.0, subject=kid, occurred_days_ago=20)
    world.send(better)
    after = state(world, support)
    assert after["status"] == "accepted" and after["evidence"][0]["event_ids"] == [better["event_id"]]
    again = measured(9.0, 74.5, subject=kid, occurred_days_ago=5)
    world.send(again)
    after = state(world, support)
    assert after["status"] == "accepted"  # recovered, but someone acts on it: they close it
    assert after["evidence"][-1]["code"] == "recovered"
    assert after["evidence"][-1]["event_ids"] == [better["event_id"], again["event_id"]]


def test_a_nutrition_referral_nobody_acted_on_is_withdrawn_only_after_two_better_measurements(world):
    kid = child(birth_date=(bangkok_date(world.clock.now) - dt.timedelta(days=365)).isoformat())
    child_id = world.send(measured(5.9, 74.0, subject=kid, occurred_days_ago=40))
    follow_up = world.one(child_id, "nutrition_follow_up")
    world.send(measured(8.9, 74.0, subject=kid, occurred_days_ago=20))
    assert state(world, follow_up)["status"] == "requested"  # was: withdrawn by one better weight
    world.send(measured(9.0, 74.5, subject=kid, occurred_days_ago=5))
    after = state(world, follow_up)
    assert after["status"] == "cancelled" and after["cancel_details"]["code"] == "recovered"


# --- outcomes from the hospital ------------------------------------------------------------------


def outcome_event(referral, outcome="treated", **kw):
    return event("medical", "referral.outcome_recorded", subject=child(local_id="HN-H1"),
                 payload={"referral_id": referral["referral_id"], "outcome": outcome, "notes": "6 sessions"}, **kw)


def test_a_hospital_outcome_event_completes_the_referral(world):
    _, _, referral = delayed_referral(world)
    world.referrals.act(HOSPITAL, referral["referral_id"], "accept", {}, 1)
    world.send(outcome_event(referral, occurred_days_ago=1))
    done = state(world, referral)
    assert (done["status"], done["outcome"], done["outcome_notes"]) == ("completed", "treated", "6 sessions")
    item = done["history"][-1]
    assert (item["action"], item["by"]["role"], item["by"]["facility"]) == ("record_outcome", "medical_outcome",
                                                                              "HOSP-01")
    assert "referral.completed" in world.outbox.types()
    world.send(outcome_event(referral, outcome="no_problem_found", occurred_days_ago=1))  # a second one
    assert state(world, referral)["version"] == done["version"]


def test_an_outcome_taken_before_its_referral_was_raised_completes_it_as_the_rules_raise_it(world, tmp_path):
    first = measured(12.5, 89.0, occurred_days_ago=30)
    world.send(first)
    _, screened, in_order = delayed_referral(world)
    (tmp_path / "out_of_order").mkdir()
    late = World(tmp_path / "out_of_order")  # the hospital's line read before the screening it follows
    late.send(first, outcome_event(in_order, occurred_days_ago=1))
    child_id = late.send(screened)
    done = late.store.get_referral(in_order["referral_id"])
    assert done["child_id"] == child_id
    assert ([h["action"] for h in done["history"]], done["status"], done["outcome"]) == (
        ["raise", "record_outcome"], "completed", "treated")
    assert late.outbox.types().count("referral.completed") == 1
    late.referrals.reconcile_child(child_id)  # idempotent: evaluated again, nothing changes
    assert late.store.get_referral(in_order["referral_id"])["version"] == done["version"]
    late.store.close()


def test_an_outcome_for_an_unknown_referral_changes_nothing(world):
    child_id = world.send(outcome_event({"referral_id": "r-unknown"}))
    assert all(r["status"] != "completed" for r in world.referrals_of(child_id))
    assert "referral.completed" not in world.outbox.types()


# --- expiry and publishing -----------------------------------------------------------------------


def test_an_overdue_referral_expires_and_is_published(world, monkeypatch):
    monkeypatch.setenv("REFERRAL_DEADLINES", "dspm_delayed=60")
    _, _, referral = delayed_referral(world)
    assert world.referrals.expire_overdue() == []
    world.clock.advance(seconds=61)
    assert world.referrals.housekeeping()["expired"] >= 1
    expired = state(world, referral)
    assert (expired["status"], expired["erefer_code"], expired["fhir_status"]) == ("expired", "E", "failed")
    assert expired["history"][-1]["by"] == {"user_id": "system", "role": "timer"}
    assert "referral.expired" in world.outbox.types()
    assert world.referrals.expire_overdue() == []  # once


def test_a_transition_whose_events_did_not_reach_the_outbox_is_republished(world):
    _, _, referral = delayed_referral(world)
    world.outbox.fail_next = 1
    with pytest.raises(RuntimeError):
        world.referrals.act(HOSPITAL, referral["referral_id"], "accept", {}, 1)
    assert state(world, referral)["status"] == "accepted"  # stored, not yet in the outbox
    assert "referral.accepted" not in world.outbox.types()
    assert world.referrals.housekeeping()["republished"] == 1
    assert "referral.accepted" in world.outbox.types()
    assert world.referrals.flush_unpublished() == 0


# --- staff actions -------------------------------------------------------------------------------


def test_the_hospital_accepts_schedules_and_completes_with_an_outcome(world):
    _, _, referral = delayed_referral(world)
    rid = referral["referral_id"]
    accepted = world.referrals.act(HOSPITAL, rid, "accept", {}, 1)
    assert accepted["ok"] and accepted["referral"]["allowed_actions"] == [
        "schedule", "start", "complete", "mark_entered_in_error"]
    day = (bangkok_date(world.clock.now) + dt.timedelta(days=7)).isoformat()
    assert world.referrals.act(HOSPITAL, rid, "schedule", {"scheduled_for": day}, 2)["referral"]["status"] == "scheduled"
    assert world.referrals.act(HOSPITAL, rid, "start", {}, 3)["referral"]["status"] == "in_progress"
    done = world.referrals.act(HOSPITAL, rid, "complete", {"outcome": "follow_up_needed", "notes": "speech"}, 4)
    assert done["ok"] and done["referral"]["outcome"] == "follow_up_needed"
    history = done["referral"]["history"]
    assert [(h["action"], h["by"]["user_id"]) for h in history] == [
        ("raise", "system"), ("accept", "u-hosp"), ("schedule", "u-hosp"), ("start", "u-hosp"),
        ("complete", "u-hosp")]
    assert [e["type"] for e in world.outbox.events.values() if e["payload"]["referral_id"] == rid] == [
        "referral.requested", "referral.accepted", "referral.scheduled", "referral.in_progress", "referral.completed"]


def unchanged(world, referral, call):
    """Run a refused call and prove it changed nothing; return its error."""
    before, published = state(world, referral), len(world.outbox.events)
    answer = call()
    assert answer["ok"] is False
    assert state(world, referral) == before and len(world.outbox.events) == published
    return answer["error"]


def test_the_requesting_health_centre_cancels_with_a_reason(world):
    _, _, referral = delayed_referral(world)
    error = unchanged(world, referral, lambda: world.referrals.act(HC, referral["referral_id"], "cancel", {}, 1))
    assert (error["code"], error["field"]) == ("invalid", "fields.reason")
    done = world.referrals.act(HC, referral["referral_id"], "cancel", {"reason": "family moved"}, 1)
    assert done["referral"]["status"] == "cancelled" and done["referral"]["cancel_reason"] == "family moved"


@pytest.mark.parametrize("viewer, action, code", [
    (HC, "accept", "forbidden"),  # the requester may not accept
    (HOSPITAL, "cancel", "forbidden"),  # the receiver may not cancel
    (DISTRICT_OFFICER, "accept", "forbidden"),  # read-only
    (DEPARTMENT_STAFF, "accept", "forbidden"),  # read-only
    (OPERATOR, "accept", "forbidden"),  # no child data at all
    (OTHER_HC, "cancel", "forbidden"),  # not their referral
    (CENTRE, "accept", "forbidden"),
    (SOCIAL_WORKER, "accept", "forbidden"),  # not a social referral
    ({"role": "hospital_staff", "user_id": "u"}, "accept", "invalid"),  # no facility
    ({"role": "janitor"}, "accept", "invalid"),
    ("u-hosp", "accept", "invalid"),
])
def test_actions_refused_by_role_and_side(world, viewer, action, code):
    _, _, referral = delayed_referral(world)
    fields = {"reason": "because"} if action == "cancel" else {}
    error = unchanged(world, referral, lambda: world.referrals.act(viewer, referral["referral_id"], action, fields, 1))
    assert error["code"] == code


def test_a_read_only_role_is_told_so(world):
    _, _, referral = delayed_referral(world)
    error = unchanged(world, referral, lambda: world.referrals.act(DISTRICT_OFFICER, referral["referral_id"],
                                                                   "accept", {}, 1))
    assert "read-only" in error["message"]
    error = unchanged(world, referral, lambda: world.referrals.act(HC, referral["referral_id"], "accept", {}, 1))
    assert "receiving side (HOSP-1008)" in error["message"]


def test_bad_input_gets_a_clear_error_and_changes_nothing(world):
    _, _, referral = delayed_referral(world)
    rid = referral["referral_id"]
    act = world.referrals.act
    assert unchanged(world, referral, lambda: act(HOSPITAL, "r-nope", "accept", {}, 1))["code"] == "not_found"
    assert unchanged(world, referral, lambda: act(HOSPITAL, rid, "complete", {"outcome": "treated"}, 1))[
        "code"] == "not_allowed"  # wrong state: requested
    assert unchanged(world, referral, lambda: act(HOSPITAL, rid, "approve", {}, 1))["field"] == "action"
    assert unchanged(world, referral, lambda: act(HOSPITAL, rid, "accept", {}, None))["field"] == "expected_version"
    assert unchanged(world, referral, lambda: act(HOSPITAL, rid, "accept", {}, "1"))["field"] == "expected_version"
    assert unchanged(world, referral, lambda: act(HOSPITAL, rid, "accept", {}, 7))["code"] == "conflict"
    act(HOSPITAL, rid, "accept", {}, 1)
    accepted = state(world, referral)
    assert unchanged(world, accepted, lambda: act(HOSPITAL, rid, "complete", {}, 2))["field"] == "fields.outcome"
    assert unchanged(world, accepted, lambda: act(HOSPITAL, rid, "start", {}, 1))["code"] == "conflict"  # stale
    assert unchanged(world, accepted, lambda: act(HOSPITAL, rid, "accept", {}, 2))["code"] == "not_allowed"
    assert unchanged(world, accepted, lambda: act(HOSPITAL, rid, "schedule", {"scheduled_for": "soon"}, 2))[
        "field"] == "fields.scheduled_for"


def test_of_two_staff_acting_on_one_version_one_wins_and_the_other_gets_conflict(world):
    _, _, referral = delayed_referral(world)
    rid = referral["referral_id"]
    calls = [lambda: world.referrals.act(HOSPITAL, rid, "accept", {}, 1),
             lambda: world.referrals.act(HOSPITAL, rid, "reject", {"reason": "full"}, 1)] * 3
    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda call: call(), calls))
    assert sum(a["ok"] for a in answers) == 1
    assert {a["error"]["code"] for a in answers if not a["ok"]} <= {"conflict", "not_allowed"}
    assert state(world, referral)["version"] == 2


def test_a_social_worker_receives_social_referrals_of_their_district(world):
    child_id = world.send(event("social", "household.risk_assessed", payload={"risk_level": "high", "factors": []}))
    referral = world.one(child_id, "social_follow_up")
    assert world.referrals.act(SOCIAL_WORKER, referral["referral_id"], "accept", {}, 1)["ok"]
    elsewhere = {**SOCIAL_WORKER, "district": "1002"}
    assert world.referrals.act(elsewhere, referral["referral_id"], "start", {}, 2)["error"]["code"] == "forbidden"


@pytest.mark.parametrize("enrolment, viewer", [("social", CENTRE), ("education", SCHOOL)])
def test_a_centre_or_school_receives_its_immunisation_reminders(world, enrolment, viewer):
    child_id = world.send(event(enrolment, "child.enrolled", occurred_days_ago=40), immunised("BCG", 1))
    reminder = world.one(child_id, "immunisation_overdue")
    assert reminder["to"]["facility"] == viewer["facility"]
    answer = world.referrals.act(viewer, reminder["referral_id"], "accept", {}, 1)
    assert answer["ok"] and answer["referral"]["allowed_actions"][:2] == ["schedule", "start"]
    # the health centre raised it and may cancel it; the centre may not
    assert world.referrals.act(viewer, reminder["referral_id"], "cancel", {"reason": "x"}, 2)["error"][
        "code"] == "forbidden"
    assert world.referrals.act(HC, reminder["referral_id"], "cancel", {"reason": "given abroad"}, 2)["ok"]


def test_entered_in_error_by_either_side_at_any_time(world):
    _, _, referral = delayed_referral(world)
    world.referrals.act(HOSPITAL, referral["referral_id"], "accept", {}, 1)
    world.referrals.act(HOSPITAL, referral["referral_id"], "complete", {"outcome": "treated"}, 2)
    answer = world.referrals.act(HC, referral["referral_id"], "mark_entered_in_error", {"reason": "wrong child"}, 3)
    assert answer["referral"]["status"] == "entered_in_error" and answer["referral"]["allowed_actions"] == []
