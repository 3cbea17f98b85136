"""Comparison levels per field, the weights table, and blocking: the pieces of the scored match."""

import datetime as dt
import math

import pytest
from childlink_referral.matching.blocking import BlockingIndex, query_keys, stored_keys
from childlink_referral.matching.normalise import name, prepare
from childlink_referral.matching.scoring import (
    FIELDS,
    LEVELS,
    MISSING,
    compare,
    compare_birth_dates,
    compare_names,
    compare_numbers,
    explain,
    is_typo,
    weigh,
)
from childlink_referral.matching.weights import M_U, WEIGHTS


@pytest.mark.parametrize("a, b, typo", [
    ("ธนากร", "ธนกร", True),  # a letter dropped
    ("ธนากร", "ธนาากร", True),  # a letter doubled
    ("ธนากร", "ธนากอร", True),  # a letter inserted
    ("ธนากร", "ธนาร", True),
    ("ธนากร", "ธนาร ก".replace(" ", ""), True),  # two neighbours swapped
    ("ภูริ", "ภูรี", True),  # a vowel changed
    ("ธนดล", "ธนพล", False),  # another consonant: another name (twins are named like this)
    ("วริศรา", "นริศรา", False),
    ("ธนากร", "ธนากรณ์", False),  # two letters more
])
def test_a_typo_is_one_keying_slip_and_a_changed_consonant_is_not(a, b, typo):
    assert is_typo(a, b) is typo


@pytest.mark.parametrize("a, b, level", [
    ("ด.ช.ธนากร", "ธนากร", "exact"),
    ("แซ่ตั้ง", "แซ่ตั่ง", "variant"),
    ("ศรีสุข", "สรีสุข", "variant"),
    ("ธนากร", "ธนกร", "typo"),
    ("ศศิธร", "ษศิธ", "typo"),  # a confused letter and a dropped one: two on the spelling, one on the key
    ("ศิริพร", "ศิริภรณ์", "phonetic"),  # two names: one apart on the key, three on the spelling (twins)
    ("ณัฐธิดา", "ณัฐณิชา", "similar"),
    ("ธนากร", "สมหญิง", "different"),
    ("ธนากร", "Thanakorn", MISSING),  # another script: no evidence either way
    ("ธนากร", None, MISSING),
])
def test_name_levels(a, b, level):
    assert compare_names(name(a), name(b)) == level


@pytest.mark.parametrize("a, b, level", [
    ("2021-05-04", "2021-05-04", "exact"),
    ("2021-05-04", "2021-04-05", "swapped"),
    ("2021-05-04", "2021-05-05", "day"),
    ("2021-05-04", "2021-05-01", "days"),
    ("2021-05-04", "2021-05-30", "near"),
    ("2021-05-04", "2020-05-04", "near"),
    ("2021-05-04", "2021-09-20", "different"),
    ("2021-05-04", "2019-11-12", "far"),
    ("2021-05-04", "2016-05-04", "far"),
])
def test_birth_date_levels(a, b, level):
    assert compare_birth_dates(dt.date.fromisoformat(a), dt.date.fromisoformat(b)) == level


def test_a_date_with_equal_day_and_month_cannot_be_swapped():
    assert compare_birth_dates(dt.date(2021, 5, 5), dt.date(2021, 5, 5)) == "exact"
    assert compare_birth_dates(None, dt.date(2021, 5, 5)) == MISSING


def test_phone_and_id_levels():
    assert compare_numbers("0812345678", "0812345678") == "exact"
    assert compare_numbers("0812345678", "0812345679") == "typo"
    assert compare_numbers("0812345678", "0899999999") == "different"
    assert compare_numbers(None, "0812345678") == MISSING
    assert compare_numbers("1", "2", typo_level=False) == "different"


