"""Browser tests: the real services as processes on a throwaway vhost, driven by headless Chromium.

One system and one browser per module (starting the processes per test would cost minutes on a
two-core machine); each test opens its own browser context, so cookies never leak between users.

Playwright's *sync* API does not survive eventlet's monkey patching (the root conftest.py): it runs its
asyncio loop and every event listener in greenlets of its own, eventlet's hub adopts a greenlet that
waits on a socket as its child, and a listener that ends then returns to the hub instead of to
playwright's dispatcher: clicks that navigate hang, and so does stop(). So these tests use the *async*
API, each call run to completion on one event loop in the test's own greenlet (`Blocking` below): no
greenlets but eventlet's, and the test code reads as if it were the sync API.
"""

import asyncio
import datetime as dt
import inspect
import os
import shutil
import subprocess
import sys
import time
from urllib.parse import urlparse

import pytest
from childlink_common.processes import REPO_ROOT
from childlink_common.testing.events import BANGKOK, child, event
from childlink_common.testing.services import System, wait_until

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ARTIFACTS = REPO_ROOT / "artifacts" / "browser"
DEMO_PASSWORD = "demo-pass-บราวเซอร์"
SERVICES = ("health", "medical", "referral", "gateway")
NATIONAL_ID = "1234567890121"
GIVEN_NAME, FAMILY_NAME = "สมใจ", "ใจดี"


@pytest.fixture(autouse=True)
def chromium_is_installed():
    """A missing browser fails these tests, it does not skip them: `make test` installs it."""
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} not installed: run `make system-packages` (Debian's chromium)")


class Blocking:
    """A playwright async-API object whose coroutine methods are run to completion on `loop`; whatever
    playwright object a call returns (page, locator, response...) comes back wrapped the same way."""

    __slots__ = ("_loop", "_target")

    def __init__(self, target, loop):
        self._target, self._loop = target, loop

    def _wrap(self, value):
        return Blocking(value, self._loop) if type(value).__module__.startswith("playwright.") else value

    def __getattr__(self, name):
        value = getattr(self._target, name)
        if not callable(value):
            return self._wrap(value)

        def call(*args, **kwargs):
            result = value(*args, **kwargs)
            if inspect.isawaitable(result):
                result = self._loop.run_until_complete(result)
            return self._wrap(result)

        return call

    def run(self, coroutine):
        return self._wrap(self._loop.run_until_complete(coroutine))


@pytest.fixture(scope="module")
def chromium():
    from playwright.async_api import async_playwright

    loop = asyncio.new_event_loop()
    playwright = loop.run_until_complete(async_playwright().start())
    browser = loop.run_until_complete(playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS))
    try:
        yield Blocking(browser, loop)
    finally:
        loop.run_until_complete(browser.close())
        loop.run_until_complete(playwright.stop())
        loop.close()


@pytest.fixture(scope="module")
def amqp_uri(request, vhost_pipeline):
    """A throwaway vhost for the module, as nameko's rabbit_config fixture makes one per test."""
    uri = urlparse(request.config.getoption("RABBIT_AMQP_URI"))
    with vhost_pipeline.get() as vhost:
        yield f"{uri.scheme}://{uri.netloc}/{vhost}"


def progress(*what):
    print(f"[browser {time.strftime('%H:%M:%S')}]", *what, flush=True)


def seed_users(data_dir):
    """The real seeding command, as `make run` runs it, with the password from the environment."""
    env = {k: v for k, v in os.environ.items() if k != "MONGO_URI"}
    env.update(CHILDLINK_DATA_DIR=str(data_dir), GATEWAY_DEMO_PASSWORD=DEMO_PASSWORD)
    return subprocess.run([sys.executable, "-m", "childlink_gateway.seed"], env=env, cwd=str(REPO_ROOT),
                          capture_output=True, text=True, timeout=120, check=True).stdout


def history_events(birth):
    """A girl from district 1001 seen at health centre HC-1001-01: registered, weighed three times, one dose,
    an 18-month DSPM screening with receptive language delayed, then a TEDA4I assessment at the hospital."""
    mali = child(local_id="HN-501", national_id=NATIONAL_ID, birth_date=birth.isoformat(), given_name=GIVEN_NAME,
                 family_name=FAMILY_NAME)
    days_old = (dt.datetime.now(BANGKOK).date() - birth).days

    def at_age(days):
        return days_old - days

    health = [
        event("health", "child.registered", subject=mali, occurred_days_ago=at_age(1)),
        event("health", "child.immunised", subject=mali, occurred_days_ago=at_age(1),
              payload={"vaccine": "BCG", "dose": 1}),
        event("health", "child.growth_measured", subject=mali, occurred_days_ago=at_age(183),
              payload={"weight_kg": 7.1, "height_cm": 65.5}),
        event("health", "child.growth_measured", subject=mali, occurred_days_ago=at_age(366),
              payload={"weight_kg": 8.3, "height_cm": 73.0}),
        event("health", "child.growth_measured", subject=mali, occurred_days_ago=at_age(548),
              payload={"weight_kg": 8.6, "height_cm": 77.5}),
        event("health", "child.screened", subject=mali, occurred_days_ago=at_age(550), payload={
            "age_band_months": 18, "domains": {"gross_motor": "normal", "fine_motor": "normal",
                                               "receptive_language": "delayed",
                                               "expressive_language": "suspected_delay",
                                               "personal_social": "normal"}}),
    ]
    medical = [event("medical", "child.assessed", facility="HOSP-1008", occurred_days_ago=at_age(556),
                     subject=child(local_id="MED-77", national_id=NATIONAL_ID, birth_date=birth.isoformat(),
                                   given_name=GIVEN_NAME, family_name=FAMILY_NAME),
                     payload={"tool": "TEDA4I", "result": "delayed", "domains_delayed": ["receptive_language"]})]
    return health, medical


