"""What each viewer sees: list_referrals (scope by role, filters, paging), get_referral, and the child page
(growth with WHO z-scores and bands, DSPM domains over time, immunisations against the schedule,
referral transitions on the timeline, consent)."""

import datetime as dt

import pytest
from childlink_common.testing.events import child, event
from childlink_referral.child_page import child_page
from childlink_referral.queries import get_referral, list_referrals
from childlink_referral.testing import (
    CENTRE,
    DEPARTMENT_STAFF,
    DISTRICT_OFFICER,
    HC,
    HOSPITAL,
    OPERATOR,
    OTHER_HC,
    SOCIAL_WORKER,
    consent,
    immunised,
    screening,
)
from childlink_referral.times import bangkok_date


@pytest.fixture
def city(world):
    """Three children: a delayed screening (-> hospital), high household risk (-> social worker), and a
    severely underweight infant (-> nutrition and household support), all at HC-1001-01 / district 1001."""
    born = (bangkok_date(world.clock.now) - dt.timedelta(days=365)).isoformat()
    world.kids = {
        "delayed": world.send(screening({"fine_motor": "delayed"}, subject=child(local_id="A", national_id=None))),
        "risk": world.send(event("social", "household.risk_assessed", subject=child(local_id="B", national_id=None),
                                 payload={"risk_level": "high", "factors": ["violence"]})),
        "thin": world.send(*[immunised(v, d, subject=child(local_id="C", national_id=None, birth_date=born),
                                       occurred_days_ago=300) for v, d in (("BCG", 1), ("HBV", 1))],
                           event("health", "child.growth_measured", subject=child(local_id="C", national_id=None,
                                                                                   birth_date=born),
                                 payload={"weight_kg": 5.9, "height_cm": 74.0, "measured_lying": True})),
    }
    return world


def listed(world, viewer, filters=None, page=1, page_size=50):
    answer = list_referrals(world.store, viewer, filters, page, page_size, world.clock.now)
    assert answer["ok"], answer
    return answer


def reasons(answer):
    return sorted(r["reason"] for r in answer["items"])


# --- list_referrals ------------------------------------------------------------------------------


def test_each_role_sees_its_own_referrals(city):
    assert reasons(listed(city, HOSPITAL)) == ["dspm_delayed"]
    assert reasons(listed(city, SOCIAL_WORKER)) == ["household_support", "social_follow_up"]
    assert "dspm_delayed" in reasons(listed(city, HC)) and "nutrition_follow_up" in reasons(listed(city, HC))
    assert "social_follow_up" not in reasons(listed(city, HC))  # raised by the centre, sent to DSW
    assert reasons(listed(city, DISTRICT_OFFICER)) == reasons(listed(city, DISTRICT_OFFICER | {"district": "1001"}))
    assert len(listed(city, DISTRICT_OFFICER)["items"]) == listed(city, DISTRICT_OFFICER)["total"] >= 5
    assert reasons(listed(city, DEPARTMENT_STAFF)) == ["dspm_delayed"]  # medical: to a hospital
    assert listed(city, OTHER_HC)["total"] == 0
    assert listed(city, {**SOCIAL_WORKER, "district": "1002"})["total"] == 0


def test_every_item_carries_what_the_viewer_may_do(city):
    [item] = listed(city, HOSPITAL)["items"]
    assert item["allowed_actions"] == ["accept", "reject", "mark_entered_in_error"]
    [same] = [r for r in listed(city, HC)["items"] if r["reason"] == "dspm_delayed"]
    assert same["allowed_actions"] == ["cancel", "mark_entered_in_error"]
    assert all(r["allowed_actions"] == [] for r in listed(city, DISTRICT_OFFICER)["items"])
    assert "rule_key" not in item and item["overdue"] is False


