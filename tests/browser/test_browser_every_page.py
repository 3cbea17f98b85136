"""Every staff page, the identity pages included, in real headless Chromium in Thai and in English: each
one renders in the chosen language only (childlink_gateway.language_check) and is kept as a screenshot,
artifacts/browser/pages/<user>-<page>-<lang>.png (gitignored; CI keeps it as a test artifact)."""

import re

import pytest
from childlink_gateway.language_check import foreign
from childlink_gateway.seed import DEMO_USERS

pytestmark = pytest.mark.e2e

LANGS = ("th", "en")


def pages_for(scenario):
    child, referral = scenario.child_id, scenario.referral_id
    return {
        "hc.somsri": [("inbox", "/referrals"), ("referral", f"/referrals/{referral}"),
                      ("child-reason", f"/children/{child}"), ("child", f"/children/{child}?reason=care"),
                      ("search", "/children/search"), ("not-found", "/no-such-page")],
        "hosp.anan": [("inbox", "/referrals"), ("referral", f"/referrals/{referral}")],
        "reg.suda": [("identity-reviews", "/identity/reviews"), ("identity-closed", "/identity/reviews?status=all"),
                     ("child", f"/children/{child}?reason=care")],
        "audit.ratana": [("audit", "/audit")],
        "ops.niran": [("home", "/"), ("operations", "/operator")],
    }


def data_of(scenario):
    """What the records themselves say (names), which an English page shows as they are."""
    names = [scenario.given_name, scenario.family_name, f"{scenario.given_name} {scenario.family_name}"]
    return names + [spec["display_name"] for spec in DEMO_USERS]


def choose(person, lang):
    if person.page.evaluate("document.documentElement.lang") != lang:
        person.switch_language()
    assert person.page.evaluate("document.documentElement.lang") == lang


def check(person, scenario, artifacts, user, slug, lang):
    html = person.page.content()
    words = foreign(html, lang, data_of(scenario))
    assert words == [], f"{user} {slug} {lang}: {sorted(set(words))}"
    folder = artifacts / "pages"
    folder.mkdir(exist_ok=True)
    person.page.screenshot(path=str(folder / f"{user}-{slug}-{lang}.png"), full_page=True)


@pytest.mark.parametrize("user", ["hc.somsri", "hosp.anan", "reg.suda", "audit.ratana", "ops.niran"])
def test_every_page_of_each_role_in_thai_and_english(staff, scenario, artifacts, user):
    person = staff(user)
    for lang in LANGS:
        choose(person, lang)
        for slug, path in pages_for(scenario)[user]:
            person.goto(path)
            assert person.page.locator("h1").first.is_visible(), (user, path)
            check(person, scenario, artifacts, user, slug, lang)


def test_finding_a_child_by_name_in_both_languages(staff, scenario, artifacts):
    hc = staff("hc.somsri")
    for lang in LANGS:
        choose(hc, lang)
        hc.goto("/children/search")
        hc.page.fill("#s-name", scenario.given_name)
        hc.submit("#s-go")
        assert hc.page.url.endswith("/children/search")  # the name went in the body, not the URL
        row = hc.page.locator(f'tr[data-child="{scenario.child_id}"]')
        assert row.count() == 1 and scenario.given_name in row.inner_text()
        check(hc, scenario, artifacts, "hc.somsri", "search-results", lang)
        hc.page.fill("#s-nid", scenario.national_id)
        hc.submit("#s-go")
        assert scenario.national_id not in hc.page.content()  # not echoed back
        assert hc.page.locator(f'tr[data-child="{scenario.child_id}"]').count() == 1


def test_the_inbox_names_the_child_with_age_and_district(staff, scenario):
    hosp = staff("hosp.anan")
    choose(hosp, "th")
    hosp.goto("/referrals")
    row = hosp.page.locator(f'tr[data-referral="{scenario.referral_id}"]').inner_text()
    assert f"{scenario.given_name} {scenario.family_name}" in row and "พระนคร" in row
    assert re.search(r"1 ปี \d+ เดือน", row)
    choose(hosp, "en")
    hosp.goto("/referrals")
    row = hosp.page.locator(f'tr[data-referral="{scenario.referral_id}"]').inner_text()
    assert "Phra Nakhon" in row and re.search(r"1 y \d+ m", row)
    hosp.goto(f"/children/{scenario.child_id}?reason=care")
    assert hosp.page.title().startswith(f"{scenario.given_name} {scenario.family_name}")


def test_the_sign_in_page_in_both_languages(chromium, scenario, artifacts):
    context = chromium.new_context(locale="th-TH")
    page = context.new_page()
    try:
        page.goto(f"{scenario.base}/signin")
        for lang in LANGS:
            if page.evaluate("document.documentElement.lang") != lang:
                page.click("#lang-switch")
                page.wait_for_load_state()
            assert foreign(page.content(), lang) == []
            (artifacts / "pages").mkdir(exist_ok=True)
            page.screenshot(path=str(artifacts / "pages" / f"anonymous-signin-{lang}.png"), full_page=True)
        assert page.request.get(f"{scenario.base}/favicon.ico").status == 200
    finally:
        context.close()
