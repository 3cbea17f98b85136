"""The operator pages over the real monitor domain (in-process, SQLite, a replayer that only records):
access by role, no child data on any page, replay and discard audited, raw view only for the
department's own staff and only with a reason."""

import json
import re
import time

import pytest
from childlink_common.testing.events import child, event
from childlink_gateway.operations.i18n import catalogue
from childlink_gateway.operations.pages import OperatorConsole
from childlink_gateway.testing import Browser
from childlink_monitor.alerts import Thresholds
from childlink_monitor.console import MonitorApp
from childlink_monitor.store.sqlite_store import SqliteMonitorStore
from childlink_monitor.testing import InProcessMonitor, RecordingReplayer
from werkzeug.wrappers import Request

NATIONAL_ID = "1234567890121"


def dead_letter_headers(ev, reason="max_attempts", error="IntegrityError: poison"):
    return {"event_id": ev["event_id"], "department": "health", "type": ev["type"], "version": 1,
            "x-childlink-reason": reason, "x-childlink-error": error, "x-childlink-queue": "referral.health.events",
            "x-childlink-exchange": "health.events", "x-childlink-routing-key": ev["type"],
            "x-childlink-attempts": 5, "x-childlink-first-failure": "2025-03-01T01:00:00+00:00",
            "x-childlink-last-failure": "2025-03-01T01:00:02+00:00", "x-delivery-count": 4,
            "x-childlink-traceback": "Traceback ... IntegrityError"}


@pytest.fixture
def monitor_app(tmp_path):
    store = SqliteMonitorStore(tmp_path / "monitor.sqlite3")
    app = MonitorApp(store, replayer=RecordingReplayer(), thresholds=Thresholds(silence_floor_s=60.0))
    yield app
    store.close()


@pytest.fixture
def monitor(monitor_app):
    now = time.time()
    for i in range(6):
        monitor_app.on_event("health", "child.screened", f"e{i}", now - 50 + i * 10)
        monitor_app.on_event("social", "child.enrolled", f"s{i}", now - 200 + i * 20)  # quiet for 100 s
    monitor_app.on_notice({"stored": [{"event_id": "e5", "department": "health", "type": "child.screened",
                                       "stored_at": now + 0.25, "recorded_at": "2025-01-01T00:00:00Z"}]})
    monitor_app.flush()
    monitor_app.poll()
    return InProcessMonitor(monitor_app)


def add_dead_letter(monitor_app, **kw):
    ev = event("health", "child.screened", subject=child(national_id=NATIONAL_ID))
    raw = json.dumps(ev, ensure_ascii=False).encode()
    return ev, monitor_app.on_dead_letter(raw, dead_letter_headers(ev, **kw),
                                          {"content_type": "application/json", "content_encoding": "utf-8",
                                           "message_id": ev["event_id"]}, {"routing_key": "referral.health.events"})


@pytest.fixture
def ops(app, referral, monitor):
    console = OperatorConsole(app)

    class OpsBrowser(Browser):
        def __init__(self):
            super().__init__(app, referral)

            def wsgi(environ, start_response):
                request = Request(environ)
                handler = console.handle(request, monitor) if request.path.startswith("/operator") \
                    else app.handle(request, referral)
                return handler(environ, start_response)

            from werkzeug.test import Client
            self.client = Client(wsgi)

    return OpsBrowser()


def text(response):
    return response.get_data(as_text=True)


def assert_no_child_data(html):
    assert NATIONAL_ID not in html and "สมใจ" not in html and "ใจดี" not in html and "2024-03-15" not in html


def test_only_operators_open_the_console(ops):
    assert ops.get("/operator").status_code == 303  # to sign-in
    ops.sign_in("hc.somsri")
    assert ops.get("/operator").status_code == 403
    assert ops.get("/operator/dead-letters").status_code == 403


