"""The simulated data: valid against the contracts, realistic where the services and rules need it."""

import datetime as dt
import itertools
import re
from collections import Counter, defaultdict

import pytest
from childlink_contracts import is_valid_national_id, validate_event
from childlink_contracts.health import DSPM_AGES_MONTHS
from childlink_tools import names
from childlink_tools.schedule import EPI
from childlink_tools.simulator import generate, generate_dataset
from childlink_tools.timing import age_years

CHILDREN = 150
FIXED_NOW = dt.datetime(2025, 6, 30, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))
THAI = re.compile(r"[\u0E00-\u0E7F]")
LOCAL_ID = {"health": r"^HN\d+$", "social": r"^S\d+$", "education": r"^E\d+$", "medical": r"^MRN\d+$"}
FACILITY = {"health": r"^HC-10\d\d-\d\d$", "social": r"^(CDC-10\d\d-\d{3}|DSW-10\d\d)$",
            "education": r"^SCH-10\d\d-\d\d$", "medical": r"^HOSP-10\d\d$"}


@pytest.fixture(scope="module")
def dataset():
    return generate_dataset(CHILDREN, seed=42)


@pytest.fixture(scope="module")
def first_sends(dataset):
    """Each event once, as first sent."""
    seen, events = set(), []
    for department, event in dataset.events:
        if event["event_id"] not in seen:
            seen.add(event["event_id"])
            events.append((department, event))
    return events


def child_events(events):
    return [(department, event) for department, event in events if "child" in event["subject"]]


def test_every_generated_event_passes_its_contract(dataset):
    for department, event in dataset.events:
        validate_event(event, department)  # raises ContractError, naming the field


def test_all_four_departments_and_their_event_types_appear(first_sends):
    types = Counter((department, event["type"]) for department, event in first_sends)
    expected = [
        ("health", "child.registered"), ("health", "child.immunised"), ("health", "child.growth_measured"),
        ("health", "child.screened"), ("health", "child.visit_missed"), ("social", "centre.registered"),
        ("social", "centre.assessed"), ("social", "child.enrolled"), ("social", "child.attendance_recorded"),
        ("social", "household.risk_assessed"), ("education", "child.enrolled"),
        ("education", "child.attendance_recorded"), ("medical", "child.assessed"),
        ("medical", "child.therapy_planned"), ("health", "event.retracted"),
    ]
    assert [key for key in expected if not types[key]] == []
    assert types["health", "child.registered"] == CHILDREN  # every child at one health centre


def test_children_are_aged_0_to_6_in_the_truth_and_in_every_record(dataset, first_sends):
    today = dataset.now.date()
    assert all(0 <= age_years(child.birth_date, today) <= 6 for child in dataset.children)
    ages = {age_years(dt.date.fromisoformat(event["subject"]["child"]["birth_date"]), today)
            for _, event in child_events(first_sends)}
    assert ages == set(range(7))


def test_national_ids_are_valid_where_present_and_some_children_have_none(dataset, first_sends):
    children = dataset.children
    without = [child for child in children if child.national_id is None]
    assert 0.05 <= len(without) / len(children) <= 0.2
    assert all(child.national_id[0] in "12" for child in children if child.national_id)
    assert Counter(child.national_id[0] for child in children if child.national_id).most_common(1)[0][0] == "1"
    assert len({child.national_id for child in children if child.national_id}) == len(children) - len(without)
    keys = dataset.child_by_local_id()
    truth = {child.key: child for child in children}
    for department, event in child_events(first_sends):
        record = event["subject"]["child"]
        child = truth[keys[department, record["local_id"]]]
        if "national_id" in record:
            assert is_valid_national_id(record["national_id"]) and record["national_id"] == child.national_id
        else:
            assert child.national_id is None or department != "health"
        guardian_id = record.get("guardian", {}).get("national_id")
        assert guardian_id is None or is_valid_national_id(guardian_id)


def test_each_department_knows_the_child_by_its_own_local_id(dataset, first_sends):
    for child in dataset.children:
        assert "health" in child.local_ids
        for department, local_id in child.local_ids.items():
            assert re.match(LOCAL_ID[department], local_id)
        assert len(set(child.local_ids.values())) == len(child.local_ids)
    assert sum(len(child.local_ids) > 1 for child in dataset.children) > CHILDREN / 3
    keys = dataset.child_by_local_id()
    assert len(keys) == sum(len(child.local_ids) for child in dataset.children)
    for department, event in child_events(first_sends):
        assert (department, event["subject"]["child"]["local_id"]) in keys
        assert re.match(FACILITY[department], event["source"]["facility"]["code"])


def test_names_are_thai_with_titles_in_some_records(first_sends):
    given = [event["subject"]["child"]["given_name"] for _, event in child_events(first_sends)]
    assert all(THAI.search(name) for name in given)
    titled = [name for name in given if names.strip_title(name) != name]
    assert 0.05 < len(titled) / len(given) < 0.6
    pool = (*names.given_names("male"), *names.given_names("female"), *names.MIGRANT_MALE_GIVEN,
            *names.MIGRANT_FEMALE_GIVEN)
    known = {names.strip_title(name) for name in pool}  # a corpus name may begin like a title (นางนวล)
    assert {names.strip_title(name) for name in given} <= known
    families = [event["subject"]["child"].get("family_name") for _, event in child_events(first_sends)]
    assert sum(family in names.family_names() for family in families) > 0.8 * len(families)


