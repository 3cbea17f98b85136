"""The operators' console in real headless Chromium against the real services (health, referral, monitor,
gateway) on a throwaway vhost: the live map of flows, a flow's charts, the alerts, and the dead letters:
a poison message whose cause is fixed is replayed from the page and reaches the timeline once; an
invalid one is discarded with a reason, which the auditor then reads. No page shows child data.

Self-contained (its own system, browser and vhost per module) so it does not depend on the staff pages'
fixtures; screenshots go to artifacts/browser/operator-*.png.
"""

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import time
from urllib.parse import urlparse

import eventlet
import pytest
import requests
from childlink_common.processes import REPO_ROOT
from childlink_common.testing.events import child, event
from childlink_common.testing.services import System, wait_until
from kombu import Connection, Exchange, Producer

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ARTIFACTS = REPO_ROOT / "artifacts" / "browser"
PASSWORD = "ops-demo-รหัสผ่าน"
NATIONAL_ID, GIVEN_NAME, FAMILY_NAME = "3100701443816", "สมศักดิ์", "มั่นคง"
SERVICES = ("health", "referral", "monitor", "gateway")
MONITOR_ENV = {"MONITOR_POLL_S": "1", "MONITOR_SILENCE_MIN_S": "600", "MONITOR_NO_CONSUMER_GRACE_S": "5"}

if not os.path.exists(CHROMIUM):
    pytest.skip(f"{CHROMIUM} not installed (make system-packages)", allow_module_level=True)


def stop_playwright(manager, timeout_s=20):
    """playwright's own stop() hangs under eventlet (its greenlet returns to eventlet's hub, not here):
    close the driver's pipe, let the hub run the loop until the driver exits, then close the loop."""
    client = getattr(manager, "_client", None)
    if client is not None and not client._close_promise.done():
        client._transport.request_stop()
    fiber = manager._dispatcher_fiber
    eventlet.spawn(fiber.switch)
    deadline = time.monotonic() + timeout_s
    while not fiber.dead and time.monotonic() < deadline:
        eventlet.sleep(0.05)
    manager._exit_was_called = True
    loop = manager._loop
    for task in asyncio.all_tasks(loop):
        task.cancel()
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    manager = sync_playwright()
    browser = manager.start().chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        browser.close()
        stop_playwright(manager)


@pytest.fixture(scope="module")
def vhost_uri(request, vhost_pipeline):
    """A throwaway vhost for the module, from the same pipeline nameko's rabbit_config uses."""
    uri = urlparse(request.config.getoption("RABBIT_AMQP_URI"))
    with vhost_pipeline.get() as vhost:
        yield f"{uri.scheme}://{uri.netloc}/{vhost}"


class Ops:
    def __init__(self, system, amqp_uri, poison, invalid):
        self.system, self.amqp_uri, self.poison, self.invalid = system, amqp_uri, poison, invalid
        self.base = system["gateway"].url

    def db(self):
        return sqlite3.connect(self.system["referral"].env["CHILDLINK_DATA_DIR"] + "/referral.sqlite3", timeout=10)

    def dead_letters(self):
        return requests.get(f"{self.system['monitor'].url}/v1/overview", timeout=10).json()


@pytest.fixture(scope="module")
def ops(vhost_uri, tmp_path_factory):
    work = tmp_path_factory.mktemp("operator-console")
    system = System(vhost_uri, work, services=SERVICES, env={"monitor": MONITOR_ENV})
    try:
        system.start()
        env = {**{k: v for k, v in os.environ.items() if k != "MONGO_URI"},
               "CHILDLINK_DATA_DIR": str(work / "data"), "GATEWAY_DEMO_PASSWORD": PASSWORD}
        subprocess.run([sys.executable, "-m", "childlink_gateway.seed"], env=env, cwd=str(REPO_ROOT),
                       capture_output=True, text=True, timeout=120, check=True)
        wait_until(lambda: requests.get(f"{system['monitor'].url}/health", timeout=5).json()["tapping"],
                   message="monitor tapping")
        somsak = child(local_id="HN-700", national_id=NATIONAL_ID, given_name=GIVEN_NAME, family_name=FAMILY_NAME)
        normal = [event("health", "child.registered", subject=somsak, occurred_days_ago=400),
                  event("health", "child.growth_measured", subject=somsak, occurred_days_ago=200),
                  event("health", "child.immunised", subject=somsak, occurred_days_ago=100)]
        poison = event("health", "child.screened", subject=somsak, occurred_days_ago=20)
        ops = Ops(system, vhost_uri, poison, None)
        with ops.db() as db:  # a fault in the referral store that refuses this one event
            db.execute(f"CREATE TRIGGER poison BEFORE INSERT ON timeline WHEN NEW.event_id = '{poison['event_id']}' "
                       "BEGIN SELECT RAISE(ABORT, 'poisoned row'); END")
        assert system.post("health", normal).status_code == 202
        assert system.post("health", poison).status_code == 202
        invalid = event("health", "child.growth_measured", subject=somsak, payload={"weight_kg": "heavy"})
        del invalid["occurred_at"]
        with Connection(vhost_uri) as connection:  # a department system publishing around its service
            Producer(connection.channel()).publish(
                json.dumps(invalid, ensure_ascii=False), exchange=Exchange("health.events", type="topic"),
                routing_key="child.growth_measured", content_type="application/json", content_encoding="utf-8",
                message_id=invalid["event_id"], headers={"event_id": invalid["event_id"], "department": "health",
                                                         "type": "child.growth_measured"})
        ops.invalid = invalid
        wait_until(lambda: department(ops, "health")["dead_letters_open"] == 2, timeout=90,
                   message="both dead letters reached the monitor")
        # the management API reports consumers a few seconds late on a busy machine: wait until the
        # monitor has seen the referral service on every queue, so the map's states are settled
        wait_until(lambda: all(department(ops, name)["queue"]["consumers"]
                               for name in ("social", "education", "health", "medical")),
                   timeout=60, message="the monitor sees a consumer on every referral queue")
        yield ops
    finally:
        system.stop()
        for name, process in system.processes.items():  # shown by pytest only when a test failed
            print(f"----- {name} log (tail) -----\n{process.logs()[-3000:]}")


