"""The registrar's identity pages end to end in one process: the review queue, a review with both children
side by side, link / keep apart, a merged child's page redirecting, and undoing a link from the child page;
real app, real SQLite store, the fake referral service."""

import re

import pytest
from childlink_gateway import roles
from childlink_gateway.fake_referral import FakeReferral, sample_records, sample_review
from childlink_gateway.pages import (
    comparison_rows,
    identity_records,
    probability_text,
    review_query,
    weight_text,
)
from childlink_gateway.seed import DEMO_USERS, user_record
from childlink_gateway.testing import Browser
from nameko.exceptions import MethodNotFound

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

REGISTRAR = {"user_id": "u-reg.suda", "role": "registrar", "department": "health", "facility": None,
             "district": None}


def text(response):
    return response.get_data(as_text=True)


def audit_log(store, **filters):
    return store.audit_entries(filters)[1]


def calls(referral, name):
    return [c for c in referral.calls if c[0] == name]


@pytest.fixture
def registrar(browser):
    browser.sign_in("reg.suda")
    return browser


# --- the role ---------------------------------------------------------------------------------------------

def test_the_registrar_is_a_department_scoped_role_that_sees_child_data_and_acts_on_no_referral():
    spec = next(spec for spec in DEMO_USERS if spec["role"] == "registrar")
    user = user_record(spec, "$argon2id$x")
    assert spec["username"] == "reg.suda" and user["department"] == "health"
    assert roles.viewer_of(user) == REGISTRAR
    assert roles.sees_child_data(user) and roles.reviews_identity(user) and not roles.reads_audit(user)
    assert roles.likely_actions(user, {"status": "requested", "to": {"facility": None}}) == []
    others = [user_record(s, "$argon2id$x") for s in DEMO_USERS if s["role"] != "registrar"]
    assert not any(roles.reviews_identity(other) for other in others)


def test_registrars_land_on_the_review_queue_and_only_they_see_its_nav_link(browser):
    browser.sign_in("reg.suda")
    assert browser.get("/").headers["Location"] == "/identity/reviews"
    page = text(browser.get("/identity/reviews"))
    assert 'id="nav-identity"' in page and "ตรวจสอบตัวตนเด็ก" in page and 'id="nav-inbox"' in page
    browser.post("/prefs", {"lang": "en", "next": "/identity/reviews"})
    assert "Identity reviews" in text(browser.get("/identity/reviews"))
    assert browser.get("/referrals").status_code == 200  # reads referrals too
    browser.post("/signout")
    for username in ("hc.somsri", "health.dept", "audit.ratana", "ops.niran"):
        browser.sign_in(username)
        assert 'id="nav-identity"' not in text(browser.get("/", follow_redirects=True)), username
        browser.post("/signout")


# --- what the pages make of the answers ---------------------------------------------------------------------

def test_scores_and_probabilities_are_shown_signed_and_never_rounded_to_certainty():
    assert [weight_text(v) for v in (4.24, -1.0, 0.0, -0.04, None, "x", True)] == [
        "+4.2", "−1.0", "0", "0", "", "", ""]
    assert [probability_text(v) for v in (0.913, 0.99996, 1.0, 0.00002, 0, None)] == [
        "91.3%", ">99.9%", "100%", "<0.1%", "0%", ""]


def test_the_comparison_rows_say_which_way_each_field_speaks_and_survive_odd_shapes():
    rows = comparison_rows({"comparison": [{"field": "sex", "level": "same", "weight": 0.9},
                                           {"field": "district", "level": "different", "weight": -2.5},
                                           {"field": "national_id", "level": "missing", "weight": 0},
                                           {"level": "exact"}, "junk"]})
    assert [(r["field"], r["agreement"]) for r in rows] == [("sex", "agree"), ("district", "disagree"),
                                                            ("national_id", "neutral")]
    assert comparison_rows(None) == [] and comparison_rows({"comparison": "x"}) == []


