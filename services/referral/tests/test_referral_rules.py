"""Every referral rule, on the child's state built from a current timeline (plain functions, no store)."""

import datetime as dt
import random

import pytest
from childlink_common.testing.events import child, event
from childlink_contracts import ContractError
from childlink_contracts.epi_schedule import THAI_EPI
from childlink_referral.reasons import REASONS, deadline_for
from childlink_referral.rules import RULES, RULES_BY_NAME, dspm, evaluate
from childlink_referral.rules.diagnosis import in_f70_f89
from childlink_referral.rules.immunisation import schedule_for
from childlink_referral.testing import (
    consent,
    correction,
    immunised,
    measured,
    retraction,
    screening,
    state_of,
)
from childlink_referral.times import add_months, utc_now

NOW = utc_now()
INFANT = {"birth_date": (NOW.date() - dt.timedelta(days=365)).isoformat(), "sex": "female", "district_code": "1001"}


def proposals(*bodies, now=None, profile=None):
    return evaluate(state_of(*bodies, profile=profile), now or NOW).proposals


def by_rule(found):
    return {p.rule: p for p in found.values()}


def only_rules(found, *names):
    return sorted(p.rule for p in found.values() if p.rule in names or not names)


# --- the table -----------------------------------------------------------------------------------


def test_the_table_names_each_rule_once_with_a_known_reason_and_a_description():
    assert len(RULES_BY_NAME) == len(RULES)
    for rule in RULES:
        assert rule.reason in REASONS and rule.description and callable(rule.check)
    assert {r.reason for r in RULES} == set(REASONS)


def test_deadlines_per_reason_and_their_override(monkeypatch):
    assert deadline_for("dspm_delayed") == dt.timedelta(days=30)
    assert deadline_for("nutrition_follow_up") == dt.timedelta(days=14)
    monkeypatch.setenv("REFERRAL_DEADLINES", "nutrition_follow_up=2, social_follow_up=60")
    assert deadline_for("nutrition_follow_up") == dt.timedelta(seconds=2)
    assert deadline_for("social_follow_up") == dt.timedelta(minutes=1)
    assert deadline_for("dspm_delayed") == dt.timedelta(days=30)


def test_nothing_for_a_child_with_nothing_of_concern():
    assert set(by_rule(proposals(screening(), *all_doses_until(60)))) == set()
    assert proposals(event("social", "child.enrolled")) == {}


# --- DSPM ----------------------------------------------------------------------------------------


def test_a_delayed_domain_refers_to_the_hospital_of_the_childs_district():
    screened = screening({"fine_motor": "delayed", "expressive_language": "suspected_delay"})
    found = by_rule(proposals(screened))
    referral = found["dspm_delayed"]
    assert referral.reason == "dspm_delayed"
    assert referral.to == {"department": "medical", "facility": "HOSP-1008", "district": "1008",
                           "service": "developmental_clinic"}
    assert referral.from_ == {"department": "health", "facility": "HC-1001-01", "district": "1001"}
    assert referral.source_event_ids == (screened["event_id"],)
    assert referral.key == f"dspm_delayed|{screened['event_id']}"
    assert "fine_motor" in referral.note
    assert "dspm_suspected_delay" not in found  # delayed wins over suspected in the same screening


def test_the_hospital_follows_the_childs_district():
    screened = screening({"gross_motor": "delayed"})
    profile = {**INFANT, "district_code": "1018"}
    assert by_rule(proposals(screened, profile=profile))["dspm_delayed"].to["facility"] == "HOSP-1018"


def test_a_suspected_delay_gives_the_health_centre_a_rescreen_task_due_in_30_days():
    screened = screening({"receptive_language": "suspected_delay"}, occurred_days_ago=5)
    evaluation = evaluate(state_of(screened), NOW)
    found = by_rule(evaluation.proposals)
    assert set(found) - {"immunisation_overdue"} == {"dspm_suspected_delay"}
    task = found["dspm_suspected_delay"]
    assert task.to == {"department": "health", "facility": "HC-1001-01", "district": "1001",
                       "service": "dspm_rescreen"}
    occurred = dt.datetime.fromisoformat(screened["occurred_at"])
    assert task.due_by == occurred + dt.timedelta(days=30)
    assert evaluation.next_review_at <= task.due_by  # looked at again when the re-screen falls due


