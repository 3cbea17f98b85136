"""Every referral rule, on the child's state built from a current timeline (plain functions, no store)."""

import datetime as dt
import random

import pytest
from childlink_common.testing.events import event
from childlink_contracts import ContractError
from childlink_referral.reasons import REASONS, deadline_for
from childlink_referral.rules import RULES, RULES_BY_NAME, evaluate
from childlink_referral.rules.diagnosis import in_f70_f89
from childlink_referral.rules.epi_schedule import THAI_EPI
from childlink_referral.testing import (
    consent,
    correction,
    immunised,
    measured,
    retraction,
    screening,
    state_of,
)
from childlink_referral.times import utc_now

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


def test_no_rescreen_30_days_after_a_suspected_delay_refers_to_the_hospital():
    screened = screening({"receptive_language": "suspected_delay"}, occurred_days_ago=31)
    found = by_rule(proposals(screened))
    assert found["dspm_rescreen_overdue"].to["facility"] == "HOSP-1008"
    assert "dspm_suspected_delay" in found  # the task stands: the timer expires it, it is not dropped


def test_the_overdue_rule_waits_until_the_rescreen_is_due():
    screened = screening({"receptive_language": "suspected_delay"}, occurred_days_ago=29)
    assert "dspm_rescreen_overdue" not in by_rule(proposals(screened))
    assert "dspm_rescreen_overdue" in by_rule(proposals(screened, now=NOW + dt.timedelta(days=2)))


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


def test_a_rescreen_that_finds_a_delay_is_a_delay_referral():
    first = screening({"personal_social": "suspected_delay"}, occurred_days_ago=40)
    again = screening({"personal_social": "delayed"}, rescreen=True, occurred_days_ago=12)
    assert only_rules(proposals(first, again), "dspm_delayed", "dspm_rescreen_not_normal") == ["dspm_delayed"]


def test_a_flagged_rescreen_with_no_earlier_screening_known_is_still_a_rescreen():
    again = screening({"gross_motor": "suspected_delay"}, rescreen=True)
    assert "dspm_rescreen_not_normal" in by_rule(proposals(again))


def test_the_latest_screening_decides():
    delayed_at_9 = screening({"gross_motor": "delayed"}, band=9, occurred_days_ago=300)
    normal_at_18 = screening(band=18, occurred_days_ago=20)
    assert not any(rule.startswith("dspm") for rule in by_rule(proposals(delayed_at_9, normal_at_18)))


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
    fixed = correction(screened, {"age_band_months": 18, "domains": {d: "normal" for d in (
        "gross_motor", "fine_motor", "receptive_language", "expressive_language", "personal_social")}},
        occurred_days_ago=3)
    assert "dspm_delayed" not in by_rule(proposals(screened, fixed))


def test_a_correction_that_still_finds_a_delay_keeps_the_same_key():
    screened = screening({"fine_motor": "delayed"}, occurred_days_ago=3)
    domains = {d: "normal" for d in ("gross_motor", "fine_motor", "receptive_language", "expressive_language",
                                     "personal_social")} | {"gross_motor": "delayed"}
    fixed = correction(screened, {"age_band_months": 18, "domains": domains}, occurred_days_ago=3)
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


def test_a_later_normal_measurement_ends_the_episode():
    low = measured(5.9, 74.0, occurred_days_ago=40)
    recovered = measured(8.9, 74.0, occurred_days_ago=5)
    assert not {"growth_below_minus_2", "growth_below_minus_3"} & set(by_rule(proposals(low, recovered,
                                                                                          profile=INFANT)))


def test_one_episode_keeps_one_key_and_a_new_episode_gets_another():
    first, second = measured(5.9, 74.0, occurred_days_ago=60), measured(6.0, 74.5, occurred_days_ago=30)
    key = by_rule(proposals(first, second, profile=INFANT))["growth_below_minus_2"].key
    assert key == f"growth_below_minus_2|{first['event_id']}"
    recovered, relapse = measured(8.9, 74.0, occurred_days_ago=20), measured(5.9, 74.0, occurred_days_ago=5)
    again = by_rule(proposals(first, second, recovered, relapse, profile=INFANT))["growth_below_minus_2"]
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
    evaluation = evaluate(state_of(*all_doses_until(6), profile=INFANT), NOW)
    assert "immunisation_overdue" not in by_rule(evaluation.proposals)
    born = dt.date.fromisoformat(INFANT["birth_date"])
    assert evaluation.next_review_at.astimezone(dt.timezone(dt.timedelta(hours=7))).date() == (
        born.replace(year=born.year + 1) + dt.timedelta(days=30))  # MMR1/JE1: 12 months + 30 days


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