def test_a_sides_records_flatten_the_guardian_and_format_national_ids():
    [row] = identity_records({"records": sample_records()["c-1"]})
    assert (row["department"], row["guardian_phone"], row["guardian_national_id"], row["national_id"]) == (
        "health", "0812345678", "3-1007-01443-81-6", "1-2345-67890-12-1")
    [flat] = identity_records({"records": [{"record_key": "local:medical:HOSP-1008:H9",
                                            "subject": {"guardian_phone": "0899999999"}}, None]})
    assert flat["department"] == "medical" and flat["guardian_phone"] == "0899999999"
    assert identity_records(None) == [] and identity_records({"records": None}) == []
    assert review_query({"status": "all"}).status_filter() is None
    assert review_query({"status": "kept_apart", "page": "2"}).query_string() == "status=kept_apart&page=2"


# --- the queue ----------------------------------------------------------------------------------------------

def test_the_queue_passes_the_viewer_status_and_page_and_lists_what_referral_answers(registrar, referral):
    page = text(registrar.get("/identity/reviews"))
    assert calls(referral, "list_identity_reviews")[-1][1:] == (REGISTRAR, "open", 1, 25)
    assert 'data-review="ir-1"' in page and "+3.4" in page and "91.3%" in page and "รอตรวจสอบ" in page
    assert "สมใจ" not in page  # the queue holds ids and scores; names only on a review
    linked = text(registrar.get("/identity/reviews?status=linked"))
    assert calls(referral, "list_identity_reviews")[-1][2] == "linked" and 'id="reviews-empty"' in linked
    registrar.get("/identity/reviews?status=all")
    assert calls(referral, "list_identity_reviews")[-1][2] is None
    ignored = text(registrar.get("/identity/reviews?status=nope&page=x"))
    assert 'id="ignored"' in ignored and calls(referral, "list_identity_reviews")[-1][2:4] == ("open", 1)


def test_the_queue_pages(app):
    referral = FakeReferral(reviews=[sample_review(f"ir-{n:02d}", child_id=f"c-{n + 10}",
                                                   created_at=f"2025-10-{n + 1:02d}T00:00:00Z") for n in range(30)])
    browser = Browser(app, referral)
    browser.sign_in("reg.suda")
    first = text(browser.get("/identity/reviews"))
    assert first.count("data-review=") == 25 and 'id="page-next"' in first
    second = text(browser.get("/identity/reviews?status=open&page=2"))
    assert second.count("data-review=") == 5 and 'id="page-prev"' in second and 'id="page-next"' not in second


# --- one review ---------------------------------------------------------------------------------------------

def test_a_review_shows_both_children_their_records_and_the_field_by_field_comparison(registrar, referral, store):
    response = registrar.get("/identity/reviews/ir-1")
    assert response.status_code == 200
    page = text(response)
    assert calls(referral, "get_identity_review")[-1][1:] == (REGISTRAR, "ir-1")
    child, candidate = page.split('id="side-child"')[1].split('id="side-candidate"')
    candidate = candidate.split('id="comparison"')[0]
    assert 'data-child="c-2"' in page and 'data-child="c-1"' in page
    assert "ด.ญ.สมใจ" in child and "081-234-5679" in child and "สำนักพัฒนาสังคม" in child
    assert "สมใจ ใจดี" in candidate and "0812345678" in candidate and "3-1007-01443-81-6" in candidate
    assert "สำนักอนามัย" in candidate and "15 มี.ค. 2567" in child and "15 มี.ค. 2567" in candidate
    assert 'class="record trigger" data-record="local:social:CDC-1001-001:S7"' in child
    fields = re.findall(r'data-field="(\w+)" data-level="(\w+)"', page)
    assert fields[:3] == [("given_name", "variant"), ("family_name", "exact"), ("birth_date", "exact")]
    assert len(fields) == 8 and "สะกดต่างแบบ" in page and "+9.4" in page and 'class="cmp-neutral"' in page
    assert 'id="r-score">+3.4' in page and "91.3%" in page
    # the reason is a code with its numbers, worded in the viewer's language (Thai first)
    assert "คะแนน +3.4 บิต อยู่ระหว่าง −6.0 ถึง +6.0: ยังไม่แน่ใจ" in page and "between" not in page
    link = page.split('id="decide-link"')[1].split("</form>")[0]
    keep = page.split('id="decide-keep_apart"')[1].split("</form>")[0]
    assert 'name="expected_version" value="1"' in link and 'name="expected_version" value="1"' in keep
    assert 'name="reason" required' in keep and "required" not in link
    (entry,) = audit_log(store, action="identity.view")
    assert (entry["user_id"], entry["target_id"], entry["outcome"]) == ("u-reg.suda", "ir-1", "ok")
    assert "สมใจ" not in str(entry) and "0812345678" not in str(entry)


