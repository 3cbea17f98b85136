"""Issue 17, data minimisation: each role sees on the child page the kinds of record its work needs.

Before: any event at the viewer's place opened the whole page, so a child-care centre read a hospital's
B20 (HIV) diagnosis of a child it had no referral for. Now the table of minimisation.py (and
docs/security.md) decides, and a diagnosis reaches a centre only inside a referral addressed to it."""

import pytest
from childlink_common.testing.events import child, event
from childlink_referral.child_page import child_page
from childlink_referral.minimisation import KIND_OF_TYPE, SEES
from childlink_referral.testing import (
    CENTRE,
    DEPARTMENT_STAFF,
    HC,
    HOSPITAL,
    SCHOOL,
    SOCIAL_WORKER,
    screening,
)

KID = child(local_id="CDC-77")  # the default national ID: one child across departments
HOSP = {**HOSPITAL, "facility": "HOSP-01"}  # the testing events' hospital


@pytest.fixture
def kid(world):
    return world.send(
        event("social", "child.enrolled", subject=KID, occurred_days_ago=120),
        event("education", "child.enrolled", subject=KID, occurred_days_ago=110),
        screening(subject=KID, occurred_days_ago=60),
        event("health", "child.growth_measured", subject=KID, occurred_days_ago=50),
        event("medical", "child.diagnosed", subject=KID, payload={"icd10": "B20", "description": "HIV disease"},
              occurred_days_ago=40),
        event("medical", "child.therapy_planned", subject=KID,
              payload={"therapy": "speech", "sessions": 6, "starts_on": "2025-09-01"}, occurred_days_ago=39),
        event("social", "household.risk_assessed", subject=KID, payload={"risk_level": "low", "factors": []},
              occurred_days_ago=30),
    )


def kinds_seen(world, viewer, child_id):
    answer = child_page(world.store, viewer, child_id, world.clock.now)
    assert answer["ok"], answer
    return answer["child"], {e["type"] for e in answer["child"]["timeline"]}


@pytest.mark.parametrize("viewer", [CENTRE, SCHOOL], ids=["centre", "school"])
def test_centre_and_school_staff_do_not_read_an_unrelated_hospital_diagnosis(world, kid, viewer):
    page, types = kinds_seen(world, viewer, kid)
    assert "child.diagnosed" not in types and "child.therapy_planned" not in types
    assert "household.risk_assessed" not in types
    assert "B20" not in repr(page) and "HIV" not in repr(page)
    assert {"child.enrolled", "child.screened", "child.growth_measured"} <= types  # what their care needs
    assert page["dspm"]["screenings"] and page["growth"]["points"]


def test_clinical_staff_see_the_diagnosis_and_the_social_worker_the_household(world, kid):
    _, hospital = kinds_seen(world, HOSP, kid)
    assert {"child.diagnosed", "child.therapy_planned"} <= hospital and "household.risk_assessed" not in hospital
    _, health_centre = kinds_seen(world, HC, kid)
    assert "child.diagnosed" in health_centre


def test_a_department_sees_its_own_records_and_only_care_records_of_others(world, kid):
    _, medical = kinds_seen(world, DEPARTMENT_STAFF, kid)  # medical department staff
    assert {"child.diagnosed", "child.therapy_planned"} <= medical and "household.risk_assessed" not in medical
    _, social = kinds_seen(world, DEPARTMENT_STAFF | {"department": "social"}, kid)
    assert "household.risk_assessed" in social and "child.diagnosed" not in social


def test_a_retraction_is_shown_only_with_what_it_retracts(world):
    diagnosis = event("medical", "child.diagnosed", subject=KID, payload={"icd10": "B20"}, occurred_days_ago=20)
    retracted = event("medical", "event.retracted", subject=KID, payload={"reason": "wrong child"},
                      supersedes=diagnosis["event_id"], occurred_days_ago=19)
    kid = world.send(event("social", "child.enrolled", subject=KID), diagnosis, retracted)
    _, centre = kinds_seen(world, CENTRE, kid)
    assert "event.retracted" not in centre and "child.diagnosed" not in centre


def test_every_event_type_has_a_kind_and_every_role_a_row():
    from childlink_contracts.registry import EVENT_TYPES

    child_types = {t.type for t in EVENT_TYPES if t.subject != "centre"} - {"event.retracted"}
    assert child_types <= set(KIND_OF_TYPE), child_types - set(KIND_OF_TYPE)
    from childlink_referral.access import NO_CHILD_DATA, ROLES

    assert set(SEES) == set(ROLES) - set(NO_CHILD_DATA)
    assert SOCIAL_WORKER["role"] in SEES
