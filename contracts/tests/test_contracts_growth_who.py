"""Our WHO z-scores against WHO's own: WHO's example surveys with the z-scores WHO's software computed
(fixtures/SOURCES.md), then properties of WHO's rules at the boundaries."""

import csv
import math
from pathlib import Path

import pytest
from childlink_contracts import growth
from childlink_contracts.growth import lms, tables, who2006, who2007
from hypothesis import given, settings
from hypothesis import strategies as st

FIXTURES = Path(__file__).parent / "fixtures"
IGROWUP_COLUMNS = {"z_wfa": ("zwei", "fwei"), "z_lhfa": ("zlen", "flen"), "z_wflh": ("zwfl", "fwfl"),
                   "z_bmi": ("zbmi", "fbmi"), "z_hcfa": ("zhc", "fhc")}
WHO2007_COLUMNS = {"z_wfa": ("zwfa", "fwfa"), "z_lhfa": ("zhfa", "fhfa"), "z_bmi": ("zbfa", "fbfa")}
POSITIONS = {"l": True, "h": False, "": None}


def _rows(name):
    with open(FIXTURES / name, newline="") as handle:
        return list(csv.DictReader(handle))


def _number(text):
    return float(text) if text != "" else None


def test_whos_igrowup_example_survey_is_reproduced_to_2_decimals_for_every_child_and_indicator():
    rows, compared = _rows("who_igrowup_survey.csv"), 0
    assert len(rows) == 498
    for row in rows:
        z, implausible = growth.zscores(row["sex"], int(row["agedays"]), _number(row["weight"]),
                                        _number(row["height"]), POSITIONS[row["measure"]],
                                        _number(row["head"]), oedema=row["oedema"] == "y")
        for key, (z_column, flag_column) in IGROWUP_COLUMNS.items():
            assert z[key] == _number(row[z_column]), (row["id"], key)
            if z[key] is not None:
                assert implausible[key] == (row[flag_column] == "1"), (row["id"], key)
                compared += 1
    assert compared == 1993  # every z-score WHO gives for the survey


def test_whos_2007_reference_example_survey_is_reproduced_to_2_decimals():
    rows, compared = _rows("who2007_anthroplus_survey.csv"), 0
    assert len(rows) == 933
    for row in rows:
        raw = who2007.raw_zscores_by_months(row["sex"], float(row["agemons"]), _number(row["weight"]),
                                            _number(row["height"]), oedema=row["oedema"] == "y")
        for key, (z_column, flag_column) in WHO2007_COLUMNS.items():
            want = _number(row[z_column])
            got = None if raw[key] is None else lms.round_half_up(raw[key])
            assert got == want, (row["id"], key)
            if want is not None:
                assert who2006.flagged(key, got) == (row[flag_column] == "1")
                compared += 1
    assert compared == 2101


def test_a_child_of_61_to_72_months_is_scored_on_the_2007_reference_and_none_after():
    z, _ = growth.zscores("female", 66 * 30.4375, 17.0, 110.0, False)
    direct = who2007.raw_zscores_by_months("female", 66.0, 17.0, 110.0)
    assert z["z_wfa"] == lms.round_half_up(direct["z_wfa"]) and z["z_lhfa"] is not None
    assert z["z_bmi"] is not None and z["z_wflh"] is None and z["z_hcfa"] is None
    assert growth.reference_for(1856) == "who2006" and growth.reference_for(1857) == "who2007"
    assert growth.reference_for(73 * 30.4375) is None
    assert set(growth.zscores("female", 74 * 30.4375, 17.0, 110.0, False)[0].values()) == {None}


# --- properties ----------------------------------------------------------------------------------

sexes = st.sampled_from(["male", "female"])
positions = st.sampled_from([True, False, None])
weights = st.floats(min_value=2.0, max_value=30.0)


def _wflh_direct(sex, name, length_height_cm, weight_kg):
    """weight-for-length/height z straight from WHO's table, interpolating as WHO does."""
    rows = tables.table("who2006", name)
    code = tables.SEX_CODES[sex]
    low = math.trunc(length_height_cm * 10)
    row = lms.interpolate(rows[(code, low)], rows.get((code, low + 1), rows[(code, low)]),
                          (length_height_cm - low / 10) / 0.1)
    return lms.zscore_restricted(weight_kg, row)