def test_a_missed_rescreen_is_a_trace_and_rescreen_task_for_the_health_centre_not_a_hospital_referral():
    screened = screening({"receptive_language": "suspected_delay"}, occurred_days_ago=31)
    found = by_rule(proposals(screened))
    assert "dspm_rescreen_overdue" not in found  # was: a hospital referral on day 30
    trace = found["dspm_trace_rescreen"]
    assert trace.to == {"department": "health", "facility": "HC-1001-01", "district": "1001",
                        "service": "dspm_trace"}
    occurred = dt.datetime.fromisoformat(screened["occurred_at"])
    assert trace.due_by == occurred + dt.timedelta(days=30 + 14)
    assert trace.details["kind"] == "dspm_trace_rescreen"
    assert "dspm_suspected_delay" in found  # the task stands: the timer expires it, it is not dropped


def test_still_no_rescreen_after_the_14_day_trace_grace_escalates_to_the_hospital():
    screened = screening({"receptive_language": "suspected_delay"}, occurred_days_ago=43)
    evaluation = evaluate(state_of(screened), NOW)
    assert "dspm_rescreen_overdue" not in by_rule(evaluation.proposals)
    assert evaluation.next_review_at == dt.datetime.fromisoformat(screened["occurred_at"]) + dt.timedelta(days=44)
    escalated = by_rule(proposals(screened, now=NOW + dt.timedelta(days=2)))["dspm_rescreen_overdue"]
    assert escalated.to["facility"] == "HOSP-1008" and escalated.to["service"] == "developmental_clinic"


def test_a_recorded_missed_rescreen_visit_starts_the_trace_at_once():
    screened = screening({"receptive_language": "suspected_delay"}, occurred_days_ago=20)
    missed = event("health", "child.visit_missed", occurred_days_ago=2,
                   payload={"visit_kind": "dspm_rescreen", "due_on": (NOW.date() - dt.timedelta(days=3)).isoformat()})
    found = by_rule(proposals(screened, missed))
    assert "dspm_trace_rescreen" in found and "dspm_rescreen_overdue" not in found


def test_the_trace_rule_waits_until_the_rescreen_is_due():
    screened = screening({"receptive_language": "suspected_delay"}, occurred_days_ago=29)
    assert "dspm_trace_rescreen" not in by_rule(proposals(screened))
    assert "dspm_trace_rescreen" in by_rule(proposals(screened, now=NOW + dt.timedelta(days=2)))


def test_a_normal_rescreen_closes_the_matter():
    first = screening({"personal_social": "suspected_delay"}, occurred_days_ago=40)
    again = screening(rescreen=True, occurred_days_ago=12)
    assert only_rules(proposals(first, again), *[r.name for r in RULES if r.name.startswith("dspm")]) == []


def test_a_rescreen_still_suspected_refers_to_the_hospital():
    first = screening({"personal_social": "suspected_delay"}, occurred_days_ago=40)
    again = screening({"personal_social": "suspected_delay"}, occurred_days_ago=12)  # not flagged: by timing
    found = by_rule(proposals(first, again))
    referral = found["dspm_rescreen_not_normal"]
    assert referral.source_event_ids == (first["event_id"], again["event_id"])
    assert referral.to["service"] == "developmental_clinic"
    assert not {"dspm_suspected_delay", "dspm_rescreen_overdue", "dspm_delayed"} & set(found)


def test_a_rescreen_that_finds_a_delay_is_the_rescreen_not_passed_teda4i_referral():
    first = screening({"personal_social": "suspected_delay"}, occurred_days_ago=40)
    again = screening({"personal_social": "delayed"}, rescreen=True, occurred_days_ago=12)
    assert only_rules(proposals(first, again), "dspm_delayed", "dspm_rescreen_not_normal") == [
        "dspm_rescreen_not_normal"]