def test_overview_shows_every_department_a_live_map_and_refreshes(ops, monitor_app):
    ops.sign_in("ops.niran")
    page = ops.get("/operator")
    html = text(page)
    assert page.status_code == 200 and page.headers["Refresh"] == "10"
    assert 'id="flow-map"' in html and 'id="nav-operator"' in html
    for name in ("social", "education", "health", "medical", "referral"):
        assert f'id="dept-{name}"' in html
    statuses = dict(re.findall(r'id="dept-([a-z]+)" data-status="([a-z_]+)"', html))
    assert statuses == {"health": "ok", "social": "silent", "education": "no_traffic", "medical": "no_traffic",
                        "referral": "no_traffic"}
    assert 'data-kind="silent" data-subject="social"' in html
    assert "style=" not in html  # the CSP allows no inline style


def test_a_flow_page_draws_its_charts(ops):
    ops.sign_in("ops.niran")
    page = ops.get("/operator/flows/health?window=6h")
    html = text(page)
    assert page.status_code == 200
    assert html.count("<svg") >= 2 and "bar-seen" in html and 'id="flow-lags"' in html
    assert ops.get("/operator/flows/health?type=child.screened").status_code == 200


def test_dead_letters_are_listed_redacted_and_replayed_with_an_audit_entry(ops, monitor_app, store):
    ev, record = add_dead_letter(monitor_app)
    ops.sign_in("ops.niran")
    listing = ops.get("/operator/dead-letters")
    assert record["dl_id"] in text(listing) and "<code>IntegrityError</code>" in text(listing)
    assert "IntegrityError: poison" not in text(listing)  # no raw Python error text in the list
    detail = ops.get(f"/operator/dead-letters/{record['dl_id']}")
    html = text(detail)
    assert detail.status_code == 200 and ev["event_id"] in html
    assert_no_child_data(html)
    assert 'id="raw-not-allowed"' in html  # operators never see the raw message
    raw = ops.get(f"/operator/dead-letters/{record['dl_id']}?raw=1&reason=audit")
    assert raw.status_code == 403 and NATIONAL_ID not in text(raw)

    done = ops.post("/operator/dead-letters/replay", {"dl_id": record["dl_id"], "back": "/operator/dead-letters"})
    assert done.status_code == 200 and f'<li data-dl="{record["dl_id"]}" data-outcome="confirmed"' in text(done)
    published = monitor_app.replayer.published
    assert [p["queue"] for p in published] == ["referral.health.events"]
    assert "x-childlink-reason" not in published[0]["headers"] and "x-delivery-count" not in published[0]["headers"]
    assert published[0]["headers"]["x-childlink-replays"] == 1
    assert json.loads(published[0]["body"])["event_id"] == ev["event_id"]
    assert monitor_app.store.dead_letter(record["dl_id"])["status"] == "replayed"
    _, entries = store.audit_entries({"action": "dead_letter.replay"})
    assert entries and entries[0]["outcome"] == "ok" and entries[0]["target_id"] == record["dl_id"]
    # a second replay of the same letter is skipped, not sent again
    ops.post("/operator/dead-letters/replay", {"dl_id": record["dl_id"], "back": "/operator/dead-letters"})
    assert len(monitor_app.replayer.published) == 1


def test_discarding_needs_a_reason_and_is_audited(ops, monitor_app, store):
    _, record = add_dead_letter(monitor_app)
    ops.sign_in("ops.niran")
    back = f"/operator/dead-letters/{record['dl_id']}"
    refused = ops.post("/operator/dead-letters/discard", {"dl_id": record["dl_id"], "back": back})
    assert refused.status_code == 422 and monitor_app.store.dead_letter(record["dl_id"])["status"] == "open"
    done = ops.post("/operator/dead-letters/discard", {"dl_id": record["dl_id"], "back": back,
                                                       "reason": "test data sent by mistake"})
    assert done.status_code == 200 and 'data-outcome="discarded"' in text(done)
    assert monitor_app.store.dead_letter(record["dl_id"])["status"] == "discarded"
    _, entries = store.audit_entries({"action": "dead_letter.discard"})
    assert [e["outcome"] for e in entries] == ["ok", "refused:invalid"]
    assert entries[0]["reason"] == "test data sent by mistake"


