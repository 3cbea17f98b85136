"""The staff pages end to end in one process: real app, real SQLite store, the fake referral service."""

import datetime as dt
import re

import pytest
from childlink_gateway.fake_referral import FakeReferral, sample_child, sample_referral
from childlink_gateway.security import COOKIE_NAME
from childlink_gateway.testing import PASSWORD, Browser
from nameko.exceptions import MethodNotFound

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def text(response):
    return response.get_data(as_text=True)


def audit_log(store, **filters):
    return store.audit_entries(filters)[1]


def calls(referral, name):
    return [c for c in referral.calls if c[0] == name]


# --- sign-in and sessions -------------------------------------------------------------------------------

def test_pages_send_the_anonymous_to_sign_in_and_back(browser):
    response = browser.get("/referrals?status=all")
    assert response.status_code == 303
    assert response.headers["Location"] == "/signin?next=%2Freferrals%3Fstatus%3Dall"
    browser.get(response.headers["Location"])
    signed_in = browser.post("/signin", {"username": "hosp.anan", "password": PASSWORD,
                                         "next": "/referrals?status=all"})
    assert signed_in.status_code == 303 and signed_in.headers["Location"] == "/referrals?status=all"


def test_the_session_cookie_is_signed_httponly_and_samesite_lax(browser):
    response = browser.sign_in("hc.somsri")
    cookie = next(v for k, v in response.headers.items() if k == "Set-Cookie" and v.startswith(COOKIE_NAME))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert browser.get("/referrals").status_code == 200


def test_a_tampered_cookie_is_no_session(browser):
    browser.sign_in("hc.somsri")
    value = browser.client.get_cookie(COOKIE_NAME).value
    browser.client.set_cookie(COOKIE_NAME, value[:-3] + "abc")
    assert browser.get("/referrals").status_code == 303


def test_a_wrong_password_is_refused_audited_and_throttled(browser, store):
    for _ in range(3):
        response = browser.sign_in("hc.somsri", "wrong")
        assert response.status_code == 401
        assert "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง" in text(response)
    assert browser.sign_in("hc.somsri").status_code == 429  # even the right password, for a while
    outcomes = [e["outcome"] for e in audit_log(store, action="signin")]
    assert outcomes == ["refused:throttled"] + ["refused:bad_credentials"] * 3
    assert browser.sign_in("nobody", "x").status_code == 401


def test_sign_in_without_the_csrf_token_is_refused(browser):
    browser.get("/signin")
    response = browser.post("/signin", {"username": "hc.somsri", "password": PASSWORD}, csrf=False)
    assert response.status_code == 403
    response = browser.post("/signin", {"username": "hc.somsri", "password": PASSWORD, "csrf_token": "forged"})
    assert response.status_code == 403


def test_sign_out_ends_the_session(browser, store):
    browser.sign_in("hc.somsri")
    browser.get("/referrals")
    assert browser.post("/signout").headers["Location"] == "/signin"
    assert browser.get("/referrals").status_code == 303
    assert [e["action"] for e in audit_log(store, user_id="u-hc.somsri")] == ["signout", "referrals.list", "signin"]


def test_next_never_leaves_the_site(browser):
    browser.get("/signin")
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        browser.get("/signin")
        response = browser.post("/signin", {"username": "hc.somsri", "password": PASSWORD, "next": evil})
        assert response.headers["Location"] == "/", evil
        browser.post("/signout")


# --- language and era -----------------------------------------------------------------------------------

def test_language_and_era_switch_are_kept_in_the_session(browser):
    browser.sign_in("hosp.anan")
    page = text(browser.get("/referrals/r-1"))
    assert "กล่องรับส่งต่อ" in page and "20 ก.ย. 2568" in page  # Thai, Buddhist era by default
    response = browser.post("/prefs", {"lang": "en", "next": "/referrals/r-1"})
    assert response.headers["Location"] == "/referrals/r-1"
    page = text(browser.get("/referrals/r-1"))
    assert "Referral inbox" in page and "20 Sep 2568 BE" in page and 'lang="en"' in page
    browser.post("/prefs", {"era": "ce", "next": "/referrals/r-1"})
    assert "20 Sep 2025" in text(browser.get("/referrals/r-1"))
    browser.post("/prefs", {"lang": "th", "next": "/referrals/r-1"})
    assert "20 ก.ย. ค.ศ. 2025" in text(browser.get("/referrals/r-1"))


