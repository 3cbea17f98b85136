"""Issue 17, the gateway's findings, each a test that failed on the code before it: open redirects,
sessions that did not end, a throttle that locked the real user out, 500s on non-ASCII secrets, and
refusals that were not audited. Real app, real SQLite store, the fake referral service."""

import pytest
from childlink_gateway.app import GatewayApp
from childlink_gateway.operations.pages import OperatorConsole
from childlink_gateway.security import LoginThrottle, Sessions, safe_next
from childlink_gateway.sessions import COOKIE_NAME, change_password
from childlink_gateway.testing import PASSWORD, Browser

CHILD = "/children/c-1?reason=care"

# --- 1. `next` stays on this site ---------------------------------------------------------------------

EVIL_NEXT = [
    "/\t/evil.example/", "/\r/evil.example/", "/\n/evil.example/", "/\r\n/evil.example/", "\t//evil.example/",
    "//evil.example/", "///evil.example/", "/\\evil.example", "\\\\evil.example", "/%5Cevil.example",
    "/%2F/evil.example", "/%09/evil.example/", "/%0D/evil.example", "https://evil.example/", "HTTPS:evil.example",
    "javascript:alert(1)", "evil.example", "/\x00/evil.example", "/\x85/evil.example", " //evil.example",
    "//еvil.example/", "／／evil.example", "/" + "a" * 3000,
]


@pytest.mark.parametrize("evil", EVIL_NEXT)
def test_next_is_only_a_path_on_this_site_after_the_responses_own_normalisation(evil):
    assert safe_next(evil, "/home") == "/home"


def test_an_iri_path_is_kept_as_the_uri_the_response_sends():
    assert safe_next("/referrals?q=เด็ก") == "/referrals?q=%E0%B9%80%E0%B8%94%E0%B9%87%E0%B8%81"
    assert safe_next("/children/c-1?reason=care") == "/children/c-1?reason=care"


@pytest.mark.parametrize("evil", ["/\t/evil.example/", "/\r/evil.example/", "/\n/evil.example", "/%5C/evil",
                                  "/\x85/x", "/\\evil.example"])
def test_signin_and_prefs_never_redirect_off_site_nor_fail(browser, evil):
    browser.sign_in("hc.somsri")
    signed_in = browser.get("/signin", query_string={"next": evil})
    assert signed_in.status_code == 303 and signed_in.headers["Location"] == "/", evil
    prefs = browser.post("/prefs", {"lang": "en", "next": evil})
    assert prefs.status_code == 303 and prefs.headers["Location"] == "/", evil
    browser.post("/signout")
    browser.get("/signin")
    fresh = browser.post("/signin", {"username": "hc.somsri", "password": PASSWORD, "next": evil})
    assert fresh.status_code == 303 and fresh.headers["Location"] == "/", evil


# --- 2. server-side sessions ------------------------------------------------------------------------------

def cookie(browser):
    return browser.client.get_cookie(COOKIE_NAME).value


def test_signing_out_ends_the_session_the_old_cookie_opens_nothing(browser):
    browser.sign_in("hosp.anan")
    old = cookie(browser)
    assert browser.get("/referrals").status_code == 200
    browser.post("/signout")
    browser.client.set_cookie(COOKIE_NAME, old)
    assert browser.get("/referrals").status_code == 303
    assert browser.get(CHILD).headers["Location"].startswith("/signin")


def test_a_password_change_ends_every_session_of_the_user(app, referral, store, passwords):
    phone, desk = Browser(app, referral), Browser(app, referral)
    phone.sign_in("hosp.anan")
    desk.sign_in("hosp.anan")
    assert phone.get("/referrals").status_code == 200 and desk.get("/referrals").status_code == 200
    assert change_password(store, passwords, "u-hosp.anan", "a new long password")
    assert phone.get("/referrals").status_code == 303 and desk.get("/referrals").status_code == 303
    assert desk.sign_in("hosp.anan", "a new long password").status_code == 303


def test_an_operator_ends_the_sessions_of_a_user_on_every_replica(store, passwords, referral):
    replicas = [GatewayApp(store, Sessions("shared-secret"), passwords) for _ in range(2)]
    staff = [Browser(app, referral) for app in replicas]
    staff[0].sign_in("hosp.anan")
    staff[1].client.set_cookie(COOKIE_NAME, cookie(staff[0]))  # the next request lands on the other replica
    assert staff[1].get("/referrals").status_code == 200

    ops = Browser(Site(replicas[1], OperatorConsole(replicas[1])), referral)
    ops.sign_in("ops.niran")
    page = ops.get("/operator/users")
    assert page.status_code == 200 and "hosp.anan" in page.get_data(as_text=True)
    ended = ops.post("/operator/users/u-hosp.anan/end-sessions")
    assert ended.status_code == 303 and ended.headers["Location"] == "/operator/users?done=1"
    assert staff[0].get("/referrals").status_code == 303 and staff[1].get("/referrals").status_code == 303
    _, entries = store.audit_entries({"action": "sessions.end"})
    assert entries[0]["user_id"] == "u-ops.niran" and entries[0]["target_id"] == "u-hosp.anan"
    staff[0].sign_in("hc.somsri")
    staff[0].get("/")
    assert staff[0].post("/operator/users/u-hosp.anan/end-sessions").status_code in (403, 404)


