"""The labelled identity data: the same children in several departments, with the errors registers carry."""

import datetime as dt
import random
import re
from collections import Counter

import pytest
from childlink_contracts import is_valid_national_id
from childlink_contracts.envelope import ChildSubjectSchema
from childlink_tools import names
from childlink_tools.identity_errors import (
    ERRORS,
    generate_identity_dataset,
    identity_population,
    misspell,
    respell,
    similar_names,
)

FIXED_NOW = dt.datetime(2025, 6, 30, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))
CHILDREN = 2000
LOCAL_ID = {"health": r"^HN\d{8}$", "social": r"^S\d{7}$", "education": r"^E\d{7}$", "medical": r"^MRN\d{8}$"}
FACILITY = {"health": r"^HC-10\d\d-\d\d$", "social": r"^CDC-10\d\d-\d{3}$", "education": r"^SCH-10\d\d-\d\d$",
            "medical": r"^HOSP-10\d\d$"}


@pytest.fixture(scope="module")
def dataset():
    return generate_identity_dataset(CHILDREN, seed=5, now=FIXED_NOW)


@pytest.fixture(scope="module")
def people(dataset):
    return {person.key: person for person in dataset.children}


def test_the_same_seed_gives_the_same_records_and_another_seed_others(dataset):
    first, again = (generate_identity_dataset(300, seed=5, now=FIXED_NOW) for _ in range(2))
    assert [(r.record_id, r.child_key, r.subject, r.errors) for r in again.records] == [
        (r.record_id, r.child_key, r.subject, r.errors) for r in first.records]
    other = generate_identity_dataset(300, seed=6, now=FIXED_NOW)
    assert [r.subject for r in other.records[:50]] != [r.subject for r in first.records[:50]]


def test_every_child_has_a_health_registration_mostly_first_and_some_records_elsewhere(dataset):
    by_child = dataset.records_by_child()
    assert len(by_child) == CHILDREN == len(dataset.children)
    assert all(any(r.department == "health" for r in records) for records in by_child.values())
    # a child registered late (no national ID) may be seen at a hospital first
    assert sum(records[0].department == "health" for records in by_child.values()) > 0.95 * CHILDREN
    departments = Counter(record.department for record in dataset.records)
    assert set(departments) == {"health", "social", "education", "medical"}
    assert 1.4 < len(dataset.records) / CHILDREN < 2.2
    assert sum(len(records) > 1 for records in by_child.values()) > CHILDREN / 3


def test_records_come_in_registration_order_with_ids_local_ids_and_facilities_per_department(dataset):
    assert [r.registered_on for r in dataset.records] == sorted(r.registered_on for r in dataset.records)
    assert len({r.record_id for r in dataset.records}) == len(dataset.records)
    assert len({(r.department, r.local_id) for r in dataset.records}) == len(dataset.records)
    for record in dataset.records:
        assert re.match(LOCAL_ID[record.department], record.local_id)
        assert re.match(FACILITY[record.department], record.facility_code)
        assert record.subject["local_id"] == record.local_id
        assert record.registered_on <= FIXED_NOW.date()


