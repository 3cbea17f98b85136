"""Normalising Thai names, phones, birth dates and national IDs before matching."""

import datetime as dt

import pytest
from childlink_referral.matching.normalise import (
    birth_date,
    name,
    national_id,
    phone,
    prepare,
    strip_title,
)
from hypothesis import given, settings
from hypothesis import strategies as st


@pytest.mark.parametrize("raw", [
    "ธนากร", "ด.ช.ธนากร", "ด.ช. ธนากร", "ด. ช. ธนากร", "ดช.ธนากร", "ด.ช ธนากร", "เด็กชายธนากร", "เด็กชาย ธนากร",
    "นายธนากร", "  ธนากร  ", "ธนา กร", "ธนากร\u200b", "\u200bด.ช.ธนากร",
])
def test_titles_spaces_and_invisible_characters_go(raw):
    assert name(raw).clean == "ธนากร"


@pytest.mark.parametrize("raw, clean", [
    ("ด.ญ.ณัฐธิดา", "ณัฐธิดา"), ("เด็กหญิง ณัฐธิดา", "ณัฐธิดา"), ("นางสาวศศิธร", "ศศิธร"), ("น.ส.ศศิธร", "ศศิธร"),
    ("นางศศิธร", "ศศิธร"), ("Master Thanakorn", "thanakorn"), ("Miss Nattida", "nattida"), ("Mr.Somchai", "somchai"),
])
def test_every_title_form_is_stripped(raw, clean):
    assert name(raw).clean == clean


def test_a_name_that_only_starts_like_a_title_keeps_its_letters():
    assert strip_title("ดชพล") == "ดชพล"  # no dot: not ด.ช.
    assert name("Missy").clean == "missy"
    assert name("นาง").clean == "นาง"  # a title alone is not stripped to nothing
    assert name("") is None and name("   ") is None and name(None) is None


def test_pythainlp_normalisation_mends_a_doubled_sara_e_and_duplicated_marks():
    assert name("เเซ่ตั้ง").clean == name("แซ่ตั้ง").clean == "แซ่ตั้ง"
    assert name("ค่่า").clean == "ค่า"


@pytest.mark.parametrize("a, b", [
    ("แซ่ตั้ง", "แซ่ตั่ง"),  # tone mark changed
    ("แซ่ตั้ง", "แซตั้ง"),  # tone mark dropped
    ("สุขสวัสดิ์", "สุขสวัสดิ"),  # silent mark dropped
    ("ศรีสุข", "สรีสุข"), ("ภัทรพล", "พัทรพล"), ("ณัฐธิดา", "นัฐธิดา"), ("ใจดี", "ไจดี"), ("ธนากร", "ทนากร"),
])
def test_common_spelling_variants_share_a_spelling_key(a, b):
    assert name(a).clean != name(b).clean
    assert name(a).key == name(b).key


def test_different_names_keep_different_keys_and_get_a_thai_soundex():
    assert name("ธนดล").key != name("ธนพล").key
    assert name("ธนากร").phonetic == name("ธนากร").phonetic != name("สมชาย").phonetic
    assert name("ธนากร").script == "thai" and name("Thanakorn").script == "latin"


@pytest.mark.parametrize("raw", ["0812345678", "081-234-5678", "081 234 5678", "+66812345678", "66 81 234 5678",
                                 "+66 (0)81 234 5678", "0066812345678"])
def test_phone_formats_come_to_the_same_digits(raw):
    assert phone(raw) == "0812345678"


def test_landlines_keep_nine_digits_and_nonsense_is_dropped():
    assert phone("02-123-4567") == "021234567"
    assert phone("12") is None and phone("") is None and phone(None) is None


def test_birth_dates_from_iso_dates_and_buddhist_era_years():
    assert birth_date("2019-03-04") == dt.date(2019, 3, 4)
    assert birth_date("2562-03-04") == dt.date(2019, 3, 4)
    assert birth_date(dt.date(2562, 3, 4)) == dt.date(2019, 3, 4)
    assert birth_date("2019-02-30") is None and birth_date("soon") is None and birth_date(None) is None


def test_national_ids_are_digits_with_a_checked_checksum():
    assert national_id("1234567890121") == ("1234567890121", True)
    assert national_id("1-2345-67890-12-1") == ("1234567890121", True)
    assert national_id("1234567890122") == ("1234567890122", False)
    assert national_id("12345") == (None, False) and national_id(None) == (None, False)


def test_a_record_is_prepared_once_for_blocking_and_scoring():
    prepared = prepare({"local_id": "HN1", "given_name": "ด.ญ. ณัฐธิดา", "family_name": "แซ่ตั้ง", "sex": "female",
                        "birth_date": "2021-05-04", "district_code": "1001", "national_id": "1234567890121",
                        "guardian": {"phone": "+66812345678", "national_id": "1234567890121"}}, record_id="r1")
    assert (prepared.record_id, prepared.given.clean, prepared.family.clean, prepared.sex) == (
        "r1", "ณัฐธิดา", "แซ่ตั้ง", "female")
    assert prepared.birth == dt.date(2021, 5, 4) and prepared.birth_ordinal == dt.date(2021, 5, 4).toordinal()
    assert prepared.national_id_valid and prepared.guardian_phone == "0812345678"
    bare = prepare({"sex": "female", "birth_date": "2021-05-04"})
    assert bare.given is None and bare.family is None and bare.guardian_phone is None and bare.district is None


THAI_LETTERS = "กขคงจชซญณดตถทธนบปผพฟภมยรลวศษสหอฮ" + "ะัาำิีึืุู" + "เแโใไ" + "่้๊๋์"


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=THAI_LETTERS + " .", min_size=1, max_size=12))
def test_normalising_twice_changes_nothing_more(raw):
    once = name(raw)
    if once is not None:
        again = name(once.clean)
        assert again is not None and again.clean == once.clean and again.key == once.key


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=THAI_LETTERS, min_size=2, max_size=10), st.text(alphabet=THAI_LETTERS, min_size=2, max_size=10))
def test_name_comparison_is_symmetric(a, b):
    from childlink_referral.matching.scoring import compare_names

    assert compare_names(name(a), name(b)) == compare_names(name(b), name(a))