@settings(max_examples=200, deadline=None)
@given(sexes, positions, st.floats(min_value=66.0, max_value=109.0), weights)
def test_at_730_days_the_length_table_at_731_the_height_table(sex, lying, height_cm, weight_kg):
    at_730 = growth.raw_zscores(sex, 730, weight_kg, height_cm, lying)["z_wflh"]
    length = height_cm + 0.7 if lying is False else height_cm  # standing under 2 years: +0.7 cm
    assert at_730 == pytest.approx(_wflh_direct(sex, "wflanthro", length, weight_kg), abs=1e-12)
    at_731 = growth.raw_zscores(sex, 731, weight_kg, height_cm, lying)["z_wflh"]
    height = height_cm - 0.7 if lying else height_cm  # lying from 2 years: -0.7 cm
    assert at_731 == pytest.approx(_wflh_direct(sex, "wfhanthro", height, weight_kg), abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(sexes, st.integers(min_value=274, max_value=1856), st.floats(min_value=66.0, max_value=108.0),
       weights)
def test_a_position_opposite_to_the_age_counts_as_the_other_position_plus_or_minus_0_7_cm(
        sex, age_days, height_cm, weight_kg):
    if age_days < 731:
        opposite, usual = (False, height_cm), (True, height_cm + 0.7)
    else:
        opposite, usual = (True, height_cm), (False, height_cm - 0.7)
    got = growth.raw_zscores(sex, age_days, weight_kg, opposite[1], opposite[0])
    want = growth.raw_zscores(sex, age_days, weight_kg, usual[1], usual[0])
    for key in ("z_lhfa", "z_wflh", "z_bmi"):
        assert got[key] == pytest.approx(want[key], abs=1e-9) if want[key] is not None else got[key] is None


@settings(max_examples=100, deadline=None)
@given(sexes, st.integers(min_value=0, max_value=273), st.floats(min_value=45.0, max_value=75.0), weights)
def test_standing_under_9_months_is_taken_as_no_position_given(sex, age_days, height_cm, weight_kg):
    assert growth.raw_zscores(sex, age_days, weight_kg, height_cm, False) == \
        growth.raw_zscores(sex, age_days, weight_kg, height_cm, None)


@settings(max_examples=300, deadline=None)
@given(sexes, st.sampled_from([100, 730, 731, 1500]), st.floats(min_value=43.0, max_value=122.0))
def test_weight_for_length_height_only_inside_the_tables_range(sex, age_days, length_height_cm):
    z = growth.raw_zscores(sex, age_days, 10.0, length_height_cm, None)["z_wflh"]
    low, high = (45.0, 110.0) if age_days < 731 else (65.0, 120.0)
    assert (z is not None) == (low <= length_height_cm <= high)


def test_the_table_edges_themselves_are_scored_from_their_own_row():
    rows = tables.table("who2006", "wflanthro")
    for cm, tenth in ((45.0, 450), (110.0, 1100)):
        assert growth.raw_zscores("male", 100, 3.0, cm, True)["z_wflh"] == pytest.approx(
            lms.zscore_restricted(3.0, rows[(1, tenth)]), abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(sexes, st.integers(min_value=0, max_value=1856), st.floats(min_value=-3.0, max_value=3.0))
def test_beyond_3_sd_the_weight_indicators_go_on_linearly_and_length_does_not(sex, age_days, beyond):
    code = tables.SEX_CODES[sex]
    row = tables.table("who2006", "weianthro")[(code, age_days)]
    sd3, sd2 = lms.value_at(row, 3), lms.value_at(row, 2)
    sd3n, sd2n = lms.value_at(row, -3), lms.value_at(row, -2)
    z = growth.raw_zscores(sex, age_days, sd3 + abs(beyond) * (sd3 - sd2))["z_wfa"]
    assert z == pytest.approx(3 + abs(beyond), abs=1e-9)
    weight = sd3n - abs(beyond) * (sd2n - sd3n)
    if weight > 0:
        assert growth.raw_zscores(sex, age_days, weight)["z_wfa"] == pytest.approx(-3 - abs(beyond), abs=1e-9)
    inside = lms.value_at(row, beyond)  # within ±3 SD: the plain LMS z
    assert growth.raw_zscores(sex, age_days, inside)["z_wfa"] == pytest.approx(beyond, abs=1e-9)
    length_row = tables.table("who2006", "lenanthro")[(code, age_days)]
    length = lms.value_at(length_row, 3 + abs(beyond))
    assert growth.raw_zscores(sex, age_days, None, length, None)["z_lhfa"] == pytest.approx(3 + abs(beyond))


def test_whos_implausibility_flags_on_the_rounded_z():
    assert who2006.flagged("z_wfa", -6.01) and not who2006.flagged("z_wfa", -6.0)
    assert who2006.flagged("z_wfa", 5.01) and not who2006.flagged("z_wfa", 5.0)
    assert who2006.flagged("z_lhfa", 6.01) and not who2006.flagged("z_lhfa", 5.99)
    for key in ("z_wflh", "z_bmi", "z_hcfa"):
        assert who2006.flagged(key, -5.01) and who2006.flagged(key, 5.01) and not who2006.flagged(key, 4.99)


def test_nothing_for_an_unknown_sex_a_negative_age_or_a_measure_of_zero():
    assert set(growth.zscores("x", 100, 5.0, 60.0, True)[0].values()) == {None}
    assert set(growth.zscores("male", -1, 5.0, 60.0, True)[0].values()) == {None}
    assert growth.zscores("male", 100, 0.0, 60.0, True)[0]["z_wfa"] is None
