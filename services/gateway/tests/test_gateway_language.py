"""Every page in one language: a Thai page shows no English words, an English page no Thai, outside
codes (ids, facility and event codes, acronyms such as DSPM or ICD-10) and proper names from the data."""

import json
import time

import pytest
from childlink_common.testing.events import child, event
from childlink_gateway import language_check
from childlink_gateway.fake_referral import (
    FakeReferral,
    sample_child,
    sample_record,
    sample_referral,
    sample_review,
)
from childlink_gateway.operations.pages import OperatorConsole
from childlink_gateway.seed import DEMO_USERS
from childlink_gateway.testing import Browser
from childlink_monitor.alerts import Thresholds
from childlink_monitor.console import MonitorApp
from childlink_monitor.store.sqlite_store import SqliteMonitorStore
from childlink_monitor.testing import InProcessMonitor, RecordingReplayer
from werkzeug.test import Client
from werkzeug.wrappers import Request

STAFF_PAGES = ("/referrals", "/referrals/r-1", "/children/c-1", "/children/c-1?reason=care", "/children/search",
               "/identity/reviews", "/identity/reviews/ir-1", "/audit", "/no-such-page")
OPERATOR_PAGES = ("/operator", "/operator/dead-letters", "/operator/flows/health", "/operator/alerts")


def data_strings():
    """Names and other values that come from the records, not from the page's words."""
    values = set()

    def walk(value):
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)
        elif isinstance(value, str):
            values.add(value)
    walk([sample_child(), sample_child("c-2"), sample_referral(), sample_review(), DEMO_USERS,
          sample_record("local:social:CDC-1001-001:S7", given_name="ด.ญ.สมใจ", family_name="ใจดี")])
    return values


def foreign(page, lang):
    return language_check.foreign(page, lang, data_strings())


@pytest.fixture
def everywhere(app, store, tmp_path):
    referral = FakeReferral()
    monitor_store = SqliteMonitorStore(tmp_path / "monitor.sqlite3")
    monitor_app = MonitorApp(monitor_store, replayer=RecordingReplayer(), thresholds=Thresholds(silence_floor_s=60.0))
    now = time.time()
    for i in range(6):
        monitor_app.on_event("health", "child.screened", f"e{i}", now - 50 + i * 10)
        monitor_app.on_event("social", "child.enrolled", f"s{i}", now - 400 + i * 20)
    ev = event("health", "child.screened", subject=child())
    monitor_app.on_dead_letter(json.dumps(ev).encode(), {
        "event_id": ev["event_id"], "department": "health", "type": ev["type"], "version": 1,
        "x-childlink-reason": "max_attempts", "x-childlink-error": "IntegrityError: UNIQUE constraint failed",
        "x-childlink-queue": "referral.health.events", "x-childlink-exchange": "health.events",
        "x-childlink-routing-key": ev["type"], "x-childlink-attempts": 5,
        "x-childlink-first-failure": "2025-03-01T01:00:00+00:00", "x-childlink-last-failure": "2025-03-01T01:00:02+00:00",
        "x-delivery-count": 4}, {"content_type": "application/json", "message_id": ev["event_id"]},
        {"routing_key": "referral.health.events"})
    monitor_app.flush()
    monitor_app.poll()
    monitor = InProcessMonitor(monitor_app)
    console = OperatorConsole(app)
    browser = Browser(app, referral)

    def wsgi(environ, start_response):
        request = Request(environ)
        handler = console.handle(request, monitor) if request.path.startswith("/operator") \
            else app.handle(request, referral)
        return handler(environ, start_response)

    browser.client = Client(wsgi)
    yield browser
    monitor_store.close()


def pages_of(browser, username, paths, lang):
    browser.sign_in(username)
    browser.post("/prefs", {"lang": lang, "next": "/"})
    for path in paths:
        response = browser.get(path)
        if response.status_code // 100 != 3:  # a redirect's body is werkzeug's, never shown
            yield path, response.get_data(as_text=True)


@pytest.mark.parametrize("lang", ["th", "en"])
def test_every_staff_page_is_in_the_viewers_language(everywhere, lang):
    found = {}
    for username in ("hosp.anan", "reg.suda", "audit.ratana"):
        for path, page in pages_of(everywhere, username, STAFF_PAGES, lang):
            if words := foreign(page, lang):
                found[f"{username} {path}"] = sorted(set(words))[:12]
    assert found == {}


@pytest.mark.parametrize("lang", ["th", "en"])
def test_the_sign_in_page_and_a_search_answer_are_in_the_chosen_language(everywhere, lang):
    everywhere.get("/signin")
    everywhere.post("/prefs", {"lang": lang, "next": "/signin"})
    assert foreign(everywhere.get("/signin").get_data(as_text=True), lang) == []
    everywhere.sign_in("hc.somsri")
    for query in ({"name": "สมใจ"}, {"name": "ไม่มีใคร"}, {}):
        page = everywhere.post("/children/search", query).get_data(as_text=True)
        assert foreign(page, lang) == [], query


@pytest.mark.parametrize("lang", ["th", "en"])
def test_every_operator_page_is_in_the_viewers_language(everywhere, lang):
    found = {}
    for path, page in pages_of(everywhere, "ops.niran", OPERATOR_PAGES, lang):
        if words := foreign(page, lang):
            found[path] = sorted(set(words))[:12]
    assert found == {}


def test_the_check_catches_a_word_in_the_other_language():
    assert foreign("<p>รายการ referral ทั้งหมด</p>", "th") == ["referral"]
    assert foreign("<p>All ส่งต่อ</p>", "en") == ["ส่งต่อ"]
    assert foreign("<p>ICD-10 F80.1 DSPM HC-1001-01 child.screened</p>", "th") == []