def test_language_can_be_switched_before_sign_in(browser):
    browser.get("/signin")
    browser.post("/prefs", {"lang": "en", "next": "/signin"})
    assert "Username" in text(browser.get("/signin"))


# --- the inbox ------------------------------------------------------------------------------------------

def test_the_inbox_passes_the_viewer_and_filters_and_lists_what_referral_answers(browser, referral):
    browser.sign_in("hc.somsri")
    page = text(browser.get("/referrals?status=open&district=1001&overdue=1&department=medical"))
    _, viewer, filters, page_no, size = calls(referral, "list_referrals")[-1]
    assert viewer == {"user_id": "u-hc.somsri", "role": "health_centre_staff", "department": "health",
                      "facility": "HC-1001-01", "district": "1001"}
    assert filters == {"status": ["requested", "accepted", "scheduled", "in_progress"], "district": "1001",
                       "department": "medical", "overdue": True}
    assert (page_no, size) == (1, 25)
    assert 'id="inbox-empty"' in page  # r-1 is not overdue
    page = text(browser.get("/referrals"))
    assert 'data-referral="r-1"' in page and "DSPM: พัฒนาการล่าช้า" in page


def test_the_inbox_names_filters_it_left_out(browser, referral):
    browser.sign_in("hc.somsri")
    page = text(browser.get("/referrals?district=abc"))
    assert 'id="ignored"' in page and "district" in page
    assert "district" not in calls(referral, "list_referrals")[-1][2]


def test_the_inbox_pages(app, store):
    referral = FakeReferral(referrals=[sample_referral(f"r-{n:02d}", due_by=f"2025-10-{n + 1:02d}T00:00:00Z")
                                       for n in range(30)])
    browser = Browser(app, referral)
    browser.sign_in("hc.somsri")
    first = text(browser.get("/referrals"))
    assert first.count("data-referral=") == 25 and 'id="page-next"' in first
    second = text(browser.get("/referrals?status=open&page=2"))
    assert second.count("data-referral=") == 5 and 'id="page-prev"' in second
    assert 'id="page-next"' not in second


# --- operators and auditors -----------------------------------------------------------------------------

def test_operators_see_no_child_data_and_the_gateway_refuses_before_calling(browser, referral, store):
    browser.sign_in("ops.niran")
    assert 'id="no-child-data"' in text(browser.get("/", follow_redirects=True))
    for path in ("/referrals", "/referrals/r-1", "/children/c-1?reason=care"):
        response = browser.get(path)
        assert response.status_code == 403, path
        assert "c-1" not in text(response).replace("/children/c-1", "") or path.startswith("/children")
    response = browser.post("/referrals/r-1/act", {"action": "accept", "expected_version": "1"})
    assert response.status_code == 403
    assert referral.calls == []
    refused = audit_log(store, action="child.view")
    assert [(e["user_id"], e["outcome"], e["reason"]) for e in refused] == [("u-ops.niran", "refused:role", "care")]
    assert browser.get("/audit").status_code == 403


def test_auditors_read_the_audit_log_and_no_child_data(browser, referral, store):
    browser.sign_in("hosp.anan")
    browser.get("/children/c-1?reason=referral_follow_up")
    browser.post("/signout")
    browser.sign_in("audit.ratana")
    assert browser.get("/").headers["Location"] == "/audit"
    page = text(browser.get("/audit"))
    assert "hosp.anan" in page and "child.view" in page and "ติดตามการส่งต่อ" in page
    filtered = text(browser.get("/audit?user=hosp.anan&action=child.view"))
    assert filtered.count("<tr") == 2  # the header and the one view
    assert browser.get("/children/c-1?reason=audit").status_code == 403
    assert browser.get("/referrals").status_code == 403
    assert len(calls(referral, "child_page")) == 1


def test_staff_cannot_read_the_audit_log(browser):
    browser.sign_in("hc.somsri")
    assert browser.get("/audit").status_code == 403


# --- the child page -------------------------------------------------------------------------------------

def test_a_child_page_asks_why_first_and_calls_nothing_until_told(browser, referral, store):
    browser.sign_in("hosp.anan")
    page = text(browser.get("/children/c-1"))
    assert 'id="reason-form"' in page
    assert calls(referral, "child_page") == [] and audit_log(store, action="child.view") == []
    assert 'id="reason-form"' in text(browser.get("/children/c-1?reason=curiosity"))
    assert calls(referral, "child_page") == []