class Site:
    """The staff pages and the operator console on one gateway, as the nameko service routes them."""

    def __init__(self, app, console):
        self.app, self.console = app, console

    def handle(self, request, referral):
        if request.path.startswith("/operator"):
            return self.console.handle(request, None)
        return self.app.handle(request, referral)


def clocked_app(store, passwords, now, **lifetimes):
    return GatewayApp(store, Sessions("k", clock=lambda: now[0], **lifetimes), passwords)


def test_a_session_idle_too_long_is_over(store, passwords, referral):
    now = [1_000_000.0]
    browser = Browser(clocked_app(store, passwords, now, idle_s=1800, max_age_s=12 * 3600), referral)
    browser.sign_in("hosp.anan")
    for _ in range(5):  # busy: each use keeps it alive
        now[0] += 1700
        assert browser.get("/referrals").status_code == 200
    now[0] += 1801
    assert browser.get("/referrals").status_code == 303


def test_a_session_is_over_at_its_absolute_lifetime_however_busy(store, passwords, referral):
    now = [1_000_000.0]
    browser = Browser(clocked_app(store, passwords, now, idle_s=1800, max_age_s=4 * 3600), referral)
    browser.sign_in("hosp.anan")
    for _ in range(15):
        now[0] += 900
        assert browser.get("/referrals").status_code == 200
        browser.post("/prefs", {"lang": "en", "next": "/referrals"})  # renewing preferences renews nothing
    now[0] += 900
    assert browser.get("/referrals").status_code == 303


def test_the_session_id_rotates_at_sign_in(app, browser):
    browser.get("/signin")
    anonymous = app.sessions.serializer.loads(cookie(browser))
    assert "sid" not in anonymous  # nothing to fixate before sign-in
    browser.sign_in("hosp.anan")
    first = app.sessions.serializer.loads(cookie(browser))["sid"]
    old_cookie = cookie(browser)
    browser.sign_in("hosp.anan")  # signing in again on the same browser
    second = app.sessions.serializer.loads(cookie(browser))["sid"]
    assert first != second
    browser.client.set_cookie(COOKIE_NAME, old_cookie)
    assert browser.get("/referrals").status_code == 303


# --- 3. the throttle cannot lock the real user out ------------------------------------------------------

class FromAddress:
    def __init__(self, app, address):
        self.app, self.address = app, address

    def handle(self, request, referral):
        request.remote_addr = self.address
        return self.app.handle(request, referral)


def from_address(app, referral, address):
    return Browser(FromAddress(app, address), referral)


def test_guessing_from_one_address_does_not_lock_the_user_out_elsewhere(store, passwords, referral):
    now = [1_000_000.0]
    app = GatewayApp(store, Sessions("k"), passwords, throttle=LoginThrottle(free=3, clock=lambda: now[0]))
    attacker = from_address(app, referral, "203.0.113.9")
    for _ in range(20):
        attacker.sign_in("hc.somsri", "guess")
    assert attacker.sign_in("hc.somsri", "guess").status_code == 429
    assert from_address(app, referral, "10.1.2.3").sign_in("hc.somsri").status_code == 303


def test_after_a_short_backoff_the_right_password_works_even_from_the_guessers_address(store, passwords,
                                                                                      referral):
    now = [1_000_000.0]
    app = GatewayApp(store, Sessions("k"), passwords,
                     throttle=LoginThrottle(free=3, base_s=1, cap_s=60, clock=lambda: now[0]))
    browser = from_address(app, referral, "10.9.9.9")
    for _ in range(3):
        assert browser.sign_in("hc.somsri", "wrong").status_code == 401
    waiting = browser.sign_in("hc.somsri")
    assert waiting.status_code == 429 and waiting.headers["Retry-After"] == "1"
    now[0] += 1.5
    assert browser.sign_in("hc.somsri").status_code == 303


def test_the_throttle_is_shared_by_replicas_through_the_store(store, passwords, referral):
    now = [1_000_000.0]
    replicas = [GatewayApp(store, Sessions("k"), passwords, throttle=LoginThrottle(free=3, clock=lambda: now[0]))
                for _ in range(3)]
    for app in replicas:
        assert from_address(app, referral, "203.0.113.9").sign_in("hc.somsri", "guess").status_code == 401
    assert from_address(replicas[0], referral, "203.0.113.9").sign_in("hc.somsri", "guess").status_code == 429