def test_a_second_suspected_delay_after_the_rescreen_is_not_a_new_first_screening():
    first = screening({"personal_social": "suspected_delay"}, occurred_days_ago=70)
    again = screening({"personal_social": "suspected_delay"}, rescreen=True, occurred_days_ago=40)
    third = screening({"personal_social": "suspected_delay"}, occurred_days_ago=5)
    found = by_rule(proposals(first, again, third))
    referral = found["dspm_rescreen_not_normal"]
    assert referral.key == f"dspm_rescreen_not_normal|{first['event_id']}"  # the same referral stands
    assert referral.evidence == (third["event_id"],)  # the later screening is evidence for it
    assert not {"dspm_suspected_delay", "dspm_trace_rescreen"} & set(found)  # no new 30-day cycle


def test_a_flagged_rescreen_with_no_earlier_screening_known_is_still_a_rescreen():
    again = screening({"gross_motor": "suspected_delay"}, rescreen=True)
    assert "dspm_rescreen_not_normal" in by_rule(proposals(again))


def test_the_latest_screening_decides():
    born = (NOW.date() - dt.timedelta(days=600)).isoformat()
    kid = child(birth_date=born)
    delayed_at_9 = screening({"gross_motor": "delayed"}, occurred_days_ago=300, subject=kid)
    normal_at_18 = screening(occurred_days_ago=20, subject=kid)
    assert (delayed_at_9["payload"]["age_band_months"], normal_at_18["payload"]["age_band_months"]) == (9, 18)
    assert not any(rule.startswith("dspm") for rule in by_rule(proposals(delayed_at_9, normal_at_18)))


def test_on_track_at_the_first_screen_or_after_a_rescreen_within_30_days():
    state = state_of(screening(occurred_days_ago=10))
    [episode] = dspm.outcomes(state, NOW)
    assert episode["outcome"] == "on_track_first_screen" and episode["on_track"]
    first = screening({"fine_motor": "suspected_delay"}, occurred_days_ago=40)
    passed = screening(rescreen=True, occurred_days_ago=12)
    [episode] = dspm.outcomes(state_of(first, passed), NOW)
    assert episode["outcome"] == "on_track_after_stimulation" and episode["on_track"]
    assert episode["rescreen_event_id"] == passed["event_id"]
    late = screening(rescreen=True, occurred_days_ago=2)
    [episode] = dspm.outcomes(state_of(first, late), NOW)
    assert episode["outcome"] == "passed_late_rescreen" and not episode["on_track"]


def test_a_passed_rescreen_resolves_the_rescreen_task_with_its_reason():
    first = screening({"fine_motor": "suspected_delay"}, occurred_days_ago=40)
    passed = screening(rescreen=True, occurred_days_ago=12)
    evaluation = evaluate(state_of(first, passed), NOW)
    resolution = evaluation.resolutions[f"dspm_suspected_delay|{first['event_id']}"]
    assert (resolution.code, resolution.event_ids) == ("rescreen_passed", (passed["event_id"],))


def test_order_of_arrival_does_not_matter():
    bodies = [screening({"personal_social": "suspected_delay"}, occurred_days_ago=40),
              screening({"personal_social": "suspected_delay"}, occurred_days_ago=12),
              measured(5.9, 74.0, occurred_days_ago=10), event("social", "child.enrolled", occurred_days_ago=50)]
    expected = set(proposals(*bodies, profile=INFANT))
    for seed in range(5):
        shuffled = bodies[:]
        random.Random(seed).shuffle(shuffled)
        assert set(proposals(*shuffled, profile=INFANT)) == expected


def test_a_retracted_screening_raises_nothing():
    screened = screening({"fine_motor": "delayed"})
    assert "dspm_delayed" not in by_rule(proposals(screened, retraction(screened)))