def test_ground_truth_pairs_are_the_records_of_one_child(dataset):
    pairs = dataset.true_pairs()
    expected = sum(len(rs) * (len(rs) - 1) // 2 for rs in dataset.records_by_child().values())
    assert len(pairs) == expected
    assert all(dataset.child_of(a) == dataset.child_of(b) for a, b in pairs)


def test_subjects_follow_the_contract_once_the_phone_is_cleaned_and_a_mistyped_national_id_blanked(dataset):
    schema = ChildSubjectSchema()
    for record in dataset.records[:600]:
        subject = dict(record.subject)
        if "national_id_mistyped" in record.errors:
            subject.pop("national_id")
        if "guardian" in subject:
            guardian = dict(subject["guardian"])
            digits = re.sub(r"\D", "", guardian["phone"])
            guardian["phone"] = "0" + digits[2:] if digits.startswith("66") else digits
            subject["guardian"] = guardian
        assert schema.validate(subject) == {}, (record.record_id, subject)


def test_the_errors_listed_are_the_errors_made(dataset, people):
    for record in dataset.records:
        person, subject, errors = people[record.child_key], record.subject, set(record.errors)
        given = names.strip_title(subject["given_name"])
        if not errors & {"given_name_typo", "given_name_variant"}:
            assert given == person.given_name
        if "title" not in errors:
            assert subject["given_name"] == given
        birth = dt.date.fromisoformat(subject["birth_date"])
        if not any(error.startswith("birth_date") for error in errors):
            assert birth == person.birth_date
        if "birth_date_swapped" in errors:
            assert (birth.day, birth.month) == (person.birth_date.month, person.birth_date.day)
        if "birth_date_day_off" in errors:
            assert abs((birth - person.birth_date).days) == 1
        if "sex_wrong" not in errors:
            assert subject["sex"] == person.sex
        if "national_id" in subject and "national_id_mistyped" not in errors:
            assert subject["national_id"] == person.national_id and is_valid_national_id(person.national_id)
        if person.family_name and "family_name_blank" not in errors and not errors & {
                "family_name_typo", "family_name_variant"}:
            assert subject["family_name"] == person.family_name


def test_error_rates_are_near_what_the_module_states(dataset):
    counts = Counter(error for record in dataset.records for error in record.errors)
    records = len(dataset.records)
    for error in ("given_name_typo", "family_name_typo", "birth_date_day_off"):
        assert 0.4 * ERRORS[error] < counts[error] / records < 1.8 * ERRORS[error], error
    for error in ("title", "phone_dashes", "phone_plus66", "national_id_blank", "other_guardian",
                  "birth_date_swapped", "national_id_mistyped", "phone_old"):
        assert counts[error] > 0, error


def test_twins_share_birth_date_guardians_family_name_and_district_but_not_the_given_name(dataset, people):
    twins = [(people[person.twin_of], person) for person in dataset.children if person.twin_of]
    assert 0.01 * CHILDREN < len(twins) < 0.03 * CHILDREN
    for first, second in twins:
        assert first.birth_date == second.birth_date and first.district_code == second.district_code
        assert first.guardians is second.guardians and first.family_name == second.family_name
        assert first.given_name != second.given_name and first.national_id != second.national_id or (
            first.national_id is None is second.national_id)
    similar = [pair for pair in twins if pair[1].given_name in similar_names(pair[0].given_name, [pair[1].given_name])]
    assert len(similar) > len(twins) / 4


def test_look_alikes_are_unrelated_children_born_the_same_day_in_the_same_district(dataset, people):
    lookalikes = [(people[person.lookalike_of], person) for person in dataset.children if person.lookalike_of]
    assert len(lookalikes) > 0.02 * CHILDREN
    for other, person in lookalikes:
        assert (person.birth_date, person.district_code) == (other.birth_date, other.district_code)
        assert person.guardians is not other.guardians
    assert any(person.family_name == other.family_name for other, person in lookalikes)


def test_about_one_child_in_nine_has_no_national_id():
    population = identity_population(2000, seed=1, now=FIXED_NOW)
    share = sum(person.national_id is None for person in population) / len(population)
    assert 0.07 < share < 0.17
    assert all(is_valid_national_id(person.national_id) for person in population if person.national_id)


@pytest.mark.parametrize("name", ["ธนากร", "ณัฐธิดา", "แซ่ตั้ง", "กิตติพัฒน์", "ภูริ"])
def test_a_misspelling_is_one_slip_and_a_respelling_keeps_the_letters_count_close(name):
    rng = random.Random(name)
    for _ in range(30):
        slipped = misspell(name, rng)
        assert slipped != name and abs(len(slipped) - len(name)) <= 1
        respelt = respell(name, rng)
        assert respelt != name and abs(len(respelt) - len(name)) <= 1


def test_similar_twin_names_share_a_beginning_or_an_ending():
    assert "ธนพล" in similar_names("ธนดล", names.MALE_GIVEN)
    assert "ณัฐณิชา" in similar_names("ณัฐธิดา", names.FEMALE_GIVEN)
    assert "ธนดล" not in similar_names("ธนดล", names.MALE_GIVEN)