def test_names_come_from_pythainlps_corpora_thousands_of_them_with_common_ones_drawn_more_often():
    import random

    assert len(names.corpus("male")) > 5000 and len(names.corpus("female")) > 4000
    assert len(names.corpus("family")) > 9000 and "ณ อยุธยา" not in names.corpus("family")
    draws = [random.Random(n).choice(names.given_names("female")) for n in range(3000)]
    assert len(set(draws)) > 1500  # thousands to draw from, not a short list
    common = sum(name in names.FEMALE_GIVEN for name in draws) / len(draws)
    assert 0.1 < common < 0.4  # the common names are a fifth or so of the draws


def test_timestamps_are_bangkok_time_ordered_and_never_before_birth_or_after_now(dataset):
    for _, event in dataset.events:
        occurred = dt.datetime.fromisoformat(event["occurred_at"])
        recorded = dt.datetime.fromisoformat(event["recorded_at"])
        assert event["occurred_at"].endswith("+07:00") and event["recorded_at"].endswith("+07:00")
        assert occurred <= recorded <= dataset.now
        if "child" in event["subject"]:
            assert occurred.date() >= dt.date.fromisoformat(event["subject"]["child"]["birth_date"])


def test_some_events_are_late_held_back_and_sent_out_of_order(dataset, first_sends):
    log = dataset.delivery
    late = [event for _, event in first_sends if event["event_id"] in log.late]
    assert 0.05 < len(late) / len(first_sends) < 0.4
    assert all(dt.datetime.fromisoformat(e["recorded_at"]) - dt.datetime.fromisoformat(e["occurred_at"])
               >= dt.timedelta(days=1) for e in late)
    assert log.held_back
    occurred = [event["occurred_at"] for _, event in first_sends]
    inversions = sum(earlier > later for earlier, later in itertools.pairwise(occurred))
    assert inversions > 0.02 * len(occurred)


def test_some_events_are_sent_twice_with_the_same_id_and_content(dataset):
    copies = defaultdict(list)
    for department, event in dataset.events:
        copies[event["event_id"]].append((department, event))
    repeated = {event_id: sent for event_id, sent in copies.items() if len(sent) > 1}
    assert set(repeated) == dataset.delivery.duplicates
    assert 0.01 < len(repeated) / len(copies) < 0.06
    assert all(len(sent) == 2 and sent[0] == sent[1] for sent in repeated.values())


def test_corrections_and_retractions_name_an_earlier_event_of_the_same_child(first_sends, dataset):
    by_id = {event["event_id"]: (department, event) for department, event in first_sends}
    log = dataset.delivery
    assert log.corrections and log.retractions
    for fix_id, wrong_id in log.corrections.items():
        (department, fix), (wrong_department, wrong) = by_id[fix_id], by_id[wrong_id]
        assert fix["supersedes"] == wrong_id and department == wrong_department
        assert fix["type"] == wrong["type"] and fix["payload"] != wrong["payload"]
        assert fix["subject"] == wrong["subject"] and fix["recorded_at"] > wrong["recorded_at"]
    for retraction_id, withdrawn_id in log.retractions.items():
        department, retraction = by_id[retraction_id]
        assert retraction["type"] == "event.retracted" and retraction["supersedes"] == withdrawn_id
        assert set(retraction["payload"]) == {"reason"}
        assert by_id[withdrawn_id][0] == department
        assert by_id[withdrawn_id][1]["subject"] == retraction["subject"]


def test_dspm_screenings_are_mostly_normal_with_some_suspected_and_delayed_domains(first_sends):
    screenings = [event["payload"] for _, event in first_sends if event["type"] == "child.screened"]
    assert {payload["age_band_months"] for payload in screenings} == set(DSPM_AGES_MONTHS)
    results = Counter(result for payload in screenings for result in payload["domains"].values())
    assert results["normal"] > 0.85 * sum(results.values())
    assert results["suspected_delay"] > 0 and results["delayed"] > 0
    assert any(payload["rescreen"] for payload in screenings)


def test_hospital_diagnoses_are_developmental_icd10_codes():
    events = generate(600, seed=3)
    codes = [event["payload"]["icd10"] for _, event in events if event["type"] == "child.diagnosed"]
    assert codes and all(re.match(r"^F8\d(\.\d)?$", code) for code in codes)


def test_immunisations_follow_the_epi_schedule(dataset, first_sends):
    schedule = {dose: age for age, doses in EPI.items() for dose in doses}
    births = {(d, local_id): child.birth_date
              for child in dataset.children for d, local_id in child.local_ids.items()}
    mistaken = set(dataset.delivery.corrections.values()) | set(dataset.delivery.retractions.values())
    doses = Counter()
    for department, event in first_sends:
        if event["type"] != "child.immunised" or event["event_id"] in mistaken:
            continue
        payload = event["payload"]
        age_days = (dt.datetime.fromisoformat(event["occurred_at"]).date()
                    - births[department, event["subject"]["child"]["local_id"]]).days
        assert age_days >= schedule[payload["vaccine"], payload["dose"]] * 30 - 3
        doses[payload["vaccine"]] += 1
    assert set(doses) == {"BCG", "HBV", "DTwP-HB-Hib", "OPV", "IPV", "ROTA", "MMR", "JE", "DTwP"}


def test_generation_is_deterministic_for_a_seed_and_now():
    first = generate(40, seed=7, now=FIXED_NOW)
    assert first == generate(40, seed=7, now=FIXED_NOW)
    assert first != generate(40, seed=8, now=FIXED_NOW)
    assert all(event["recorded_at"] <= FIXED_NOW.isoformat() for _, event in first)