def test_the_weights_table_covers_every_level_with_probabilities_and_sensible_signs():
    assert set(M_U) == set(FIELDS) == set(WEIGHTS)
    for field in FIELDS:
        assert list(M_U[field]) == list(LEVELS[field])
        m_total = sum(m for m, _ in M_U[field].values())
        u_total = sum(u for _, u in M_U[field].values())
        assert math.isclose(m_total, 1, abs_tol=1e-3) and math.isclose(u_total, 1, abs_tol=1e-3), field
        for level, (m, u) in M_U[field].items():
            assert 0 < m < 1 and 0 < u < 1
            assert WEIGHTS[field][level] == pytest.approx(math.log2(m / u))
        best, worst = LEVELS[field][0], "different"
        assert WEIGHTS[field][best] > 0 > WEIGHTS[field][worst], field
    for field in ("given_name", "family_name"):
        w = WEIGHTS[field]
        # with thousands of names a one-slip agreement is as rare among two children as an exact one,
        # so exact and typo weigh about alike (either may come out ahead); both far above similar
        assert min(w["exact"], w["typo"]) > w["similar"] > w["different"] and abs(w["exact"] - w["typo"]) < 3
    w = WEIGHTS["birth_date"]
    assert w["exact"] > w["swapped"] > w["days"] > w["near"] > w["different"] and w["day"] > w["days"]


def subject(**changes):
    base = {"local_id": "HN1", "given_name": "ธนากร", "family_name": "ศรีสุข", "sex": "male",
            "birth_date": "2021-05-04", "district_code": "1001",
            "guardian": {"relation": "mother", "given_name": "ศศิธร", "phone": "0812345678"}}
    return {**base, **changes}


def test_compare_gives_one_level_per_field_and_the_weight_is_their_sum():
    a = prepare(subject())
    b = prepare(subject(given_name="ด.ช. ธนกร", birth_date="2021-05-05",
                        guardian={"phone": "081-234-5678"}, district_code="1002"))
    levels = compare(a, b)
    assert dict(zip(FIELDS, levels)) == {
        "given_name": "typo", "family_name": "exact", "birth_date": "day", "sex": "same",
        "national_id": MISSING, "guardian_national_id": MISSING, "guardian_phone": "exact", "district": "different"}
    assert weigh(levels) == pytest.approx(sum(WEIGHTS[f][lv] for f, lv in zip(FIELDS, levels) if lv != MISSING))
    explained = explain(levels)
    assert [c.field for c in explained] == list(FIELDS)
    assert next(c for c in explained if c.field == "national_id").weight == 0


@pytest.mark.parametrize("changes", [
    {"birth_date": "2021-04-05"},  # day and month swapped
    {"birth_date": "2021-05-06"},  # two days off
    {"birth_date": "2021-05-20"},  # further off: found through the names in the same month
    {"birth_date": "2020-05-04"},  # the year keyed wrong: found through day, month and given name
    {"sex": "female"},  # the sex keyed wrong: found through the date and given name
    {"birth_date": "2019-01-01", "given_name": "สมชาย"},  # only the guardian's phone left in common
])
def test_blocking_finds_the_known_record_despite_the_errors_registers_make(changes):
    index = BlockingIndex()
    index.add(0, prepare(subject()))
    index.add(1, prepare(subject(given_name="สมหญิง", family_name="ใจดี", sex="female", birth_date="2018-01-01",
                                 guardian={"phone": "0899999999"})))
    assert index.candidates(prepare(subject(**changes))) == [0]


def test_block_keys_are_distinct_and_a_record_without_date_or_sex_is_still_found_by_its_guardian():
    record = prepare(subject())
    assert len(stored_keys(record)) == len(set(stored_keys(record)))
    assert len(query_keys(record)) == len(set(query_keys(record)))
    index = BlockingIndex()
    index.add(7, record)
    assert index.candidates(prepare({"guardian": {"phone": "+66812345678"}})) == [7]
    index.remove(7, record)
    assert index.candidates(record) == [] and len(index) == 0