@pytest.mark.parametrize("filters, expected", [
    ({"status": "requested"}, ["dspm_delayed", "household_support", "nutrition_follow_up", "social_follow_up"]),
    ({"status": ["completed"]}, []),
    ({"reason": "dspm_delayed"}, ["dspm_delayed"]),
    ({"reason": ["dspm_delayed", "nutrition_follow_up"]}, ["dspm_delayed", "nutrition_follow_up"]),
    ({"facility": "HOSP-1008"}, ["dspm_delayed"]),
    ({"facility": "DSW-1001"}, ["household_support", "social_follow_up"]),
    ({"department": "medical"}, ["dspm_delayed"]),
    ({"district": "1008"}, ["dspm_delayed"]),
    ({"overdue": True}, []),
    ({"overdue": False}, ["dspm_delayed", "household_support", "nutrition_follow_up", "social_follow_up"]),
])
def test_filters(city, filters, expected):
    found = [r for r in reasons(listed(city, DISTRICT_OFFICER, filters)) if r != "immunisation_overdue"]
    assert found == expected


def test_filter_by_child(city):
    answer = listed(city, DISTRICT_OFFICER, {"child_id": city.kids["thin"]})
    # two reminders: the first episode (birth doses late) ended when HBV1 came, and a new one began at 3 months
    assert sorted(set(reasons(answer))) == ["household_support", "immunisation_overdue", "nutrition_follow_up"]
    assert {r["child_id"] for r in answer["items"]} == {city.kids["thin"]}


def test_overdue_filter_and_flag(city, monkeypatch):
    city.clock.advance(days=15)  # past the 14-day deadline of the nutrition and social referrals
    answer = listed(city, DISTRICT_OFFICER, {"overdue": True})
    assert reasons(answer) == ["household_support", "nutrition_follow_up", "social_follow_up"]
    assert all(r["overdue"] for r in answer["items"])


