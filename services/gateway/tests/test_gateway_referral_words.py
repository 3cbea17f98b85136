"""Referral notes, reasons, evidence and history worded from structured fields in the viewer's language,
Buddhist-era dates on Thai pages; oral doses counted ครั้งที่, injections เข็มที่."""

import pytest
from childlink_gateway import referral_words
from childlink_gateway.dates import format_date
from childlink_gateway.fake_referral import FakeReferral, sample_referral
from childlink_gateway.i18n import Translator
from childlink_gateway.testing import Browser

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ENGLISH_NOTE = "delayed: fine_motor (18-month DSPM screening of 2025-09-20)"
DETAILS = {"kind": "dspm_delayed", "band": 18, "screened_on": "2025-09-20", "domains": ["fine_motor"],
           "delayed": ["fine_motor"]}
EVIDENCE = {"code": "rescreen_passed", "rule": "dspm_suspected_delay", "event_ids": ["e-9"],
            "at": "2025-10-01T17:30:00.000000Z"}


def structured_referral(**extra):
    return sample_referral(
        status="accepted", note=ENGLISH_NOTE, note_details=DETAILS, evidence=[EVIDENCE],
        history=[
            {"version": 1, "at": "2025-09-20T03:00:00Z", "by": {"user_id": "system", "role": "rules"},
             "action": "raise", "from": None, "to": "requested", "note": ENGLISH_NOTE,
             "details": {"note": DETAILS}},
            {"version": 2, "at": "2025-09-21T03:00:00Z", "by": {"user_id": "u-hosp", "role": "hospital_staff"},
             "action": "accept", "from": "requested", "to": "accepted", "note": None, "details": {}},
            {"version": 3, "at": "2025-10-01T17:30:00Z", "by": {"user_id": "system", "role": "rules"},
             "action": "attach_evidence", "from": "accepted", "to": "accepted", "note": None,
             "details": {"evidence": EVIDENCE}}],
        **extra)


def d(lang):
    return lambda value: format_date(value, lang, "be")


def test_the_note_is_worded_from_its_details_in_thai_with_a_buddhist_era_date():
    th = referral_words.note(Translator("th"), d("th"), structured_referral())
    assert th == "คัดกรอง DSPM ช่วงอายุ 18 เดือน วันที่ 20 ก.ย. 2568: ล่าช้าด้านกล้ามเนื้อมัดเล็กและสติปัญญา (FM)"
    en = referral_words.note(Translator("en"), lambda v: format_date(v, "en", "ce"), structured_referral())
    assert en == f"18-month DSPM screening on 20 Sep 2025: delayed in {Translator('en')('domain.fine_motor')}"


def test_without_details_a_thai_page_shows_the_reason_never_the_rules_english():
    plain = sample_referral(note=ENGLISH_NOTE)
    assert referral_words.note(Translator("th"), d("th"), plain) == Translator("th").maybe("reason", "dspm_delayed")
    assert referral_words.note(Translator("en"), d("en"), plain) == ENGLISH_NOTE


def test_a_withdrawal_reason_is_worded_from_its_structure():
    withdrawn = sample_referral(status="cancelled", cancel_reason="withdrawn: the DSPM re-screen was passed",
                                cancel_details={"code": "rescreen_passed", "rule": "dspm_suspected_delay",
                                                "event_ids": ["e-9"]})
    assert referral_words.cancel_reason(Translator("th"), d("th"), withdrawn) == "ถอนโดยกฎ: เด็กผ่านการประเมินพัฒนาการซ้ำ"
    consent = {"code": "consent_refused", "rule": "growth_below_minus_3", "department": "health",
               "on": "2025-10-02", "event_ids": ["e-1"]}
    worded = referral_words.cancel_reason(Translator("th"), d("th"), {**withdrawn, "cancel_details": consent})
    assert "2 ต.ค. 2568" in worded and "2025" not in worded


def test_oral_doses_are_counted_khrang_thi_and_injections_khem_thi():
    th = Translator("th")
    assert referral_words.dose_label(th, "OPV", 1) == "ครั้งที่ 1"
    assert referral_words.dose_label(th, "ROTA", 2) == "ครั้งที่ 2"
    assert referral_words.dose_label(th, "DTwP-HB-Hib", 3) == "เข็มที่ 3"
    assert referral_words.dose_label(Translator("en"), "OPV", 1) == "dose 1"


def test_the_referral_page_in_thai_has_no_english_note_and_shows_the_evidence(app):
    browser = Browser(app, FakeReferral(referrals=[structured_referral()]))
    browser.sign_in("hosp.anan")
    page = browser.get("/referrals/r-1").get_data(as_text=True)
    assert ENGLISH_NOTE not in page and "2025-09-20" not in page
    assert "คัดกรอง DSPM ช่วงอายุ 18 เดือน วันที่ 20 ก.ย. 2568" in page
    assert 'id="r-evidence"' in page and "เด็กผ่านการประเมินพัฒนาการซ้ำ: ปิดงานพร้อมผลการดูแล" in page
    assert "กฎแนบหลักฐานเพิ่ม" in page  # the history line of the attachment, in Thai


def test_the_child_page_counts_oral_doses_khrang_thi_and_shows_the_dspm_outcome(app):
    browser = Browser(app, FakeReferral())
    browser.sign_in("hc.somsri")
    page = browser.get("/children/c-1?reason=care").get_data(as_text=True)
    table = page[page.index('id="immunisation-table"'):]
    table = table[:table.index("</table>")]
    assert "ครั้งที่ 1" in table and "เข็มที่ 1" in table  # OPV dose 1, BCG dose 1
    assert 'id="dspm-outcomes"' in page and 'data-outcome="referred_delayed"' in page
    assert "ล่าช้า: ส่งต่อโรงพยาบาล" in page