def test_a_child_page_view_is_audited_with_its_reason_and_shows_every_section(browser, referral, store):
    browser.sign_in("hosp.anan")
    response = browser.get("/children/c-1?reason=care")
    assert response.status_code == 200
    page = text(response)
    (entry,) = audit_log(store, action="child.view")
    assert (entry["user_id"], entry["target_id"], entry["reason"], entry["outcome"]) == (
        "u-hosp.anan", "c-1", "care", "ok")
    assert "สมใจ" not in str(entry)  # the audit log holds ids, not names
    for section in ('id="profile"', 'id="growth"', "<svg", 'id="dspm-grid"', 'id="immunisation-table"',
                    'id="timeline"', 'id="child-referrals"'):
        assert section in page, section
    assert "x-xxxx-xxxxx-12-1" in page and "1234567890121" not in page
    assert 'class="r-delayed"' in page and "imm-overdue" in page
    assert 'id="consent-notice"' not in page


def test_refused_consent_shows_the_notice_and_no_records(app, store):
    referral = FakeReferral(children=[sample_child(consent_shared=False)])
    browser = Browser(app, referral)
    browser.sign_in("hosp.anan")
    page = text(browser.get("/children/c-1?reason=care"))
    assert 'id="consent-notice"' in page and "สำนักพัฒนาสังคม" in page
    assert "<svg" not in page and 'id="timeline"' not in page and "สมใจ" not in page
    assert 'id="child-referrals"' in page


def test_a_child_the_viewer_may_not_see_is_refused_and_the_refusal_audited(browser, store):
    browser.sign_in("hosp.other")
    response = browser.get("/children/c-1?reason=care")
    assert response.status_code == 403
    assert 'data-code="forbidden"' in text(response)
    assert audit_log(store, action="child.view")[0]["outcome"] == "refused:forbidden"


def test_no_child_page_is_shown_if_its_view_cannot_be_audited(browser, store):
    from childlink_common.errors import StoreUnavailable

    browser.sign_in("hosp.anan")

    def broken(entry):
        raise StoreUnavailable("disk gone")

    store.append_audit = broken
    response = browser.get("/children/c-1?reason=care")
    assert response.status_code == 503 and "สมใจ" not in text(response)


def test_when_the_store_is_down_the_error_page_keeps_the_viewers_language(app, referral, browser, store):
    from childlink_common.errors import StoreUnavailable

    def down(*args, **kwargs):
        raise StoreUnavailable("disk gone")

    browser.sign_in("hosp.anan")
    browser.post("/prefs", {"lang": "en", "next": "/referrals"})
    store.session = down  # the signed-in session cannot be looked up: the cookie still names English
    english = browser.get("/referrals")
    assert english.status_code == 503 and "lang=en" in text(english)
    assert "briefly unavailable" in text(english) and "ระบบ" not in text(english)
    assert english.headers["Cache-Control"] == "no-store"
    # no cookie at all: the browser's first choice, else Thai
    app.open_ctx = down
    thai = Browser(app, referral).get("/referrals")
    asked = Browser(app, referral).get("/referrals", headers={"Accept-Language": "en-GB,en;q=0.8,th;q=0.5"})
    assert thai.status_code == asked.status_code == 503
    assert "lang=th" in text(thai) and "ระบบขัดข้องชั่วคราว" in text(thai) and "unavailable" not in text(thai)
    assert "lang=en" in text(asked) and "briefly unavailable" in text(asked)


# --- acting on a referral -------------------------------------------------------------------------------

def test_the_receiver_sees_the_allowed_actions_as_forms_and_accepts(browser, referral, store):
    browser.sign_in("hosp.anan")
    page = text(browser.get("/referrals/r-1"))
    assert re.findall(r'id="act-(\w+)"', page) == ["accept", "reject", "mark_entered_in_error"]
    response = browser.post("/referrals/r-1/act", {"action": "accept", "expected_version": "1"})
    assert response.status_code == 303 and response.headers["Location"] == "/referrals/r-1?done=accept"
    page = text(browser.get(response.headers["Location"]))
    assert 'id="action-done"' in page and 'data-status="accepted"' in page
    assert re.findall(r'id="act-(\w+)"', page) == ["schedule", "start", "complete", "mark_entered_in_error"]
    (entry,) = audit_log(store, action="referral.accept")
    assert (entry["target_id"], entry["outcome"], entry["detail"]["expected_version"]) == ("r-1", "ok", 1)
    assert calls(referral, "act_on_referral")[0][1:] == (
        {"user_id": "u-hosp.anan", "role": "hospital_staff", "department": "medical", "facility": "HOSP-1008",
         "district": "1008"}, "r-1", "accept", {}, 1)