class Scenario:
    """The running system, the child and her referral, and where the pages are."""

    def __init__(self, system, amqp_uri, child_id, referral_id):
        self.system, self.amqp_uri = system, amqp_uri
        self.child_id, self.referral_id = child_id, referral_id
        self.given_name, self.family_name, self.national_id = GIVEN_NAME, FAMILY_NAME, NATIONAL_ID
        self.base = system["gateway"].url
        self.timings = []  # (path, total ms, rpc ms) from each page's Server-Timing header


def referral_for(amqp_uri, child_id):
    from nameko.standalone.rpc import ServiceRpcProxy

    viewer = {"user_id": "u-test", "role": "health_centre_staff", "department": "health",
              "facility": "HC-1001-01", "district": "1001"}
    with ServiceRpcProxy("referral", {"AMQP_URI": amqp_uri}, timeout=10) as referral:
        answer = referral.list_referrals(viewer, {"child_id": child_id, "reason": "dspm_delayed"})
    return answer["items"][0]["referral_id"] if answer.get("ok") and answer["items"] else None


@pytest.fixture(scope="module")
def scenario(amqp_uri, tmp_path_factory):
    work = tmp_path_factory.mktemp("browser-system")
    system = System(amqp_uri, work, services=SERVICES)
    try:
        progress("starting", SERVICES)
        system.start()
        progress("healthy")
        seeded = seed_users(work / "data")
        progress("seeded")
        assert "hc.somsri" in seeded and DEMO_PASSWORD not in seeded
        birth = dt.datetime.now(BANGKOK).date() - dt.timedelta(days=560)
        health, medical = history_events(birth)
        assert system.post("health", health).status_code == 202
        assert system.post("medical", medical).status_code == 202
        child_id = wait_until(lambda: system.find_child(national_id=NATIONAL_ID), timeout=90, message="child linked")
        progress("child linked", child_id)
        referral_id = wait_until(lambda: referral_for(amqp_uri, child_id), timeout=90, message="referral raised")
        progress("referral raised", referral_id)
        yield Scenario(system, amqp_uri, child_id, referral_id)
    finally:
        system.stop()
        for name, process in system.processes.items():  # shown by pytest only when a test failed
            print(f"----- {name} log (tail) -----\n{process.logs()[-3000:]}")


@pytest.fixture(scope="module")
def artifacts():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


class Staff:
    """One signed-in person in a browser context of their own."""

    def __init__(self, browser, scenario, username):
        self.scenario = scenario
        self.context = browser.new_context(locale="th-TH", viewport={"width": 1280, "height": 900})
        self.context.set_default_timeout(30_000)
        self.page = self.context.new_page()
        self.sign_in(username)

    def timed(self):
        """The gateway's Server-Timing for the page now shown, read through the Performance API."""
        timing = self.page.evaluate("""() => {
            const nav = performance.getEntriesByType("navigation")[0];
            return nav ? Object.fromEntries(nav.serverTiming.map(t => [t.name, t.duration])) : {};
        }""")
        if "total" in timing:
            self.scenario.timings.append((urlparse(self.page.url).path, timing["total"], timing.get("rpc", 0.0)))
        return timing

    def sign_in(self, username, password=DEMO_PASSWORD):
        self.page.goto(f"{self.scenario.base}/signin")
        self.page.fill("#username", username)
        self.page.fill("#password", password)
        self.submit("#signin-submit")

    def goto(self, path):
        response = self.page.goto(f"{self.scenario.base}{path}")
        self.timed()
        return response

    def submit(self, selector, page=None):
        """Click a form's button and wait for the page it leads to."""
        page = page or self.page

        async def click_and_wait(target):
            async with target.expect_navigation():
                await target.click(selector)

        page.run(click_and_wait(page._target))
        if page is self.page:
            self.timed()

    def switch_language(self):
        self.submit("#lang-switch")

    def switch_era(self):
        self.submit("#era-switch")

    def text(self, selector="main"):
        return self.page.inner_text(selector)

    def close(self):
        self.context.close()


@pytest.fixture
def staff(chromium, scenario):
    opened = []

    def open_as(username):
        person = Staff(chromium, scenario, username)
        opened.append(person)
        return person

    yield open_as
    for person in opened:
        person.close()


