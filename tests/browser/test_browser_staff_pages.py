"""Staff pages in real headless Chromium against the real services: a DSPM screening with a delayed domain
raises a referral; a health-centre user and a hospital user see and act on it, in Thai and English; an
operator sees no child data; an auditor sees who looked and who acted."""

import datetime as dt
import json
import re
import statistics

import pytest

pytestmark = pytest.mark.e2e


def test_health_centre_staff_find_the_referral_in_their_inbox_in_thai_and_english(staff, scenario, artifacts):
    hc = staff("hc.somsri")
    hc.goto("/referrals")
    row = hc.page.locator(f'tr[data-referral="{scenario.referral_id}"]')
    assert "DSPM: พัฒนาการล่าช้า" in row.inner_text() and "รอรับ" in row.inner_text()
    assert "HOSP-1008" in row.inner_text()
    thai_year = str(dt.date.today().year + 543)
    assert thai_year in row.inner_text()
    hc.page.screenshot(path=str(artifacts / "inbox-th.png"), full_page=True)

    hc.switch_language()
    row = hc.page.locator(f'tr[data-referral="{scenario.referral_id}"]')
    assert "DSPM: delayed development" in row.inner_text() and "Requested" in row.inner_text()
    assert "Referral inbox" in hc.text("h1") and f"{thai_year} BE" in row.inner_text()
    hc.switch_era()
    assert str(dt.date.today().year) in hc.page.locator(f'tr[data-referral="{scenario.referral_id}"]').inner_text()
    hc.page.screenshot(path=str(artifacts / "inbox-en.png"), full_page=True)

    # filters: overdue only hides it (due in 30 days); the district and reason find it; a bad district is named
    hc.page.check("#f-overdue")
    hc.submit("#f-apply")
    assert hc.page.locator("#inbox-empty").is_visible()
    hc.goto("/referrals?status=requested&reason=dspm_delayed&district=1001")
    assert hc.page.locator(f'tr[data-referral="{scenario.referral_id}"]').count() == 1
    hc.goto("/referrals?district=Bangkok")
    assert "district" in hc.text("#ignored")

    # the requesting health centre may cancel, not accept
    hc.goto(f"/referrals/{scenario.referral_id}")
    assert hc.page.locator("#act-cancel").count() == 1 and hc.page.locator("#act-accept").count() == 0


def test_the_child_page_joins_every_department_with_growth_dspm_and_immunisations(staff, scenario, artifacts):
    hc = staff("hc.somsri")
    hc.goto(f"/referrals/{scenario.referral_id}")
    hc.submit("#open-child button")  # reason for access: referral follow-up, preselected
    assert f"/children/{scenario.child_id}?reason=referral_follow_up" in hc.page.url
    assert "ติดตามการส่งต่อ" in hc.text("#access-reason-shown")
    assert f"{scenario.given_name} {scenario.family_name}" in hc.text("#child-name")
    assert "x-xxxx-xxxxx-12-1" in hc.text("#profile")

    chart = hc.page.locator('#growth svg[data-indicator="weight_for_age"]')
    assert chart.get_attribute("data-kind") == "measure"  # WHO reference curves came with the data
    assert chart.locator("polygon").count() == 5 and chart.locator("circle").count() == 3  # red beyond 3 SD
    assert hc.page.locator('#growth svg[data-indicator="weight_for_length"] circle').count() == 3
    assert "น้ำหนัก/ส่วนสูง" in hc.text("#growth-table") and "ปกติ" in hc.text("#growth-table")
    assert hc.page.locator("#dspm-grid td.r-delayed").inner_text() == "ล่าช้า"
    assert hc.page.locator("#dspm-grid td.r-suspected_delay").count() == 1
    immunisations = hc.text("#immunisation-table")
    assert "BCG" in immunisations and "ได้รับแล้ว" in immunisations and "เกินกำหนด" in immunisations

    timeline = hc.page.locator("#timeline li")
    departments = {cls.split("dept-")[1].split()[0] for cls in timeline.evaluate_all("els => els.map(e => e.className)")}
    assert {"health", "medical", "referral"} <= departments
    assert "ประเมินพัฒนาการ" in hc.text("#timeline")  # the hospital's TEDA4I assessment
    hc.page.screenshot(path=str(artifacts / "child-th.png"), full_page=True)

    hc.switch_language()
    assert "Development (DSPM)" in hc.text("#dspm") and "Delayed" in hc.text("#dspm-grid")
    assert "Weight for age" in hc.text("#growth") and "overdue" in hc.text("#immunisation-table")
    hc.page.screenshot(path=str(artifacts / "child-en.png"), full_page=True)