def test_linking_calls_referral_with_the_viewer_and_version_and_is_audited(registrar, referral, store):
    registrar.get("/identity/reviews/ir-1")
    response = registrar.post("/identity/reviews/ir-1/decide", {"decision": "link", "reason": "",
                                                                "expected_version": "1"})
    assert response.status_code == 303 and response.headers["Location"] == "/identity/reviews/ir-1?done=link"
    assert calls(referral, "decide_identity_review") == [("decide_identity_review", REGISTRAR, "ir-1", "link", None,
                                                          1)]
    (entry,) = audit_log(store, action="identity.link")
    assert (entry["user_id"], entry["target_kind"], entry["target_id"], entry["outcome"]) == (
        "u-reg.suda", "identity_review", "ir-1", "ok")
    assert entry["detail"] == {"expected_version": 1, "status": "linked", "child_id": "c-2", "candidate_id": "c-1",
                               "merge_id": "m-1"}
    page = text(registrar.get(response.headers["Location"]))
    assert 'id="decision-done"' in page and 'data-status="linked"' in page and 'id="decide-' not in page
    assert 'id="review-merge">m-1' in page and 'id="child-merged"' in page and 'id="review-history"' in page


def test_keeping_apart_sends_the_reason_and_is_audited_with_it(registrar, referral, store):
    registrar.get("/identity/reviews/ir-1")
    response = registrar.post("/identity/reviews/ir-1/decide", {"decision": "keep_apart",
                                                                "reason": " twins: other given name ",
                                                                "expected_version": "1"})
    assert response.headers["Location"] == "/identity/reviews/ir-1?done=keep_apart"
    assert calls(referral, "decide_identity_review")[0][1:] == (REGISTRAR, "ir-1", "keep_apart",
                                                                "twins: other given name", 1)
    (entry,) = audit_log(store, action="identity.keep_apart")
    assert (entry["reason"], entry["outcome"], entry["detail"]["status"]) == ("twins: other given name", "ok",
                                                                            "kept_apart")
    page = text(registrar.get(response.headers["Location"]))
    assert 'data-status="kept_apart"' in page and "twins: other given name" in page
    assert calls(referral, "merges_of_child") == [] and referral.merged_into == {}


def test_a_refusal_is_shown_on_the_review_naming_the_field_and_audited(registrar, store):
    registrar.get("/identity/reviews/ir-1")
    response = registrar.post("/identity/reviews/ir-1/decide", {"decision": "keep_apart", "reason": " ",
                                                                "expected_version": "1"})
    assert response.status_code == 422
    page = text(response)
    assert 'id="action-error" data-code="invalid"' in page and '<span class="code">reason</span>' in page
    assert 'id="decide-keep_apart"' in page  # the forms are still there to try again
    assert audit_log(store, action="identity.keep_apart")[0]["outcome"] == "refused:invalid"


def test_a_stale_version_shows_the_conflict_and_keeps_what_was_typed(registrar, referral, store):
    registrar.get("/identity/reviews/ir-1")
    response = registrar.post("/identity/reviews/ir-1/decide", {"decision": "keep_apart", "reason": "not her",
                                                                "expected_version": "0"})
    assert response.status_code == 409
    page = text(response)
    assert 'data-code="conflict"' in page and "version 1, not 0" in page and "ตัดสินแล้ว" in page
    assert 'value="not her"' in page.split('id="decide-keep_apart"')[1].split("</form>")[0]
    assert audit_log(store, action="identity.keep_apart")[0]["detail"]["expected_version"] == 0
    registrar.post("/identity/reviews/ir-1/decide", {"decision": "link", "expected_version": "1"})
    again = registrar.post("/identity/reviews/ir-1/decide", {"decision": "link", "expected_version": "1"})
    assert again.status_code == 409 and "decided already" in text(again)