def test_a_stale_version_shows_the_conflict_clearly_and_is_audited(browser, store):
    browser.sign_in("hosp.anan")
    browser.get("/referrals/r-1")
    browser.post("/referrals/r-1/act", {"action": "accept", "expected_version": "1"})
    response = browser.post("/referrals/r-1/act", {"action": "schedule", "scheduled_for": "2099-01-01",
                                                   "expected_version": "1"})
    assert response.status_code == 409
    page = text(response)
    assert 'id="action-error" data-code="conflict"' in page and "มีผู้อื่นแก้ไข" in page
    assert "version 2, not 1" in page
    assert audit_log(store, action="referral.schedule")[0]["outcome"] == "refused:conflict"


def test_a_missing_field_refusal_names_the_field(browser):
    browser.sign_in("hosp.anan")
    browser.get("/referrals/r-1")
    response = browser.post("/referrals/r-1/act", {"action": "reject", "expected_version": "1"})
    assert response.status_code == 422
    page = text(response)
    assert 'data-code="invalid"' in page and '<span class="code">reason</span>' in page


def test_complete_with_an_outcome_then_nothing_more_to_do(browser, referral):
    browser.sign_in("hosp.anan")
    for action, fields in (("accept", {}), ("start", {}), ("complete", {"outcome": "treated", "notes": "ok"})):
        version = referral.referrals["r-1"]["version"]
        response = browser.post("/referrals/r-1/act", {"action": action, "expected_version": str(version), **fields})
        assert response.status_code == 303, text(response)
    page = text(browser.get("/referrals/r-1"))
    assert 'data-status="completed"' in page and 'id="r-outcome"' in page and "ได้รับการรักษา" in page
    assert re.findall(r'id="act-(\w+)"', page) == ["mark_entered_in_error"]


def test_the_requester_may_cancel_but_not_accept(browser, referral):
    browser.sign_in("hc.somsri")
    page = text(browser.get("/referrals/r-1"))
    assert re.findall(r'id="act-(\w+)"', page) == ["cancel", "mark_entered_in_error"]
    response = browser.post("/referrals/r-1/act", {"action": "accept", "expected_version": "1"})
    assert response.status_code == 403 and 'data-code="forbidden"' in text(response)


def test_a_district_officer_reads_but_is_offered_no_action(browser):
    browser.sign_in("district.wichai")
    page = text(browser.get("/referrals/r-1"))
    assert 'id="no-actions"' in page and 'id="act-' not in page


def test_an_action_post_needs_the_csrf_token(browser, referral):
    browser.sign_in("hosp.anan")
    response = browser.post("/referrals/r-1/act", {"action": "accept", "expected_version": "1",
                                                   "csrf_token": "x"})
    assert response.status_code == 403 and calls(referral, "act_on_referral") == []


def test_an_unknown_action_is_refused_before_calling(browser, referral):
    browser.sign_in("hosp.anan")
    browser.get("/referrals/r-1")
    assert browser.post("/referrals/r-1/act", {"action": "delete", "expected_version": "1"}).status_code == 400
    assert calls(referral, "act_on_referral") == []


# --- when referral is not there -------------------------------------------------------------------------

class Missing:
    def __getattr__(self, name):
        def call(*args):
            raise MethodNotFound(name)
        return call


def test_a_referral_service_without_the_call_shows_unavailable(app):
    browser = Browser(app, Missing())
    browser.sign_in("hc.somsri")
    response = browser.get("/referrals")
    assert response.status_code == 503 and 'data-code="unavailable"' in text(response)
    assert browser.get("/children/c-1?reason=care").status_code == 503


# --- the response itself --------------------------------------------------------------------------------

def test_pages_carry_security_headers_and_are_not_cached(browser):
    browser.sign_in("hc.somsri")
    response = browser.get("/referrals")
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"
    css = browser.get("/static/app.css")
    assert css.status_code == 200 and css.mimetype == "text/css" and "max-age" in css.headers["Cache-Control"]
    assert browser.get("/static/app.css", headers={"If-None-Match": css.headers["ETag"]}).status_code == 304


def test_no_page_loads_anything_from_elsewhere_or_runs_script(browser):
    browser.sign_in("hosp.anan")
    for path in ("/referrals", "/referrals/r-1", "/children/c-1?reason=care"):
        page = text(browser.get(path))
        assert "<script" not in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert "https://" not in page


