"""Normalising what a department wrote about a child, once, before it is blocked and compared.

Names (Thai script mostly): pythainlp's `normalize` (zero-width characters, duplicated or misordered
vowels and tone marks, `เเ` for `แ`), then the title is stripped (ด.ช., ด.ญ., เด็กชาย, เด็กหญิง,
นาย, นาง, นางสาว, น.ส., and Master/Miss/Mr/Mrs/Ms in Latin script) and every space and dot removed:
a Thai name is one word, so a space inside it is a keying slip. Each name then gets

- `clean`: the normalised spelling, compared exactly and by edit distance;
- `key`: a spelling key that reads the same whatever the common variant - tone marks and the silent
  mark (์) dropped, and letters that sound alike and are often confused folded together (ศ/ษ/ส,
  ณ/น, ธ/ฐ/ฑ/ฒ/ถ/ท, ภ/พ, ฎ/ด, ฏ/ต, ญ/ย, ฆ/ค, ฌ/ช, ฬ/ล, ใ/ไ);
- `phonetic`: pythainlp's LK82 Thai soundex (consonant classes, vowels ignored), used for blocking
  and as a weak agreement level;
- `script`: "thai" or "latin". A romanised name is not compared with a Thai one (Thai has many
  romanisations and pythainlp's rule-based one is too rough to score on); it counts as missing.

Phones: digits only, `+66`/`66` country prefix back to the leading 0. Birth dates: ISO dates; a
Buddhist-era year (> 2400) is brought back by 543. National IDs: digits only, with their checksum
checked (`childlink_contracts.is_valid_national_id`).
"""

import datetime as dt
import functools
import re
from dataclasses import dataclass

from childlink_contracts import is_valid_national_id
from pythainlp.soundex import lk82
from pythainlp.util import normalize as thai_normalize

BUDDHIST_ERA_OFFSET = 543

# Longest first: นางสาว before นาง, เด็กชาย before anything shorter. ด.ช./ด.ญ. need at least one dot
# (ด.ช, ดช., ด. ช.) so a name that merely starts with ดช is left alone.
_TITLE = re.compile(
    r"^\s*(?:เด็กชาย|เด็กหญิง|นางสาว|ด\s*\.\s*[ชญ]\s*\.?|ด[ชญ]\s*\.|น\s*\.\s*ส\s*\.?|นาย|นาง"
    r"|(?i:master|mstr\.?|miss|mrs\.?|mr\.?|ms\.?)(?=[\s.]))\s*"
)
_NOT_NAME = re.compile(r"[\s.\-_,'\"()]+")
_TONE_AND_SILENT = re.compile("[\u0e48-\u0e4c]")  # ่ ้ ๊ ๋ ์
_FOLD = str.maketrans({
    "ศ": "ส", "ษ": "ส", "ณ": "น", "ธ": "ท", "ฐ": "ท", "ฑ": "ท", "ฒ": "ท", "ถ": "ท", "ภ": "พ", "ฎ": "ด",
    "ฏ": "ต", "ญ": "ย", "ฆ": "ค", "ฌ": "ช", "ฬ": "ล", "ใ": "ไ",
})
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_THAI = re.compile("[\u0e00-\u0e7f]")
_LATIN_H = re.compile(r"(?<=[bcdgkpt])h")
_NOT_DIGIT = re.compile(r"[^0-9]")
_RUNS = re.compile(r"(.)\1+")
NAME_CACHE = 262_144


@dataclass(frozen=True, slots=True)
class Name:
    clean: str
    key: str
    phonetic: str
    script: str  # "thai" | "latin"


def strip_title(text):
    """`ด.ช. ธนากร` -> `ธนากร` (and `ด.ช.นายธนากร` -> `ธนากร`); a title alone, or one that would leave
    less than two letters, is kept."""
    while True:
        stripped = _TITLE.sub("", text, count=1)
        if stripped == text or len(stripped.strip()) < 2:
            return text
        text = stripped