def test_a_screening_corrected_to_normal_raises_nothing():
    screened = screening({"fine_motor": "delayed"}, occurred_days_ago=3)
    fixed = correction(screened, {"age_band_months": screened["payload"]["age_band_months"], "domains": {d: "normal" for d in (
        "gross_motor", "fine_motor", "receptive_language", "expressive_language", "personal_social")}},
        occurred_days_ago=3)
    assert "dspm_delayed" not in by_rule(proposals(screened, fixed))


def test_a_correction_that_still_finds_a_delay_keeps_the_same_key():
    screened = screening({"fine_motor": "delayed"}, occurred_days_ago=3)
    domains = {d: "normal" for d in ("gross_motor", "fine_motor", "receptive_language", "expressive_language",
                                     "personal_social")} | {"gross_motor": "delayed"}
    fixed = correction(screened, {"age_band_months": screened["payload"]["age_band_months"], "domains": domains},
                       occurred_days_ago=3)
    for order in ((screened, fixed), (fixed, screened)):  # the correction may arrive first
        referral = by_rule(proposals(*order))["dspm_delayed"]
        assert referral.key == f"dspm_delayed|{screened['event_id']}"
        assert referral.source_event_ids == (fixed["event_id"],)


# --- growth --------------------------------------------------------------------------------------


def test_growth_within_the_normal_range_raises_nothing():
    assert not {"growth_below_minus_2", "growth_below_minus_3"} & set(
        by_rule(proposals(measured(8.9, 74.0), profile=INFANT)))


def test_a_z_score_below_minus_2_is_a_nutrition_follow_up_at_the_health_centre():
    stunted = measured(7.6, 67.0)  # length-for-age about -2.6, the rest normal
    found = by_rule(proposals(stunted, profile=INFANT))
    follow_up = found["growth_below_minus_2"]
    assert follow_up.reason == "nutrition_follow_up"
    assert follow_up.to == {"department": "health", "facility": "HC-1001-01", "district": "1001",
                            "service": "nutrition_clinic"}
    assert "length/height-for-age z -2." in follow_up.note
    assert "growth_below_minus_3" not in found


def test_below_minus_3_is_also_household_support_from_the_district():
    severe = measured(5.9, 74.0)  # weight-for-age about -3.4, weight-for-length about -4.7
    found = by_rule(proposals(severe, profile=INFANT))
    assert found["growth_below_minus_2"].reason == "nutrition_follow_up"
    support = found["growth_below_minus_3"]
    assert support.reason == "household_support"
    assert support.to == {"department": "social", "facility": "DSW-1001", "district": "1001",
                          "service": "household_support"}


def test_one_better_measurement_is_not_recovery_two_consecutive_are():
    low = measured(5.9, 74.0, occurred_days_ago=40)
    better = measured(8.9, 74.0, occurred_days_ago=20)
    found = by_rule(proposals(low, better, profile=INFANT))
    assert found["growth_below_minus_2"].key == f"growth_below_minus_2|{low['event_id']}"
    assert found["growth_below_minus_2"].evidence == (better["event_id"],)
    again = measured(8.9, 74.0, occurred_days_ago=5)
    evaluation = evaluate(state_of(low, better, again, profile=INFANT), NOW)
    assert not {"growth_below_minus_2", "growth_below_minus_3"} & set(by_rule(evaluation.proposals))
    resolution = evaluation.resolutions[f"growth_below_minus_2|{low['event_id']}"]
    assert (resolution.code, resolution.event_ids) == ("recovered", (better["event_id"], again["event_id"]))


def test_one_episode_keeps_one_key_and_a_new_episode_gets_another():
    first, second = measured(5.9, 74.0, occurred_days_ago=60), measured(6.0, 74.5, occurred_days_ago=30)
    key = by_rule(proposals(first, second, profile=INFANT))["growth_below_minus_2"].key
    assert key == f"growth_below_minus_2|{first['event_id']}"
    better = measured(8.9, 74.0, occurred_days_ago=25)
    recovered, relapse = measured(8.9, 74.0, occurred_days_ago=20), measured(5.9, 74.0, occurred_days_ago=5)
    again = by_rule(proposals(first, second, better, recovered, relapse, profile=INFANT))["growth_below_minus_2"]
    assert again.key == f"growth_below_minus_2|{relapse['event_id']}"