def test_an_operator_sees_no_child_data_in_either_language(staff, scenario):
    ops = staff("ops.niran")
    assert ops.page.locator("#no-child-data").is_visible()
    assert ops.page.locator("#nav-inbox").count() == 0
    for path in ("/referrals", f"/referrals/{scenario.referral_id}", f"/children/{scenario.child_id}?reason=care"):
        response = ops.goto(path)
        assert response.status == 403, path
        body = ops.page.content()
        assert scenario.given_name not in body and scenario.national_id not in body and "DSPM" not in body
        assert "บทบาทของคุณไม่มีสิทธิ์เข้าถึงข้อมูลเด็ก" in ops.text("#error-message")
    ops.switch_language()
    assert "Your role does not give access to children's records." in ops.text("#error-message")
    assert ops.goto("/audit").status == 403


def test_hospital_staff_accept_schedule_start_and_complete_and_see_refusals(staff, scenario):
    hospital = staff("hosp.anan")
    hospital.goto(f"/referrals/{scenario.referral_id}")
    assert hospital.page.locator("#act-accept").count() == 1 and hospital.page.locator("#act-reject").count() == 1

    # a second tab with the same (soon stale) page
    stale = hospital.context.new_page()
    stale.goto(f"{scenario.base}/referrals/{scenario.referral_id}")

    hospital.submit("#act-accept button")
    assert "รับการส่งต่อแล้ว" in hospital.text("#action-done")
    assert hospital.page.locator("#r-status").get_attribute("data-status") == "accepted"

    stale.fill("#act-reject input[name=reason]", "ไม่มีคิว")
    hospital.submit("#act-reject button", page=stale)
    error = stale.locator("#action-error")
    assert error.get_attribute("data-code") == "conflict"
    assert "มีผู้อื่นแก้ไขการส่งต่อนี้ไปแล้ว" in error.inner_text()
    assert stale.locator("#r-status").get_attribute("data-status") == "accepted"  # nothing changed
    stale.close()

    hospital.switch_language()
    appointment = (dt.date.today() + dt.timedelta(days=5)).isoformat()
    hospital.page.fill("#act-schedule input[name=scheduled_for]", appointment)
    hospital.submit("#act-schedule button")
    assert "Appointment scheduled." in hospital.text("#action-done")
    hospital.submit("#act-start button")
    assert hospital.page.locator("#r-status").get_attribute("data-status") == "in_progress"
    hospital.page.select_option("#act-complete select[name=outcome]", "treated")
    hospital.submit("#act-complete button")
    assert hospital.page.locator("#r-status").get_attribute("data-status") == "completed"
    assert "Treated" in hospital.text("#r-outcome")
    assert hospital.page.locator("#act-accept, #act-schedule, #act-complete").count() == 0
    history = hospital.text("#history")
    assert "accepted" in history and "completed" in history

    # the health centre sees the loop closed
    hc = staff("hc.somsri")
    hc.goto("/referrals?status=completed")
    assert "เสร็จสิ้น" in hc.page.locator(f'tr[data-referral="{scenario.referral_id}"]').inner_text()


def test_the_auditor_sees_who_viewed_and_who_acted_and_no_child_data(staff, scenario):
    auditor = staff("audit.ratana")
    assert "/audit" in auditor.page.url
    log = auditor.text("#audit-log")
    assert "hc.somsri" in log and "child.view" in log and "ติดตามการส่งต่อ" in log
    assert "hosp.anan" in log and "referral.accept" in log and "refused:conflict" in log
    assert "ops.niran" in log and "refused:role" in log
    assert scenario.given_name not in auditor.page.content()
    auditor.goto("/audit?user=hosp.anan&action=referral.complete")
    assert auditor.page.locator("#audit-log tbody tr").count() == 1
    assert auditor.goto(f"/children/{scenario.child_id}?reason=audit").status == 403
    assert auditor.goto("/referrals").status == 403


def test_pages_render_well_under_100_ms(scenario, artifacts):
    timings = [t for t in scenario.timings if not t[0].startswith(("/signin", "/prefs", "/signout"))]
    assert len(timings) > 20
    render = [total - rpc for _, total, rpc in timings]
    summary = {
        "pages": len(timings),
        "render_ms_median": round(statistics.median(render), 1), "render_ms_max": round(max(render), 1),
        "total_ms_median": round(statistics.median(t for _, t, _ in timings), 1),
        "total_ms_max": round(max(t for _, t, _ in timings), 1),
        "by_page": {kind: round(statistics.median(t for p, t, _ in timings if re.match(pattern, p)), 1)
                    for kind, pattern in (("inbox", r"^/referrals$"), ("referral", r"^/referrals/[^/]+$"),
                                          ("child", r"^/children/"))
                    if any(re.match(pattern, p) for p, _, _ in timings)},
    }
    (artifacts / "timings.json").write_text(json.dumps(summary, indent=1))
    print(summary)
    assert summary["render_ms_median"] < 100, summary