@functools.lru_cache(maxsize=NAME_CACHE)
def name(raw):
    """The comparable forms of one name, or None when nothing is left of it."""
    if not raw or not raw.strip():
        return None
    clean = thai_normalize(_NOT_NAME.sub("", strip_title(raw.translate(_ZERO_WIDTH))))
    for _ in range(4):  # until nothing changes: taking spaces out can bring a title to the front, and
        again = thai_normalize(_NOT_NAME.sub("", strip_title(clean)))  # normalize is not always idempotent
        if again == clean:
            break
        clean = again
    if not clean:
        return None
    if _THAI.search(clean):
        key = _TONE_AND_SILENT.sub("", clean).translate(_FOLD)
        return Name(clean, key, lk82(clean) or key, "thai")
    clean = clean.lower()
    key = _RUNS.sub(r"\1", _LATIN_H.sub("", clean))
    return Name(clean, key, key[:1] + re.sub("[aeiouy]", "", key[1:])[:4], "latin")


def phone(raw):
    """Digits of a Thai phone number with a leading 0, or None when it cannot be one."""
    if not raw:
        return None
    digits = _NOT_DIGIT.sub("", str(raw))
    if digits.startswith("0066"):
        digits = digits[4:]
    elif digits.startswith("66") and len(digits) in (10, 11, 12):  # +66 81..., or +66 (0)81...
        digits = digits[2:]
    if not digits.startswith("0"):
        digits = "0" + digits
    return digits if 9 <= len(digits) <= 10 else None


def birth_date(raw):
    """A date from an ISO string or a date; a Buddhist-era year is converted. None if unreadable."""
    if raw is None:
        return None
    if isinstance(raw, dt.datetime):
        raw = raw.date()
    if isinstance(raw, dt.date):
        day = raw
    else:
        try:
            year, month, mday = (int(part) for part in str(raw).strip()[:10].split("-"))
        except ValueError:
            return None
        if year > 2400:
            year -= BUDDHIST_ERA_OFFSET
        try:
            day = dt.date(year, month, mday)
        except ValueError:
            return None
    if day.year > 2400:
        try:
            day = day.replace(year=day.year - BUDDHIST_ERA_OFFSET)
        except ValueError:
            return None
    return day


def national_id(raw):
    """(13 digits, checksum valid) or (None, False) when there is no 13-digit number."""
    if not raw:
        return None, False
    digits = _NOT_DIGIT.sub("", str(raw))
    if len(digits) != 13:
        return None, False
    return digits, is_valid_national_id(digits)


def district(raw):
    raw = (raw or "").strip()
    return raw or None


@dataclass(slots=True)
class Prepared:
    """One record of a child, normalised: what blocking and scoring read."""

    record_id: str | None
    child_id: str | None
    sex: str | None
    birth: dt.date | None
    given: Name | None
    family: Name | None
    national_id: str | None
    national_id_valid: bool
    guardian_national_id: str | None
    guardian_phone: str | None
    district: str | None

    @property
    def birth_ordinal(self):
        return self.birth.toordinal() if self.birth else None


SEXES = {"male": "male", "female": "female", "m": "male", "f": "female", "ชาย": "male", "หญิง": "female"}


def prepare(subject, record_id=None, child_id=None):
    """Normalise a child subject (the event contract's shape: given_name, family_name, birth_date, sex,
    district_code, national_id, guardian {national_id, phone, ...})."""
    guardian = subject.get("guardian") or {}
    child_nid, child_nid_valid = national_id(subject.get("national_id"))
    guardian_nid, _ = national_id(guardian.get("national_id"))
    return Prepared(
        record_id=record_id, child_id=child_id,
        sex=SEXES.get(str(subject.get("sex") or "").strip().lower()),
        birth=birth_date(subject.get("birth_date")),
        given=name(subject.get("given_name")), family=name(subject.get("family_name")),
        national_id=child_nid, national_id_valid=child_nid_valid,
        guardian_national_id=guardian_nid, guardian_phone=phone(guardian.get("phone")),
        district=district(subject.get("district_code")),
    )