def test_an_implausible_z_score_is_refused_and_an_age_beyond_72_months_raises_nothing():
    with pytest.raises(ContractError, match="weight-for-age z-score"):  # unless re-checked by the sender
        proposals(measured(2.0, 74.0), profile=INFANT)
    old = {**INFANT, "birth_date": (NOW.date() - dt.timedelta(days=74 * 31)).isoformat()}
    assert "growth_below_minus_2" not in by_rule(proposals(measured(9.0, 90.0), profile=old))


def test_without_sex_or_birth_date_growth_raises_nothing():
    assert "growth_below_minus_2" not in by_rule(proposals(measured(5.9, 74.0), profile={"district_code": "1001"}))


# --- immunisation --------------------------------------------------------------------------------


def all_doses_until(months):
    bodies = []
    for slot in THAI_EPI:
        if slot["due_months"] <= months:
            bodies += [immunised(vaccine, dose, occurred_days_ago=20) for vaccine, dose in slot["doses"]]
    return bodies


def test_a_child_up_to_date_gets_no_reminder():
    assert "immunisation_overdue" not in by_rule(proposals(*all_doses_until(12), profile=INFANT))


def test_an_overdue_dose_reminds_the_health_centre_when_the_child_is_not_enrolled():
    missing_mmr = [b for b in all_doses_until(12) if b["payload"]["vaccine"] != "MMR"]
    profile = {**INFANT, "birth_date": (NOW.date() - dt.timedelta(days=480)).isoformat()}  # ~15.8 months
    reminder = by_rule(proposals(*missing_mmr, profile=profile))["immunisation_overdue"]
    assert reminder.to == {"department": "health", "facility": "HC-1001-01", "district": "1001",
                           "service": "immunisation_reminder"}
    # every dose was given late (all recorded 20 days ago), so some dose has been overdue ever since the birth
    # doses fell overdue at 30 days: that is when this overdue episode began
    born = dt.date.fromisoformat(profile["birth_date"])
    assert reminder.key == f"immunisation_overdue|{(born + dt.timedelta(days=30)).isoformat()}@HC-1001-01"
    assert "MMR 1" in reminder.note and "JE" not in reminder.note


def test_one_reminder_per_overdue_episode_whatever_is_caught_up_in_it():
    profile = {**INFANT, "birth_date": (NOW.date() - dt.timedelta(days=24 * 31)).isoformat()}  # ~2 years
    nothing_since_6_months = all_doses_until(6)
    key = by_rule(proposals(*nothing_since_6_months, profile=profile))["immunisation_overdue"].key
    caught_up_mmr = [immunised("MMR", 1, occurred_days_ago=3), immunised("JE", 1, occurred_days_ago=3)]
    partly = by_rule(proposals(*nothing_since_6_months, *caught_up_mmr, profile=profile))["immunisation_overdue"]
    assert partly.key == key and "MMR 1" not in partly.note and "MMR 2" in partly.note
    rest = [immunised(v, d, occurred_days_ago=2) for v, d in (("DTwP", 4), ("OPV", 4), ("MMR", 2))]
    assert "immunisation_overdue" not in by_rule(proposals(*nothing_since_6_months, *caught_up_mmr, *rest,
                                                           profile=profile))


@pytest.mark.parametrize("enrolment, facility", [
    (lambda: event("social", "child.enrolled", occurred_days_ago=30), "CDC-1001-01"),
    (lambda: event("education", "child.enrolled", occurred_days_ago=30), "SCH-1001-01"),
])
def test_an_overdue_dose_reminds_the_childs_centre_or_school(enrolment, facility):
    reminder = by_rule(proposals(immunised("BCG", 1), enrolment()))["immunisation_overdue"]
    assert reminder.to["facility"] == facility
    assert reminder.to["service"] == "immunisation_reminder"