def test_replay_all_matching_a_filter(ops, monitor_app):
    for _ in range(3):
        add_dead_letter(monitor_app)
    add_dead_letter(monitor_app, reason="invalid")
    ops.sign_in("ops.niran")
    done = ops.post("/operator/dead-letters/replay", {"scope": "matching", "back": "/operator/dead-letters",
                                                       "filters": json.dumps({"reason": "max_attempts"})})
    assert len(re.findall(r'<li data-dl="dl-[0-9a-f]+" data-outcome="confirmed"', text(done))) == 3
    assert len(monitor_app.replayer.published) == 3
    assert monitor_app.store.find_dead_letters({"status": "open"})[0] == 1


def test_department_staff_open_their_raw_message_only_with_a_reason_and_it_is_audited(ops, monitor_app, store):
    _, record = add_dead_letter(monitor_app)
    ops.sign_in("health.dept")
    path = f"/operator/dead-letters/{record['dl_id']}"
    assert ops.get("/operator").status_code == 403  # not the console
    redacted = ops.get(path)
    assert redacted.status_code == 200 and 'id="raw-form"' in text(redacted)
    assert_no_child_data(text(redacted))
    asked = ops.get(path + "?raw=1")
    assert 'id="raw-reason-needed"' in text(asked) and NATIONAL_ID not in text(asked)
    raw = ops.get(path + "?raw=1&reason=fix_data")
    assert raw.status_code == 200 and NATIONAL_ID in text(raw)
    _, entries = store.audit_entries({"action": "dead_letter.view_raw"})
    assert [(e["outcome"], e["reason"]) for e in entries] == [("ok", "fix_data")]


def test_the_monitor_away_is_a_page_that_says_so(app, referral):
    console = OperatorConsole(app, monitor_timeout_s=1)
    browser = Browser(app, referral)
    browser.sign_in("ops.niran")
    cookie = browser.client.get_cookie("childlink_session")
    from werkzeug.test import EnvironBuilder
    environ = EnvironBuilder(path="/operator", headers={"Cookie": f"childlink_session={cookie.value}"}).get_environ()
    response = console.handle(Request(environ), None)
    assert response.status_code == 503 and 'data-code="unavailable"' in response.get_data(as_text=True)


def test_both_catalogues_hold_every_operator_key():
    en, th = catalogue("en"), catalogue("th")
    assert set(en) == set(th) and all(en.values()) and all(th.values())
    from importlib import resources
    sources = [p.read_text("utf-8") for p in (resources.files("childlink_gateway") / "templates" / "operator").iterdir()]
    sources += [p.read_text("utf-8") for p in resources.files("childlink_gateway.operations").iterdir()
                if p.name.endswith(".py")]
    used = set()
    for source in sources:
        used.update(re.findall(r"""(?<![\w.])(?:_|t)\(\s*["'](op\.[a-z_.]*[a-z_])["']""", source))
    assert used and sorted(used - set(en)) == []


def test_messages_that_are_no_event_of_the_department_show_as_one_invalid_row(ops, monitor_app):
    now = time.time()
    for key in ("x", "unknown", ""):  # routing keys anyone may publish: one row, not one each
        monitor_app.on_event("health", key, None, now - 5)
    monitor_app.flush()
    monitor_app.poll()
    ops.sign_in("ops.niran")
    html = text(ops.get("/operator"))
    assert html.count('data-flow="health/invalid"') == 1
    assert 'data-flow="health/x"' not in html and 'data-flow="health/unknown"' not in html
    labels = {catalogue(lang)["op.flow.invalid"] for lang in ("th", "en")}
    assert any(label in html for label in labels)
