"""The city pages over the real insights domain (in-process, SQLite): who sees what, the map and tables in
Thai and English with Buddhist-era months, small cells hidden and left out of the CSV, views and refusals
audited."""

import csv
import io
import re

import pytest
from childlink_gateway.city.districts import districts
from childlink_gateway.city.pages import CityConsole
from childlink_gateway.testing import Browser
from childlink_insights.aggregate import Aggregator
from childlink_insights.store.sqlite_store import SqliteInsightsStore
from childlink_insights.testing import InProcessInsights
from childlink_referral.growth import zscores
from werkzeug.test import Client
from werkzeug.wrappers import Request

DOMAINS = ("gross_motor", "fine_motor", "receptive_language", "expressive_language", "personal_social")
MONTH = "2024-10"  # children born 10 Jan 2024 reach 9 months in October 2024


def screening(n, district, result="normal", centre_district=None):
    return {
        "event_id": f"00000000-0000-4000-8000-{n:012d}", "type": "child.screened", "version": 1,
        "occurred_at": "2024-10-20T03:00:00Z", "recorded_at": "2024-10-20T03:00:00Z",
        "source": {"department": "health", "system": "t",
                   "facility": {"code": f"HC-{district}-01", "district_code": district}},
        "subject": {"child": {"local_id": f"L{n}", "birth_date": "2024-01-10", "sex": "female",
                              "district_code": district, "given_name": "สมใจ"}},
        "payload": {"age_band_months": 9, "rescreen": False, "domains": {d: result for d in DOMAINS}},
    }


def centre(centre_id, district, level):
    base = {"version": 1, "occurred_at": "2024-06-01T03:00:00Z", "recorded_at": "2024-06-01T03:00:00Z",
            "source": {"department": "social", "system": "t", "facility": {"code": centre_id, "district_code": district}},
            "subject": {"centre": {"centre_id": centre_id, "district_code": district}}}
    return [{**base, "event_id": f"10000000-0000-4000-8000-{abs(hash(centre_id)) % 10**12:012d}",
             "type": "centre.registered", "payload": {"name": "ศูนย์", "capacity": 30}},
            {**base, "event_id": f"20000000-0000-4000-8000-{abs(hash(centre_id)) % 10**12:012d}",
             "type": "centre.assessed", "payload": {"standard_score": 80, "level": level}}]


@pytest.fixture
def insights(tmp_path):
    store = SqliteInsightsStore(tmp_path / "insights.sqlite3")
    aggregator = Aggregator(store, zscores)
    n = 0
    for _ in range(9):  # Phra Nakhon: 9 on track of 10 (90%, meets 85%)
        n += 1
        aggregator.take(screening(n, "1001"))
    n += 1
    aggregator.take(screening(n, "1001", "suspected_delay"))
    for _ in range(8):  # Dusit: 5 of 8 (62.5%, below)
        n += 1
        aggregator.take(screening(n, "1002", "suspected_delay" if n % 3 == 0 else "normal"))
    for _ in range(2):  # Bang Rak: 2 children: "<5"
        n += 1
        aggregator.take(screening(n, "1004"))
    for event in centre("CDC-1001-001", "1001", "good") + centre("CDC-1001-002", "1001", "basic"):
        aggregator.take(event)
    aggregator.flush()
    yield InProcessInsights(store)
    store.close()


@pytest.fixture
def city(app, referral, insights):
    console = CityConsole(app)
    browser = Browser(app, referral)

    def wsgi(environ, start_response):
        request = Request(environ)
        handler = console.handle(request, insights) if request.path.startswith("/city") \
            else app.handle(request, referral)
        return handler(environ, start_response)

    browser.client = Client(wsgi)
    return browser


def text(response):
    return response.get_data(as_text=True)


def test_an_executive_sees_every_district_on_the_map_coloured_against_the_target(city):
    city.sign_in("exec.prapa")
    assert city.get("/").headers["Location"].endswith("/city")
    page = city.get(f"/city?indicator=dspm_on_track_9&month={MONTH}")
    html = text(page)
    assert page.status_code == 200
    tiles = dict(re.findall(r'id="tile-(\d{4})" data-status="([a-z]+)"', html))
    assert len(tiles) == 50 and set(tiles) == set(districts())
    assert tiles["1001"] == "meets" and tiles["1002"] == "misses" and tiles["1004"] == "small"
    assert tiles["1050"] == "none"
    assert re.search(r'id="district-1001" data-status="meets">.*?90\.0%', html, re.DOTALL)
    assert re.search(r'id="district-1004" data-status="small">.*?&lt;5', html, re.DOTALL)
    assert "ต.ค. 2567" in html  # October 2024 in the Buddhist era
    assert "พระนคร" in html and "กลุ่มกรุงธนเหนือ" in html
    assert "สมใจ" not in html  # no child on a city page
    city.post("/prefs", {"lang": "en", "next": "/city"})
    html = text(city.get(f"/city?indicator=dspm_on_track_9&month={MONTH}"))
    assert "Phra Nakhon" in html and "North Thonburi" in html and "Oct 2567 BE" in html