def test_a_dose_not_yet_overdue_is_reviewed_when_it_falls_due():
    profile = {**INFANT, "birth_date": (NOW.date() - dt.timedelta(days=250)).isoformat()}  # ~8 months
    evaluation = evaluate(state_of(*all_doses_until(6), profile=profile), NOW)
    assert "immunisation_overdue" not in by_rule(evaluation.proposals)
    born = dt.date.fromisoformat(profile["birth_date"])
    assert evaluation.next_review_at.astimezone(dt.timezone(dt.timedelta(hours=7))).date() == (
        add_months(born, 9) + dt.timedelta(days=30))  # MMR1: 9 months + 30 days


def born_days_ago(days):
    return {**INFANT, "birth_date": (NOW.date() - dt.timedelta(days=days)).isoformat()}


def test_laje_is_due_at_12_months_and_2_5_years_not_9_and_24():
    slots = {(v, d): slot["due_months"] for slot in THAI_EPI for v, d in slot["doses"]}
    assert slots[("JE", 1)] == 12 and slots[("JE", 2)] == 30 and slots[("MMR", 1)] == 9
    # a child of 13 months with everything to 9 months: JE1 is not yet overdue (12 months + 30 days)
    state = state_of(*all_doses_until(9), profile=born_days_ago(392))
    assert "immunisation_overdue" not in by_rule(evaluate(state, NOW).proposals)
    # a 27-month-old with everything to 18 months is not overdue for JE2 (was: due at 24 months)
    state = state_of(*all_doses_until(18), profile=born_days_ago(27 * 30))
    assert "immunisation_overdue" not in by_rule(evaluate(state, NOW).proposals)
    late = state_of(*all_doses_until(18), profile=born_days_ago(32 * 30 + 10))
    assert "JE 2" in by_rule(evaluate(late, NOW).proposals)["immunisation_overdue"].note


def test_a_child_complete_on_rotarix_gets_no_rotavirus_reminder():
    doses = [b for b in all_doses_until(6) if b["payload"]["vaccine"] != "ROTA"]
    rotarix = [immunised("ROTA", 1, vaccine_code="R11", occurred_days_ago=20),
               immunised("ROTA", 2, vaccine_code="R12", occurred_days_ago=20)]
    found = by_rule(proposals(*doses, *rotarix, profile=born_days_ago(215)))
    assert "immunisation_overdue" not in found  # was: ROTA 3 overdue


def test_rotateq_is_three_doses_and_dose_3_is_reminded_until_32_weeks():
    doses = [b for b in all_doses_until(6) if b["payload"]["vaccine"] != "ROTA"]
    rotateq = [immunised("ROTA", 1, vaccine_code="R21", occurred_days_ago=20),
               immunised("ROTA", 2, vaccine_code="R22", occurred_days_ago=20)]
    reminder = by_rule(proposals(*doses, *rotateq, profile=born_days_ago(215)))["immunisation_overdue"]
    assert "ROTA 3" in reminder.note
    assert "immunisation_overdue" not in by_rule(proposals(*doses, *rotateq, profile=born_days_ago(230)))


def test_no_rotavirus_reminder_past_the_products_maximum_age():
    without_rota = [b for b in all_doses_until(6) if b["payload"]["vaccine"] != "ROTA"]
    # never started: dose 1 is not given after 15 weeks, so nothing is reminded at 7 months or at 5 years
    for days in (215, 5 * 365):
        found = by_rule(proposals(*without_rota, *all_doses_until(60)[len(all_doses_until(6)):],
                                  profile=born_days_ago(days)))
        assert "ROTA" not in found.get("immunisation_overdue", type("x", (), {"note": ""})).note
    view = schedule_for(state_of(*without_rota, profile=born_days_ago(215)))
    rota = [d for d in view if d.vaccine == "ROTA"]
    assert rota and all(d.too_late(NOW) for d in rota)