def test_an_unknown_decision_or_a_missing_csrf_token_calls_nothing(registrar, referral):
    registrar.get("/identity/reviews/ir-1")
    assert registrar.post("/identity/reviews/ir-1/decide", {"decision": "merge", "expected_version": "1"}
                          ).status_code == 400
    assert registrar.post("/identity/reviews/ir-1/decide", {"decision": "link", "expected_version": "1",
                                                            "csrf_token": "forged"}).status_code == 403
    assert registrar.post("/identity/merges/m-1/undo", {"reason": "x", "expected_version": "1"},
                          csrf=False).status_code == 403
    assert calls(referral, "decide_identity_review") == [] and calls(referral, "undo_merge") == []


def test_an_unknown_review_is_a_clear_not_found(registrar):
    response = registrar.get("/identity/reviews/ir-nope")
    assert response.status_code == 404 and 'data-code="not_found"' in text(response)
    assert registrar.get("/identity/reviews/..%2Fx").status_code == 404


# --- who may ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("username", ["hc.somsri", "health.dept", "district.wichai", "ops.niran", "audit.ratana"])
def test_everyone_but_a_registrar_is_refused_before_referral_is_called(browser, referral, username):
    browser.sign_in(username)
    for path in ("/identity/reviews", "/identity/reviews/ir-1"):
        response = browser.get(path)
        assert response.status_code == 403 and "นายทะเบียนเด็ก" in text(response), path
    browser.get("/signin")  # a page with a CSRF token
    assert browser.post("/identity/reviews/ir-1/decide", {"decision": "link", "expected_version": "1"}
                        ).status_code == 403
    assert browser.post("/identity/merges/m-1/undo", {"reason": "x", "expected_version": "1"}).status_code == 403
    assert [c for c in referral.calls if c[0] != "list_referrals"] == []


def test_the_anonymous_are_sent_to_sign_in(browser):
    response = browser.get("/identity/reviews?status=linked")
    assert response.status_code == 303
    assert response.headers["Location"] == "/signin?next=%2Fidentity%2Freviews%3Fstatus%3Dlinked"


# --- a merged child, and undoing the link --------------------------------------------------------------------

def linked(referral):
    answer = referral.decide_identity_review(REGISTRAR, "ir-1", "link", "same girl", 1)
    assert answer["ok"]
    referral.calls.clear()


def test_a_merged_childs_page_redirects_to_the_child_it_was_linked_into(browser, referral, store):
    linked(referral)
    browser.sign_in("hosp.anan")
    response = browser.get("/children/c-2?reason=care")
    assert response.status_code == 303
    assert response.headers["Location"] == "/children/c-1?reason=care&merged_from=c-2"
    page = text(browser.get(response.headers["Location"]))
    assert 'id="merged-notice"' in page and "c-2" in page and 'id="profile"' in page
    assert [(e["target_id"], e["outcome"]) for e in reversed(audit_log(store, action="child.view"))] == [
        ("c-2", "refused:merged"), ("c-1", "ok")]
    assert 'id="merges"' not in page and calls(referral, "merges_of_child") == []  # not a registrar