def department(ops, name):
    return next(d for d in ops.dead_letters()["departments"] if d["name"] == name)


@pytest.fixture(scope="module")
def artifacts():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def sign_in(chromium, ops):
    contexts = []

    def as_user(username, locale="th-TH"):
        context = chromium.new_context(locale=locale, viewport={"width": 1360, "height": 900})
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{ops.base}/signin")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        follow(page, lambda: page.click("#signin-submit"))
        if not locale.startswith("th"):  # the pages start in Thai; English is one click away
            follow(page, lambda: page.click("#lang-switch"))
        return page

    yield as_user
    for context in contexts:
        context.close()


def follow(page, action):
    """Do `action` (a click that navigates) and return once the next document has loaded.

    Under eventlet's monkey patching (conftest.py at the root) Playwright's event-based waits
    (expect_navigation, wait_for_url) never return, while waits the driver does itself
    (wait_for_function, wait_for_selector) do: so mark this document, act, and wait for a document
    without the mark. (CDP evaluation is not subject to the pages' script-free CSP.)"""
    page.evaluate("window.__childlinkLeaving = true")
    action()
    # A function, not an expression: Playwright evals an expression inside the page, which its CSP forbids.
    page.wait_for_function("() => !window.__childlinkLeaving && document.readyState === 'complete'")


def assert_no_child_data(page):
    html = page.content()
    for secret in (NATIONAL_ID, GIVEN_NAME, FAMILY_NAME, "2024-03-15"):
        assert secret not in html


def test_the_operator_sees_every_flow_on_a_live_map_without_child_data(ops, sign_in, artifacts):
    page = sign_in("ops.niran")
    follow(page, lambda: page.click("#nav-operator"))
    response = page.goto(f"{ops.base}/operator")
    assert response.headers.get("refresh") == "10"  # the page reloads itself; no script needed
    assert page.locator("#flow-map").is_visible()
    assert page.locator("#map-health").get_attribute("data-status") == "dead_letters"
    assert page.locator("#map-medical").get_attribute("data-status") == "no_traffic"
    row = page.locator("#dept-health")
    assert row.get_attribute("data-status") == "dead_letters"
    assert row.locator("td.outbox").get_attribute("data-backlog") == "0"
    assert page.locator('#flows tr[data-flow="health/child.registered"]').count() == 1
    assert page.locator('#alerts-table tr[data-kind="dead_letters"][data-subject="health"]').count() == 1
    assert "referral.health.events" in page.text_content("#map-queue-health")
    assert_no_child_data(page)
    page.screenshot(path=str(artifacts / "operator-overview-th.png"), full_page=True)
    follow(page, lambda: page.click("#lang-switch"))
    assert "Message flows" in page.inner_text("h1")
    page.screenshot(path=str(artifacts / "operator-overview-en.png"), full_page=True)


def test_a_flow_page_charts_its_traffic_and_lag(ops, sign_in, artifacts):
    page = sign_in("ops.niran", locale="en-US")
    page.goto(f"{ops.base}/operator")
    follow(page, lambda: page.click("#map-health"))  # the department's box links to its flow page
    assert page.url.endswith("/operator/flows/health")
    assert page.locator("#traffic-chart svg rect.bar-seen").count() >= 1
    assert page.locator("#lag-chart svg polyline.line-lag_pipeline_avg").count() == 1
    assert page.locator("#lag-chart svg line.threshold").count() == 1
    page.select_option("#flow-filters select[name=window]", "24h")
    follow(page, lambda: page.click("#flow-filters button"))
    assert "window=24h" in page.url
    assert page.locator("#flow-types tr").count() >= 3
    assert_no_child_data(page)
    page.screenshot(path=str(artifacts / "operator-flow-health.png"), full_page=True)