def test_hbv2_at_1_month_only_for_an_infant_of_an_hbsag_positive_mother():
    birth = [immunised("BCG", 1, occurred_days_ago=50), immunised("HBV", 1, occurred_days_ago=50)]
    assert "immunisation_overdue" not in by_rule(proposals(*birth, profile=born_days_ago(62)))
    registered = event("health", "child.registered", payload={"birth_weight_g": 3000, "mother_hbsag_positive": True})
    reminder = by_rule(proposals(*birth, registered, profile=born_days_ago(62)))["immunisation_overdue"]
    assert "HBV 2" in reminder.note


def test_a_child_no_health_centre_follows_gets_no_reminder():
    assert "immunisation_overdue" not in by_rule(proposals(event("social", "child.enrolled")))


def test_a_booster_recorded_under_the_combined_name_counts():
    profile = {**INFANT, "birth_date": (NOW.date() - dt.timedelta(days=22 * 31)).isoformat()}
    doses = [b for b in all_doses_until(18) if (b["payload"]["vaccine"], b["payload"]["dose"]) != ("DTwP", 4)]
    assert "immunisation_overdue" in by_rule(proposals(*doses, profile=profile))
    combined = immunised("DTwP-HB-Hib", 4, occurred_days_ago=20)
    assert "immunisation_overdue" not in by_rule(proposals(*doses, combined, profile=profile))


# --- diagnosis -----------------------------------------------------------------------------------


@pytest.mark.parametrize("code, special", [("F70", True), ("F79.9", True), ("F80.1", True), ("F84.0", True),
                                           ("F89", True), ("F69", False), ("F90.0", False), ("E43", False)])
def test_f70_to_f89_are_the_codes_of_interest(code, special):
    assert in_f70_f89(code) is special


def test_a_developmental_diagnosis_notifies_the_childs_centre():
    diagnosed = event("medical", "child.diagnosed", payload={"icd10": "F84.0"})
    enrolled = event("social", "child.enrolled", occurred_days_ago=40)
    notice = by_rule(proposals(diagnosed, enrolled))["diagnosis_f70_f89"]
    assert notice.reason == "special_needs"
    assert notice.to == {"department": "social", "facility": "CDC-1001-01", "district": "1001",
                         "service": "special_needs_support"}
    assert notice.from_["facility"] == "HOSP-01"
    assert notice.key == "diagnosis_f70_f89|F84@CDC-1001-01"


def test_no_notice_until_the_child_is_enrolled_then_one_per_code_and_place():
    first = event("medical", "child.diagnosed", payload={"icd10": "F84.0"}, occurred_days_ago=60)
    again = event("medical", "child.diagnosed", payload={"icd10": "F84.1"}, occurred_days_ago=30)
    assert "diagnosis_f70_f89" not in by_rule(proposals(first, again))
    school = event("education", "child.enrolled", occurred_days_ago=10)
    found = [p for p in proposals(first, again, school).values() if p.rule == "diagnosis_f70_f89"]
    assert len(found) == 1 and found[0].source_event_ids == (first["event_id"], again["event_id"])
    assert found[0].to["facility"] == "SCH-1001-01"


def test_other_diagnoses_notify_nobody():
    adhd = event("medical", "child.diagnosed", payload={"icd10": "F90.0"})
    assert "diagnosis_f70_f89" not in by_rule(proposals(adhd, event("social", "child.enrolled")))


# --- social --------------------------------------------------------------------------------------


def risk(level, **kw):
    return event("social", "household.risk_assessed", payload={"risk_level": level, "factors": ["poverty"]}, **kw)


def attendance(present, expected=20, month=6, department="social", **kw):
    return event(department, "child.attendance_recorded", payload={
        "period_start": f"2026-{month:02d}-01", "period_end": f"2026-{month:02d}-28",
        "days_expected": expected, "days_present": present}, **kw)


def test_high_household_risk_sends_a_social_worker():
    found = by_rule(proposals(risk("high")))
    follow_up = found["household_risk_high"]
    assert follow_up.reason == "social_follow_up"
    assert follow_up.to == {"department": "social", "facility": "DSW-1001", "district": "1001",
                            "service": "social_worker"}


def test_the_latest_risk_assessment_decides():
    assert "household_risk_high" not in by_rule(proposals(risk("high", occurred_days_ago=90),
                                                          risk("medium", occurred_days_ago=10)))