def test_paging_is_stable_and_counts_everything(city):
    total = listed(city, DISTRICT_OFFICER)["total"]
    pages = [listed(city, DISTRICT_OFFICER, page=p, page_size=2) for p in range(1, total // 2 + 2)]
    seen = [r["referral_id"] for page in pages for r in page["items"]]
    assert len(seen) == len(set(seen)) == total
    assert all(page["total"] == total for page in pages)
    assert [r["referral_id"] for r in listed(city, DISTRICT_OFFICER)["items"]] == seen


@pytest.mark.parametrize("viewer, filters, page, page_size, code, field", [
    (OPERATOR, None, 1, 50, "forbidden", None),
    ({"role": "auditor", "user_id": "a"}, None, 1, 50, "forbidden", None),
    ({"role": "centre_staff"}, None, 1, 50, "invalid", "viewer.facility"),
    ({"role": "social_worker"}, None, 1, 50, "invalid", "viewer.district"),
    ({"role": "department_staff"}, None, 1, 50, "invalid", "viewer.department"),
    (None, None, 1, 50, "invalid", "viewer"),
    (HC, {"colour": "red"}, 1, 50, "invalid", "filters.colour"),
    (HC, {"status": "lost"}, 1, 50, "invalid", "filters.status"),
    (HC, {"reason": ["dspm_delayed", 3]}, 1, 50, "invalid", "filters.reason"),
    (HC, {"overdue": "yes"}, 1, 50, "invalid", "filters.overdue"),
    (HC, "status=open", 1, 50, "invalid", "filters"),
    (HC, None, 0, 50, "invalid", "page"),
    (HC, None, 1, 500, "invalid", "page_size"),
    (HC, None, 1, True, "invalid", "page_size"),
])
def test_bad_list_arguments_are_refused_naming_them(city, viewer, filters, page, page_size, code, field):
    answer = list_referrals(city.store, viewer, filters, page, page_size, city.clock.now)
    assert answer["ok"] is False and answer["error"]["code"] == code
    assert answer["error"].get("field") == field


# --- get_referral --------------------------------------------------------------------------------


def test_get_referral_by_who_may_see_it(city):
    [referral] = listed(city, HOSPITAL)["items"]
    rid = referral["referral_id"]
    assert get_referral(city.store, HOSPITAL, rid, city.clock.now)["referral"] == referral
    assert get_referral(city.store, HC, rid, city.clock.now)["ok"]
    assert get_referral(city.store, OTHER_HC, rid, city.clock.now)["error"]["code"] == "forbidden"
    assert get_referral(city.store, SOCIAL_WORKER, rid, city.clock.now)["error"]["code"] == "forbidden"
    assert get_referral(city.store, HOSPITAL, "r-missing", city.clock.now)["error"]["code"] == "not_found"
    assert get_referral(city.store, OPERATOR, rid, city.clock.now)["error"]["code"] == "forbidden"


# --- the child page ------------------------------------------------------------------------------


def page(world, viewer, child_id):
    return child_page(world.store, viewer, child_id, world.clock.now)


def test_the_child_page_has_every_section(city):
    answer = page(city, HC, city.kids["thin"])
    assert answer["ok"], answer
    shown = answer["child"]
    assert set(shown) == {"child_id", "profile", "consent", "timeline", "growth", "dspm", "immunisations",
                          "referrals", "identity_reviews"}
    assert shown["profile"]["given_name"] == "สมใจ" and 11.5 < shown["profile"]["age_months"] < 12.5
    assert shown["consent"] == {"shared": True, "refused_by": [], "notice": None, "records": []}


def test_growth_points_carry_who_z_scores_bands_and_reference_curves(city):
    growth = page(city, HC, city.kids["thin"])["child"]["growth"]
    [point] = growth["points"]
    assert point["weight_kg"] == 5.9 and point["measured_lying"] is True
    assert point["z"]["z_wfa"] == pytest.approx(-3.4, abs=0.1)
    assert point["band"]["wfa"] == "severe" and point["band"]["lhfa"] == "normal"
    curves = growth["bands"]["weight_for_age"]
    assert curves[0]["age_months"] == 0 and curves[-1]["age_months"] >= 14
    at_12 = next(c for c in curves if c["age_months"] == 12)["sd"]
    assert at_12["0"] == pytest.approx(8.9, abs=0.05)  # WHO girls' median weight at 12 months
    assert at_12["-3"] < at_12["-2"] < at_12["0"] < at_12["2"] < at_12["3"]
    assert set(growth["bands"]) == {"weight_for_age", "length_height_for_age", "weight_for_length",
                                    "weight_for_height"}
    assert [b["band"] for b in growth["z_bands"]] == ["severe", "moderate", "normal", "high"]


def test_dspm_domains_over_time(world):
    first = screening({"expressive_language": "suspected_delay"}, occurred_days_ago=60)
    again = screening({"expressive_language": "delayed"}, rescreen=True, occurred_days_ago=20)
    child_id = world.send(again, first)
    dspm = page(world, HC, child_id)["child"]["dspm"]
    assert [s["event_id"] for s in dspm["screenings"]] == [first["event_id"], again["event_id"]]
    assert [s["result"] for s in dspm["by_domain"]["expressive_language"]] == ["suspected_delay", "delayed"]
    assert [s["result"] for s in dspm["by_domain"]["gross_motor"]] == ["normal", "normal"]
    assert dspm["screenings"][1]["rescreen"] is True


def test_immunisations_against_the_schedule(city):
    imms = page(city, HC, city.kids["thin"])["child"]["immunisations"]
    by_dose = {(row["vaccine"], row["dose"]): row for row in imms["schedule"]}
    assert by_dose[("BCG", 1)]["status"] == "given" and by_dose[("BCG", 1)]["given_on"]
    assert ("HBV", 2) not in by_dose  # only for an infant of an HBsAg-positive mother
    assert by_dose[("MMR", 1)]["status"] == "overdue"  # 12 months old: due at 9, overdue from 10
    assert by_dose[("JE", 1)]["status"] == "due"  # LAJE1 at 12 months
    assert by_dose[("JE", 2)]["status"] == "upcoming"
    assert by_dose[("ROTA", 1)]["status"] == "too_late" and ("ROTA", 3) not in by_dose  # product unknown: 2 doses
    assert {(o["vaccine"], o["dose"]) for o in imms["overdue"]} >= {("MMR", 1), ("OPV", 1)}
    assert not {("ROTA", 1), ("ROTA", 2)} & {(o["vaccine"], o["dose"]) for o in imms["overdue"]}
    assert sorted((g["vaccine"], g["dose"]) for g in imms["given"]) == [("BCG", 1), ("HBV", 1)]


def test_referral_transitions_and_the_outcome_show_on_the_childs_timeline(city):
    [referral] = listed(city, HOSPITAL)["items"]
    city.referrals.act(HOSPITAL, referral["referral_id"], "accept", {}, 1)
    city.referrals.act(HOSPITAL, referral["referral_id"], "complete", {"outcome": "treated", "notes": "ok"}, 2)
    timeline = page(city, HC, city.kids["delayed"])["child"]["timeline"]
    assert ("health", "child.screened") in [(e["department"], e["type"]) for e in timeline]
    mine = [e for e in timeline if e["department"] == "referral"
            and e["payload"]["referral_id"] == referral["referral_id"]]
    assert sorted(e["type"] for e in mine) == ["referral.accepted", "referral.completed", "referral.requested"]
    [completed] = [e for e in mine if e["type"] == "referral.completed"]
    assert completed["payload"]["outcome"] == "treated" and completed["payload"]["reason"] == "dspm_delayed"
    assert completed["facility_code"] == "HOSP-1008" and completed["status"] == "current"


def test_who_may_open_a_child_page(city):
    kid = city.kids["delayed"]
    assert page(city, HOSPITAL, kid)["ok"]  # a referral to the hospital
    assert page(city, HC, kid)["ok"]  # an event from the health centre
    assert page(city, DISTRICT_OFFICER, kid)["ok"]
    assert page(city, OTHER_HC, kid)["error"]["code"] == "forbidden"
    assert page(city, SOCIAL_WORKER, kid)["error"]["code"] == "forbidden"
    assert page(city, SOCIAL_WORKER, city.kids["risk"])["ok"]  # a social referral in their district
    assert page(city, CENTRE, city.kids["risk"])["ok"]  # an event from the centre
    assert page(city, DEPARTMENT_STAFF | {"department": "social"}, city.kids["risk"])["ok"]
    assert page(city, OPERATOR, kid)["error"]["code"] == "forbidden"
    assert page(city, HC, "no-such-child")["error"]["code"] == "not_found"


def test_consent_refused_hides_the_record_from_other_departments(world):
    kid = child(local_id="S-1")  # with the national ID: the centre's and the health centre's child are one
    child_id = world.send(event("social", "household.risk_assessed", subject=kid,
                                payload={"risk_level": "high", "factors": []}),
                          screening(subject=kid), consent("social", "refused", subject=kid, occurred_days_ago=3))
    outside = page(world, HC, child_id)["child"]
    assert outside["profile"] == {"child_id": child_id}
    assert outside["timeline"] == [] and outside["growth"] is None and outside["dspm"] is None
    assert outside["immunisations"] is None
    assert outside["consent"]["shared"] is False and outside["consent"]["refused_by"] == ["social"]
    assert "social" in outside["consent"]["notice"]
    inside = page(world, SOCIAL_WORKER, child_id)["child"]
    assert inside["consent"]["shared"] is True and inside["profile"]["given_name"] == "สมใจ"
    assert inside["timeline"] and [r["reason"] for r in inside["referrals"]] == ["social_follow_up"]


def test_the_inbox_names_each_referrals_child_with_birth_date_and_district(city):
    item = listed(city, HOSPITAL)["items"][0]
    assert item["child"] == {"name": "สมใจ ใจดี", "birth_date": "2024-03-15", "district_code": "1001"}
    referral = get_referral(city.store, HOSPITAL, item["referral_id"], city.clock.now)["referral"]
    assert referral["child"]["name"] == "สมใจ ใจดี"


def test_the_inbox_withholds_the_name_where_the_child_page_would(world):
    kid = child(local_id="S-2")
    world.send(event("social", "household.risk_assessed", subject=kid, payload={"risk_level": "high", "factors": []}),
               screening({"fine_motor": "delayed"}, subject=kid),
               consent("social", "refused", subject=kid, occurred_days_ago=3))
    to_hospital = listed(world, HOSPITAL)["items"]
    assert to_hospital and all(item["child"] == {"withheld": True} for item in to_hospital)
    social = listed(world, SOCIAL_WORKER)["items"]
    assert social and all(item["child"]["name"] == "สมใจ ใจดี" for item in social)