def test_the_csv_leaves_out_small_cells(city):
    city.sign_in("exec.prapa")
    response = city.get(f"/city.csv?indicator=dspm_on_track_9&month={MONTH}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(text(response).lstrip("\ufeff"))))
    by_code = {row["district_code"]: row for row in rows}
    assert set(by_code) == {"1001", "1002"}  # Bang Rak's two children are left out
    assert by_code["1001"]["numerator"] == "9" and by_code["1001"]["denominator"] == "10"
    assert by_code["1001"]["meets_target"] == "True" and by_code["1002"]["meets_target"] == "False"


def test_a_district_officer_sees_their_district_its_centres_and_not_another(city, app):
    city.sign_in("district.wichai")  # district 1001
    assert city.get("/city").headers["Location"].endswith("/city/districts/1001")
    html = text(city.get(f"/city/districts/1001?month={MONTH}"))
    assert 'id="ind-dspm_on_track_9"' in html
    assert re.search(r'id="ind-dspm_on_track_9".*?90\.0%', html, re.DOTALL)
    assert "CDC-1001-001" in html and "HC-1001-01" in html
    assert re.search(r'id="ind-centres_good".*?50\.0%', html, re.DOTALL)  # centres are not children: no "<5"
    assert city.get(f"/city/centres/CDC-1001-001?month={MONTH}").status_code == 200
    assert city.get("/city/districts/1002").status_code == 403
    assert city.get("/city/centres/CDC-1002-001").status_code == 403
    _, entries = app.store.audit_entries({"user_id": "u-district.wichai"}, 1, 50)
    outcomes = {(e["target_id"], e["outcome"]) for e in entries if e["action"] == "city.view"}
    assert ("1001", "allowed") in outcomes and ("1002", "refused:role") in outcomes


def test_a_centre_head_sees_only_their_centre_and_staff_see_no_city_page(city):
    city.sign_in("head.wilai")
    assert city.get("/city").headers["Location"].endswith("/city/centres/CDC-1001-001")
    assert city.get("/city/centres/CDC-1001-001").status_code == 200
    assert city.get("/city/centres/CDC-1001-002").status_code == 403
    assert city.get("/city/districts/1001").status_code == 403
    assert city.get("/children/abc").status_code == 403  # and no child page
    staff = city
    staff.post("/signout", {})
    staff.sign_in("hc.somsri")
    assert staff.get("/city").status_code == 403


def test_signed_out_goes_to_sign_in_and_unknown_districts_are_404(city):
    assert city.get("/city").status_code == 303
    city.sign_in("exec.prapa")
    assert city.get("/city/districts/9999").status_code == 404
    assert city.get("/city/districts/1001?month=garbage").status_code == 200  # falls back to this month


def test_children_with_an_overdue_dose_are_chosen_shown_and_downloaded_in_both_languages(city):
    """Every screened child here has no dose recorded: overdue since February 2024 (BCG), so in October 10
    in Phra Nakhon, 8 in Dusit, Bang Rak's 2 hidden."""
    city.sign_in("exec.prapa")
    html = text(city.get(f"/city?indicator=epi_overdue&month={MONTH}"))
    assert re.search(r'<option value="epi_overdue"[^>]*selected', html), "chosen in the indicator list"
    assert "เด็กที่มีวัคซีนค้างเกินกำหนด" in html
    found = re.search(r'id="district-1001" data-status="[a-z]+">(.*?)</tr>', html, re.DOTALL)
    assert found and '<td class="num">10</td>' in found.group(1), found
    assert re.search(r'id="district-1004" data-status="small">.*?&lt;5', html, re.DOTALL)
    rows = list(csv.DictReader(io.StringIO(text(city.get(f"/city.csv?indicator=epi_overdue&month={MONTH}"))
                                           .lstrip("\ufeff"))))
    assert {row["district_code"]: row["numerator"] for row in rows} == {"1001": "10", "1002": "8"}
    district = text(city.get(f"/city/districts/1001?month={MONTH}"))
    assert "เด็กที่มีวัคซีนค้างเกินกำหนด" in district
    city.post("/prefs", {"lang": "en", "next": "/city"})
    html = text(city.get(f"/city?indicator=epi_overdue&month={MONTH}"))
    assert "Children with an overdue dose" in html and "เด็กที่มีวัคซีนค้างเกินกำหนด" not in html