@pytest.mark.parametrize("present, expected, low", [(11, 20, True), (12, 20, False), (0, 5, True), (1, 4, False)])
def test_attendance_below_60_percent_of_at_least_5_days(present, expected, low):
    assert ("attendance_low" in by_rule(proposals(attendance(present, expected)))) is low


def test_the_latest_period_decides_whatever_arrives_last():
    june_low, july_fine = attendance(5, month=6, occurred_days_ago=100), attendance(18, month=7, occurred_days_ago=70)
    assert "attendance_low" not in by_rule(proposals(july_fine, june_low))
    school_low = attendance(6, month=8, department="education", occurred_days_ago=40)
    assert by_rule(proposals(june_low, july_fine, school_low))["attendance_low"].source_departments == ("education",)


# --- consent -------------------------------------------------------------------------------------


def test_a_refusal_keeps_health_data_from_social_but_not_from_care():
    severe = measured(5.9, 74.0)
    delayed = screening({"fine_motor": "delayed"})
    refused = consent("health", "refused", occurred_days_ago=20)
    evaluation = evaluate(state_of(severe, delayed, refused, profile=INFANT), NOW)
    kept = by_rule(evaluation.proposals)
    assert {"growth_below_minus_2", "dspm_delayed"} <= set(kept)  # health -> health, health -> medical
    assert "growth_below_minus_3" not in kept  # health -> social
    [(_, why)] = [v for v in evaluation.suppressed.values() if v[0].rule == "growth_below_minus_3"]
    assert "consent" in why and "health" in why


def test_the_latest_consent_decision_stands():
    severe = measured(5.9, 74.0)
    refused, granted = consent("health", "refused", occurred_days_ago=20), consent("health", "granted",
                                                                                  occurred_days_ago=5)
    assert "growth_below_minus_3" in by_rule(proposals(severe, refused, granted, profile=INFANT))
    refused_again = consent("health", "refused", occurred_days_ago=2)
    assert "growth_below_minus_3" not in by_rule(proposals(severe, refused, granted, refused_again, profile=INFANT))


def test_a_medical_refusal_keeps_the_diagnosis_from_the_school():
    diagnosed = event("medical", "child.diagnosed", payload={"icd10": "F80.1"})
    school = event("education", "child.enrolled")
    assert "diagnosis_f70_f89" not in by_rule(proposals(diagnosed, school, consent("medical", "refused")))
    assert "diagnosis_f70_f89" in by_rule(proposals(diagnosed, school, consent("social", "refused")))


def test_rules_ignore_superseded_and_retracted_entries_of_any_kind():
    high = risk("high", occurred_days_ago=5)
    assert "household_risk_high" not in by_rule(proposals(high, retraction(high, department="social")))


# --- dates ---------------------------------------------------------------------------------------


def test_a_visit_at_bangkok_0030_is_that_bangkok_day_for_the_age():
    born = NOW.date() - dt.timedelta(days=200)
    visit_day = NOW.date() - dt.timedelta(days=3)
    body = measured(7.5, 66.0, occurred_at=f"{visit_day.isoformat()}T00:30:00+07:00",
                    recorded_at=f"{visit_day.isoformat()}T00:31:00+07:00")
    [m] = state_of(body, profile={**INFANT, "birth_date": born.isoformat()}).measurements
    assert m.age_days == (visit_day - born).days  # was one day less: the UTC date is the day before


def test_notes_carry_structured_details_with_bangkok_days():
    screened = screening({"fine_motor": "delayed"}, occurred_at=f"{(NOW.date() - dt.timedelta(days=3)).isoformat()}"
                         "T00:30:00+07:00")
    details = by_rule(proposals(screened))["dspm_delayed"].details
    assert details == {"kind": "dspm_delayed", "band": screened["payload"]["age_band_months"],
                       "screened_on": (NOW.date() - dt.timedelta(days=3)).isoformat(),
                       "domains": ["fine_motor"], "delayed": ["fine_motor"]}