def test_the_alerts_page_lists_what_needs_attention(ops, sign_in, artifacts):
    page = sign_in("ops.niran", locale="en-US")
    page.goto(f"{ops.base}/operator/alerts")
    assert page.locator('#alerts-table tr[data-kind="dead_letters"]').count() == 1
    assert page.locator("#rules").is_visible()
    page.screenshot(path=str(artifacts / "operator-alerts.png"), full_page=True)
    staff = sign_in("hc.somsri")
    assert staff.goto(f"{ops.base}/operator").status == 403  # not for staff


def test_a_poison_message_is_replayed_from_the_page_once_its_cause_is_fixed(ops, sign_in, artifacts):
    page = sign_in("ops.niran", locale="en-US")
    page.goto(f"{ops.base}/operator/dead-letters")
    rows = page.locator("#dead-letters tbody tr[data-dl]")
    assert rows.count() == 2
    poison_row = page.locator(f'#dead-letters tr[data-event="{ops.poison["event_id"]}"]')
    assert "poisoned row" in poison_row.inner_text() and "failed every attempt" in poison_row.inner_text()
    invalid_row = page.locator(f'#dead-letters tr[data-event="{ops.invalid["event_id"]}"]')
    assert "breaks its contract" in invalid_row.inner_text()
    assert_no_child_data(page)
    page.screenshot(path=str(artifacts / "operator-dead-letters.png"), full_page=True)

    dl_id = poison_row.get_attribute("data-dl")
    follow(page, lambda: poison_row.locator("a").click())
    assert page.inner_text("#dl-reason").count("max_attempts") == 1
    assert "[redacted]" in page.inner_text("#dl-body") and "HN-700" in page.inner_text("#dl-body")
    assert page.locator("#raw-not-allowed").is_visible()
    assert_no_child_data(page)

    with ops.db() as db:  # the fix
        db.execute("DROP TRIGGER poison")
    follow(page, lambda: page.click("#replay-one"))
    result = page.locator('#action-results li[data-outcome="confirmed"]')
    assert result.count() == 1
    assert page.locator("#dl-status").inner_text().strip() == "replayed"
    page.screenshot(path=str(artifacts / "operator-replayed.png"), full_page=True)

    child_id = wait_until(lambda: ops.system.find_child(national_id=NATIONAL_ID), message="child known")
    entries = wait_until(lambda: (t := ops.system.timeline(child_id)) and len(t["entries"]) == 4 and t["entries"],
                         timeout=30, message="the replayed event on the timeline")
    assert [e["event_id"] for e in entries].count(ops.poison["event_id"]) == 1
    page.goto(f"{ops.base}/operator/dead-letters/{dl_id}")
    assert page.locator("#replay-one").count() == 0  # replayed: nothing more to do with it
    assert page.locator('#dl-history li[data-action="replay"]').count() == 1


def test_an_invalid_message_is_discarded_with_a_reason_and_the_auditor_sees_it(ops, sign_in, artifacts):
    page = sign_in("ops.niran", locale="en-US")
    page.goto(f"{ops.base}/operator/dead-letters")
    row = page.locator(f'#dead-letters tr[data-event="{ops.invalid["event_id"]}"]')
    row.locator("input[type=checkbox]").check()
    follow(page, lambda: page.click("#discard-button"))  # no reason: refused, nothing changed
    assert page.locator("#action-error").get_attribute("data-code") == "invalid"
    row = page.locator(f'#dead-letters tr[data-event="{ops.invalid["event_id"]}"]')
    row.locator("input[type=checkbox]").check()
    page.fill("#discard-reason", "sent around the ingest API; the department resends it corrected")
    follow(page, lambda: page.click("#discard-button"))
    assert page.locator('#action-results li[data-outcome="discarded"]').count() == 1
    assert page.locator("#dl-empty").is_visible()  # nothing open any more
    page.screenshot(path=str(artifacts / "operator-discarded.png"), full_page=True)
    wait_until(lambda: department(ops, "health")["dead_letters_open"] == 0, message="no dead letter left open")

    auditor = sign_in("audit.ratana", locale="en-US")
    auditor.goto(f"{ops.base}/audit?action=dead_letter.discard")
    log = auditor.inner_text("#audit-log")
    assert "dead_letter.discard" in log and "the department resends it corrected" in log and "ops.niran" in log
    auditor.goto(f"{ops.base}/audit?action=dead_letter.replay")
    assert "ops.niran" in auditor.inner_text("#audit-log")