def test_a_registrar_sees_the_childs_links_and_undoes_one(browser, referral, store):
    linked(referral)
    browser.sign_in("reg.suda")
    page = text(browser.get("/children/c-1?reason=care"))
    assert calls(referral, "merges_of_child")[-1][1:] == (REGISTRAR, "c-1")
    form = page.split('id="undo-m-1"')[1].split("</form>")[0]
    assert 'name="expected_version" value="1"' in form and 'name="reason" required' in form
    assert 'name="child_id" value="c-1"' in form and "same girl" in page
    response = browser.post("/identity/merges/m-1/undo", {"reason": "different mothers", "expected_version": "1",
                                                          "child_id": "c-1", "access_reason": "care"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/children/c-1?reason=care&done=unlinked&separated=c-2"
    assert calls(referral, "undo_merge") == [("undo_merge", REGISTRAR, "m-1", "different mothers", 1)]
    (entry,) = audit_log(store, action="identity.unlink")
    assert (entry["target_kind"], entry["target_id"], entry["reason"], entry["outcome"]) == (
        "merge", "m-1", "different mothers", "ok")
    assert entry["detail"]["kept_id"] == "c-1" and entry["detail"]["merged_id"] == "c-2"
    page = text(browser.get(response.headers["Location"]))
    assert 'id="unlink-done"' in page and 'id="undo-m-1"' not in page and "ยกเลิกแล้ว" in page
    assert referral.merged_into == {}


def test_an_undo_refusal_is_shown_on_the_child_page_naming_the_field(browser, referral, store):
    linked(referral)
    browser.sign_in("reg.suda")
    browser.get("/children/c-1?reason=care")
    response = browser.post("/identity/merges/m-1/undo", {"reason": "", "expected_version": "1", "child_id": "c-1",
                                                          "access_reason": "care"})
    assert response.status_code == 422
    page = text(response)
    assert 'id="undo-error" data-code="invalid"' in page and '<span class="code">reason</span>' in page
    assert 'id="undo-m-1"' in page and 'id="profile"' in page
    assert audit_log(store, action="identity.unlink")[0]["outcome"] == "refused:invalid"
    stale = browser.post("/identity/merges/m-1/undo", {"reason": "x", "expected_version": "7", "child_id": "c-1",
                                                       "access_reason": "care"})
    assert stale.status_code == 409 and "version 1, not 7" in text(stale)


def test_a_childs_page_shows_its_open_identity_review_in_the_viewers_language(browser, referral):
    browser.sign_in("reg.suda")
    page = text(browser.get("/children/c-1?reason=audit"))
    section = page.split('id="identity-reviews"')[1].split("</section>")[0]
    assert 'data-review="ir-1"' in section and "รายการตรวจสอบตัวตนที่รอการตัดสิน" in page
    assert "ยังไม่แน่ใจ" in section and 'href="/children/c-2?reason=audit"' in section
    assert 'href="/identity/reviews/ir-1"' in section
    browser.post("/prefs", {"lang": "en", "next": "/children/c-1?reason=audit"})
    section = text(browser.get("/children/c-1?reason=audit")).split('id="identity-reviews"')[1].split("</section>")[0]
    assert "Score +3.4 bits, between −6.0 and +6.0: not sure either way" in section
    referral.reviews["ir-1"]["status"] = "linked"
    assert 'id="identity-reviews"' not in text(browser.get("/children/c-1?reason=audit"))


def test_reasons_are_worded_from_their_codes_and_odd_shapes_do_not_break_the_page():
    from childlink_gateway.i18n import Translator
    from childlink_gateway.pages import reason_text

    th, en = Translator("th"), Translator("en")
    assert reason_text(en, {"code": "given_name_only", "level": "similar"}) == (
        "Given names only similar: a twin or a sibling?")
    assert reason_text(th, {"code": "birth_dates_apart", "level": "far"}) == "วันเกิดห่างกันหนึ่งปีขึ้นไป: อาจเป็นพี่น้อง"
    assert reason_text(en, {"code": "runner_up_close"}) == en("identity.why.runner_up_close")
    assert reason_text(en, {"code": "not_a_code_we_know"}) == "not_a_code_we_know"
    assert reason_text(en, "score 3.4 between -6 and 6") == "score 3.4 between -6 and 6"  # stored before codes
    assert reason_text(en, None) == "" and reason_text(en, {"level": "x"}) == ""


def test_a_child_page_without_links_says_so_to_a_registrar(browser, referral):
    browser.sign_in("reg.suda")
    page = text(browser.get("/children/c-1?reason=audit"))
    assert 'id="no-merges"' in page


# --- when referral is not there, and the page itself ---------------------------------------------------------

class Missing:
    def __getattr__(self, name):
        def call(*args):
            raise MethodNotFound(name)
        return call


def test_a_referral_service_without_the_identity_calls_shows_unavailable(app):
    browser = Browser(app, Missing())
    browser.sign_in("reg.suda")
    response = browser.get("/identity/reviews")
    assert response.status_code == 503 and 'data-code="unavailable"' in text(response)
    assert browser.get("/identity/reviews/ir-1").status_code == 503


def test_the_identity_pages_run_no_script_and_load_nothing_from_elsewhere(registrar, referral):
    linked(referral)
    for path in ("/identity/reviews", "/identity/reviews/ir-1", "/children/c-1?reason=care"):
        page = text(registrar.get(path))
        assert "<script" not in page and "https://" not in page, path
        assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', ""), path