def test_unknown_pages_and_methods(browser):
    browser.sign_in("hc.somsri")
    assert browser.get("/nope").status_code == 404
    assert browser.client.delete("/referrals").status_code == 405


def test_pages_render_well_under_100_ms(browser):
    browser.sign_in("hosp.anan")
    timings = {}
    for path in ("/referrals", "/referrals/r-1", "/children/c-1?reason=care"):
        browser.get(path)  # templates compiled once
        durations = []
        for _ in range(5):
            header = browser.get(path).headers["Server-Timing"]
            durations.append(float(re.search(r"total;dur=([\d.]+)", header).group(1)))
        timings[path] = min(durations)
    assert all(ms < 100 for ms in timings.values()), timings


def test_the_favicon_is_served_to_anyone_and_cached(browser):
    icon = browser.get("/favicon.ico")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml" and b"<svg" in icon.data
    assert "max-age" in icon.headers["Cache-Control"]
    browser.sign_in("hc.somsri")
    assert 'rel="icon" href="/favicon.ico"' in browser.get("/referrals").get_data(as_text=True)


def test_the_inbox_names_the_child_with_age_and_district_in_the_viewers_language(browser, referral, monkeypatch):
    from childlink_gateway import dates

    monkeypatch.setattr(dates, "today", lambda: dt.date(2026, 12, 7))
    browser.sign_in("hosp.anan")
    page = text(browser.get("/referrals"))
    assert '<span class="child-name">สมใจ ใจดี</span>' in page
    assert "2 ปี 8 เดือน" in page and "พระนคร" in page and ">1001<" not in page
    browser.post("/prefs", {"lang": "en", "next": "/referrals"})
    page = text(browser.get("/referrals"))
    assert "2 y 8 m" in page and "Phra Nakhon" in page and "พระนคร" not in page


def test_the_inbox_withholds_a_name_the_child_page_would_hide(app):
    referral = FakeReferral(children=[sample_child(consent_shared=False)])
    browser = Browser(app, referral)
    browser.sign_in("hosp.anan")
    page = text(browser.get("/referrals"))
    assert "สมใจ" not in page and "ไม่แสดงชื่อ" in page


def test_a_child_page_is_titled_with_the_childs_name_and_district_name(browser):
    browser.sign_in("hosp.anan")
    page = text(browser.get("/children/c-1?reason=care"))
    assert "<title>สมใจ ใจดี ·" in page and "<h1>สมใจ ใจดี" in page
    assert 'id="child-district">พระนคร' in page


def test_staff_find_a_child_by_a_posted_name_birth_date_or_national_id_and_the_search_is_audited(
        browser, referral, store):
    browser.sign_in("hc.somsri")
    form = text(browser.get("/children/search"))
    assert 'method="post" action="/children/search"' in form
    page = text(browser.post("/children/search", {"national_id": "1234567890121"}))
    assert 'data-child="c-1"' in page and "สมใจ ใจดี" in page and "พระนคร" in page
    assert "1234567890121" not in page  # not echoed back
    assert calls(referral, "search_children")[-1][2] == {"national_id": "1234567890121"}
    page = text(browser.post("/children/search", {"name": "สมใจ", "birth_date": "2024-03-15"}))
    assert 'data-child="c-1"' in page
    assert 'id="search-empty"' in text(browser.post("/children/search", {"name": "ไม่มี"}))
    entries = audit_log(store, action="child.search")
    assert len(entries) == 3
    by_nid = next(e for e in entries if e["detail"]["by"] == ["national_id"])
    assert by_nid["detail"]["child_ids"] == ["c-1"] and by_nid["outcome"] == "ok"
    assert "1234567890121" not in str(entries) and "สมใจ" not in str(entries)
    searched = len(calls(referral, "search_children"))
    assert browser.get("/children/search?national_id=1234567890121").status_code == 200  # the form only
    assert len(calls(referral, "search_children")) == searched  # a query in a URL searches nothing


def test_operators_and_forged_posts_get_no_search(browser, referral):
    browser.sign_in("ops.niran")
    assert browser.post("/children/search", {"name": "สมใจ"}).status_code == 403
    browser.sign_in("hc.somsri")
    assert browser.post("/children/search", {"name": "สมใจ", "csrf_token": "forged"}).status_code == 403
    assert not calls(referral, "search_children")
