"""The city's figures end to end: real health, medical, social, referral and insights services, the real
RabbitMQ: simulated events move the right cells, and a referral raised by the referral service is counted
from `referral.events`."""

import datetime as dt
import json

import pytest
import requests
from childlink_common.testing.events import child, event
from childlink_common.testing.services import (
    DEPARTMENTS,
    STAFF_KEY,
    System,
    identity_headers,
    wait_until,
)
from childlink_contracts import with_check_digit
from childlink_insights.calendar import BANGKOK, add_months, month_of
from childlink_insights.store.sqlite_store import SqliteInsightsStore

pytestmark = pytest.mark.e2e
DOMAINS = ("gross_motor", "fine_motor", "receptive_language", "expressive_language", "personal_social")


def cell(store, counter, month, scope="district", scope_id="1001"):
    return sum(r["value"] for r in store.cells(scope, [scope_id], [month], prefix=counter) if r["counter"] == counter)


@pytest.fixture
def system(rabbit_config, tmp_path):
    running = System(rabbit_config["AMQP_URI"], tmp_path, services=(*DEPARTMENTS, "referral", "insights")).start()
    yield running
    running.stop()


def test_screenings_and_a_referral_move_the_district_cells(system, tmp_path):
    today = dt.datetime.now(BANGKOK).date()
    birth = add_months(today, -18) - dt.timedelta(days=15)  # screened 10 days ago: 18 months and 5 days old
    reached = month_of(add_months(birth, 18))
    events = []
    for n in range(6):
        result = "delayed" if n == 0 else "normal"
        subject = child(local_id=f"E{n}", national_id=with_check_digit(f"11037000000{n:01d}"),
                        birth_date=birth.isoformat())
        events.append(event("health", "child.screened", subject=subject, payload={
            "age_band_months": 18, "domains": {d: (result if d == "fine_motor" else "normal") for d in DOMAINS}}))
    response = system.post("health", events)
    assert response.status_code == 202, response.text
    store = SqliteInsightsStore(tmp_path / "data" / "insights.sqlite3")
    try:
        wait_until(lambda: cell(store, "dspm.18.screened", reached) == 6, timeout=60, message="six screened")
        assert cell(store, "dspm.18.target", reached) == 6
        assert cell(store, "dspm.18.on_track", reached) == 5
        assert cell(store, "dspm.18.refer_now", reached) == 1
        # the delayed child's referral, raised by the referral service, arrives on referral.events
        wait_until(lambda: cell(store, "referrals.raised", today.strftime("%Y-%m")) >= 1, timeout=60,
                   message="referral counted")
    finally:
        store.close()
    headers = {"X-API-Key": STAFF_KEY}
    url = system["insights"].url
    view = requests.get(f"{url}/v1/overview", params={"indicator": "dspm_on_track_18", "month": reached},
                        headers=headers, timeout=10).json()
    assert view["districts"]["1001"]["value"] == round(100 * 5 / 6, 1)
    assert view["districts"]["1001"]["meets"] is False  # 83.3 < 85
    hidden = requests.get(f"{url}/v1/overview", params={"indicator": "dspm_suspected_18", "month": reached},
                          headers=headers, timeout=10).json()
    assert hidden["districts"]["1001"]["suppressed"] is True  # one child: "<5"
    refused = requests.get(f"{url}/v1/overview", params={"indicator": "nope", "month": reached},
                           headers=headers, timeout=10)
    assert refused.status_code == 422 and "indicator" in refused.json()["errors"]
    assert requests.get(f"{url}/v1/overview", timeout=10).status_code == 401
    assert requests.get(f"{url}/health", timeout=10).json()["status"] == "ok"


def test_a_child_the_referral_service_links_counts_once_and_twice_again_after_the_undo(system, tmp_path):
    """Two records of one child (a health centre's and a centre's, no national ID) that the referral
    service links automatically: `child.linked` on referral.events folds them into one child here;
    a registrar's undo (`child.unlinked`) makes them two again."""

    guardian = {"national_id": "3100701443816", "phone": "0812345678", "relation": "mother"}

    def subject(local_id, given_name):
        return child(local_id=local_id, national_id=None, given_name=given_name, family_name="รักไทย",
                     birth_date="2023-08-09", guardian=guardian)

    assert system.post("health", [event("health", "child.registered", subject=subject("HN-L-1", "ด.ญ. สมใจ"),
                                        occurred_days_ago=400)]).status_code == 202
    store = SqliteInsightsStore(tmp_path / "data" / "insights.sqlite3")
    try:
        wait_until(lambda: cell(store, "children.born", "2023-08", "city", "BKK") == 1, timeout=120,
                   message="the health centre's record counted")
        assert system.post("social", [event("social", "child.enrolled", subject=subject("CDC-L-1", "สมใจ"),
                                            occurred_days_ago=100)]).status_code == 202
        health_child = system.find_child(department="health", facility="HC-1001-01", local_id="HN-L-1")
        wait_until(lambda: system.find_child(department="social", facility="CDC-1001-01", local_id="CDC-L-1")
                   == health_child, timeout=120, message="the referral service linked the two records")
        # the link folds the centre's record into the health centre's child: one child, whatever the order
        wait_until(lambda: store.alias_of("child:rec:social:CDC-1001-01:CDC-L-1") == "child:rec:health:HC-1001-01:HN-L-1",
                   timeout=120, message="the link followed")
        assert cell(store, "children.born", "2023-08", "city", "BKK") == 1
        merges = [json.loads(store.alias_of(key)) for key in _merge_keys(store)]
        assert [m["status"] for m in merges] == ["applied"]
        registrar = identity_headers({"user_id": "reg.suda", "role": "registrar", "department": "health"})
        merge_id = _merge_keys(store)[0].removeprefix("merge:")
        undo = requests.post(f"{system['referral'].url}/v1/identity/merges/{merge_id}/undo",
                             json={"reason": "two children after all", "expected_version": 1}, headers=registrar,
                             timeout=10)
        assert undo.status_code == 200, undo.text
        wait_until(lambda: cell(store, "children.born", "2023-08", "city", "BKK") == 2, timeout=120,
                   message="the undo followed: two children again")
    finally:
        store.close()


def _merge_keys(store):
    rows = store.db.read("SELECT record FROM aliases WHERE record LIKE 'merge:%'")
    return [row["record"] for row in rows]
