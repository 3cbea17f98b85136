"""The city's figures end to end: real health, medical, social, referral and insights services, the real
RabbitMQ: simulated events move the right cells, and a referral raised by the referral service is counted
from `referral.events`."""

import datetime as dt

import pytest
import requests
from childlink_common.testing.events import child, event
from childlink_common.testing.services import DEPARTMENTS, STAFF_KEY, System, wait_until
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
