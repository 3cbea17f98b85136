"""The city's pages in real headless Chromium against the real services (health, social, referral,
insights, gateway): an executive sees the districts on the map in Thai and English, a district officer
lands on their district, a centre head on their centre. Screenshots are kept as artifacts."""

import datetime as dt
from types import SimpleNamespace

import pytest
from childlink_common.testing.events import BANGKOK, child, event
from childlink_common.testing.services import STAFF_KEY, System, wait_until
from childlink_contracts import with_check_digit

from .conftest import Staff, progress, seed_users

pytestmark = pytest.mark.e2e
SERVICES = ("social", "health", "referral", "insights", "gateway")
DOMAINS = ("gross_motor", "fine_motor", "receptive_language", "expressive_language", "personal_social")


def add_months(day, months):
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, min(day.day, 28))


@pytest.fixture(scope="module")
def city(amqp_uri, tmp_path_factory):
    work = tmp_path_factory.mktemp("city-system")
    system = System(amqp_uri, work, services=SERVICES)
    try:
        system.start()
        seed_users(work / "data")
        today = dt.datetime.now(BANGKOK).date()
        birth = add_months(today, -9) - dt.timedelta(days=12)  # screened 10 days ago, 9 months and 2 days old
        screenings = []
        for n in range(8):  # district 1001: 7 of 8 on track (87.5%: meets 85%)
            result = "suspected_delay" if n == 0 else "normal"
            screenings.append(event("health", "child.screened", occurred_days_ago=10,
                                    subject=child(local_id=f"C{n}", national_id=with_check_digit(f"1103700010{n:02d}"),
                                                  birth_date=birth.isoformat()),
                                    payload={"age_band_months": 9,
                                             "domains": {d: result if d == "fine_motor" else "normal" for d in DOMAINS}}))
        assert system.post("health", screenings).status_code == 202
        centre = {"centre_id": "CDC-1001-001", "name": "ศูนย์พัฒนาเด็กก่อนวัยเรียนชุมชนวัดโพธิ์", "district_code": "1001"}
        centre_events = [
            {**event("social", "centre.registered", subject=None, payload={"name": centre["name"], "capacity": 40},
                     facility="CDC-1001-001", occurred_days_ago=400), "subject": {"centre": centre}},
            {**event("social", "centre.assessed", subject=None, payload={"standard_score": 81, "level": "good"},
                     facility="CDC-1001-001", occurred_days_ago=100), "subject": {"centre": centre}},
        ]
        assert system.post("social", centre_events).status_code == 202, "centre events"
        month = f"{add_months(birth, 9).year:04d}-{add_months(birth, 9).month:02d}"

        def counted():
            import requests
            answer = requests.get(f"{system['insights'].url}/v1/overview", timeout=10, headers={"X-API-Key": STAFF_KEY},
                                  params={"indicator": "dspm_screened_9", "month": month}).json()
            return (answer["districts"].get("1001") or {}).get("numerator") == 8
        wait_until(counted, timeout=90, message="insights counted the screenings")
        progress("city figures ready", month)
        yield SimpleNamespace(system=system, base=system["gateway"].url, timings=[], month=month)
    finally:
        system.stop()


def test_an_executive_sees_the_city_map_in_thai_and_english(chromium, city, artifacts):
    executive = Staff(chromium, city, "exec.prapa")
    try:
        assert executive.page.url.endswith("/city")
        executive.goto(f"/city?indicator=dspm_on_track_9&month={city.month}")
        assert executive.page.locator("#tile-1001").get_attribute("data-status") == "meets"
        assert executive.page.locator("#tile-1050").get_attribute("data-status") == "none"
        assert "87.5%" in executive.text("#district-1001")
        assert "พระนคร" in executive.text("#districts") and "กลุ่มกรุงเทพกลาง" in executive.page.content()
        assert str(int(city.month[:4]) + 543) in executive.text("#headline")
        executive.page.screenshot(path=str(artifacts / "city-overview-th.png"), full_page=True)
        executive.switch_language()
        assert "Phra Nakhon" in executive.text("#districts") and "district by district" in executive.text("h1")
        executive.page.screenshot(path=str(artifacts / "city-overview-en.png"), full_page=True)
        executive.goto(f"/city/districts/1001?month={city.month}")
        assert "CDC-1001-001" in executive.text("#centres")
        executive.page.screenshot(path=str(artifacts / "city-district-en.png"), full_page=True)
    finally:
        executive.close()


def test_a_district_officer_and_a_centre_head_land_on_their_own(chromium, city, artifacts):
    officer = Staff(chromium, city, "district.wichai")
    head = Staff(chromium, city, "head.wilai")
    try:
        officer.goto("/city")
        assert "/city/districts/1001" in officer.page.url
        assert "87.5%" in officer.text("#ind-dspm_on_track_9") or "87.5%" in officer.text("#trends")
        officer.page.screenshot(path=str(artifacts / "city-district-th.png"), full_page=True)
        assert officer.goto("/city/districts/1002").status == 403
        assert "/city/centres/CDC-1001-001" in head.page.url
        assert "100.0%" in head.text("#ind-centres_good")
        head.page.screenshot(path=str(artifacts / "city-centre-th.png"), full_page=True)
    finally:
        officer.close()
        head.close()