def test_a_trusted_proxy_hop_gives_the_clients_address(store, passwords, referral):
    now = [1_000_000.0]
    app = GatewayApp(store, Sessions("k"), passwords, throttle=LoginThrottle(free=1, clock=lambda: now[0]),
                     proxy_hops=1)
    guesser = from_address(app, referral, "10.0.0.1")  # the ingress
    guesser.get("/signin")
    headers = {"X-Forwarded-For": "198.51.100.7"}
    guesser.post("/signin", {"username": "hc.somsri", "password": "guess"}, headers=headers)
    assert guesser.post("/signin", {"username": "hc.somsri", "password": PASSWORD},
                        headers=headers).status_code == 429
    other = from_address(app, referral, "10.0.0.1")
    other.get("/signin")
    assert other.post("/signin", {"username": "hc.somsri", "password": PASSWORD},
                      headers={"X-Forwarded-For": "198.51.100.8"}).status_code == 303


# --- 4. secrets compared safely -----------------------------------------------------------------------------

@pytest.mark.parametrize("token", ["ééé" * 15, "ไทย", "\x00", "", "x" * 10_000, b"%ED%A0%80", b"%FF%FE"])
def test_a_csrf_token_of_any_kind_is_refused_with_403_never_500(browser, token):
    browser.sign_in("hosp.anan")

    def post(path, **fields):
        if isinstance(token, bytes):  # bytes that are not UTF-8 (a lone surrogate, 0xFF), as a raw form body
            body = b"&".join([f"{k}={v}".encode() for k, v in fields.items()] + [b"csrf_token=" + token])
            return browser.client.post(path, data=body, content_type="application/x-www-form-urlencoded")
        return browser.post(path, {**fields, "csrf_token": token})

    assert post("/prefs", lang="en").status_code == 403
    assert post("/signout").status_code == 403
    browser.get("/signin")
    assert post("/signin", username="hosp.anan", password="x").status_code == 403


# --- 8. every view and refusal of child data audited ------------------------------------------------------

def entries(store, **filters):
    return store.audit_entries(filters, 1, 200)[1]


def test_inbox_and_referral_page_views_allowed_and_refused_are_audited(browser, store):
    browser.sign_in("hosp.anan")
    browser.get("/referrals")
    browser.get("/referrals/r-1")
    browser.post("/signout")
    browser.sign_in("hosp.other")
    assert browser.get("/referrals/r-1").status_code == 403
    views = entries(store, action="referral.view")
    assert [(e["username"], e["target_id"], e["outcome"]) for e in views] == [
        ("hosp.other", "r-1", "refused:forbidden"), ("hosp.anan", "r-1", "ok")]
    assert views[1]["detail"]["child_id"] and views[1]["at"] and views[1]["role"] == "hospital_staff"
    inbox = entries(store, action="referrals.list", user_id="u-hosp.anan")
    assert inbox and inbox[0]["outcome"] == "ok" and "r-1" in inbox[0]["detail"]["referral_ids"]


@pytest.mark.parametrize("username", ["ops.niran", "audit.ratana"])
@pytest.mark.parametrize(("path", "action", "target"), [
    ("/referrals", "referrals.list", None), ("/referrals/r-1", "referral.view", "r-1"),
    ("/children/c-1?reason=care", "child.view", "c-1"), ("/identity/reviews", "identity.list", None),
    ("/identity/reviews/rv-1", "identity.view", "rv-1")])
def test_refusals_of_operator_and_auditor_roles_are_audited(browser, store, username, path, action, target):
    browser.sign_in(username)
    assert browser.get(path).status_code == 403
    found = entries(store, action=action, user_id=f"u-{username}")
    assert [(e["outcome"], e["target_id"]) for e in found] == [("refused:role", target)]


# --- 5. the gateway signs its signed-in user on identity calls ------------------------------------------

def test_identity_calls_carry_a_signed_assertion_of_the_signed_in_registrar(store, passwords, referral):
    from childlink_common import assertions

    app = GatewayApp(store, Sessions("k"), passwords, assertion_key="k-assert")
    browser = Browser(app, referral)
    browser.sign_in("reg.suda")
    assert browser.get("/identity/reviews").status_code == 200
    viewer = next(c[1] for c in referral.calls if c[0] == "list_identity_reviews")
    asserted = assertions.verify(viewer["assertion"], ["k-assert"])
    assert asserted == {k: viewer[k] for k in assertions.FIELDS} and asserted["role"] == "registrar"
    assert assertions.verify(viewer["assertion"], ["another-key"]) is None
