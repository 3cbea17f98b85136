"""Fellegi-Sunter comparison of two prepared records: an agreement level per field, a weight per level.

The score is the sum over fields of log2(m/u) for the level the pair reached (`weights.WEIGHTS`); a
field missing on either side adds 0 (no evidence either way). Levels, best first:

- given_name, family_name: `exact` (normalised spelling equal), `variant` (same spelling key: a tone
  mark, a silent mark or a commonly confused letter apart, or a stray space), `typo` (one keying slip
  apart on the spelling key, and at most two edits apart as spelt: a letter inserted or dropped, two neighbours swapped, or a vowel or
  mark changed - a different consonant is a different name, not a typo: ธนดล/ธนพล), `phonetic`
  (same LK82 soundex), `similar` (Jaro-Winkler >= 0.8 for given names, >= 0.9 for family names, as
  OpenCR's shipped rules), `different`;
- birth_date: `exact`, `swapped` (day and month), `day` (one day apart), `days` (two or three),
  `near` (within a month, or the same day and month a year apart), `different` (within a year),
  `far` (a year or more apart, beyond `near`: two children, siblings most often). `far` weighs
  `FAR_BIRTH_DATES` whatever was estimated: siblings share every household field (guardian, phone,
  family name, district), which Fellegi-Sunter counts as independent evidence, so an estimated weight
  is outvoted by the household; a fixed -60 bits outweighs all of it together, a given name too;
- sex: `same`, `different` (blocking lets a wrong sex through only when date and given name agree);
- national_id (the child's; an exact valid one is linked deterministically before scoring, so here
  it is mostly a mistyped or an absent one): `exact`, `typo` (one digit), `different`;
- guardian_national_id: `exact`, `different`;
- guardian_phone: `exact` (after normalising formats), `typo` (one digit), `different`;
- district: `same`, `different`.

String similarity comes from rapidfuzz (OSA and Levenshtein edit operations, Jaro-Winkler).
"""

from dataclasses import dataclass

from rapidfuzz.distance import OSA, JaroWinkler, Levenshtein

from .normalise import Name, Prepared
from .weights import WEIGHTS

MISSING = "missing"
FIELDS = ("given_name", "family_name", "birth_date", "sex", "national_id", "guardian_national_id",
          "guardian_phone", "district")
NAME_LEVELS = ("exact", "variant", "typo", "phonetic", "similar", "different")
LEVELS = {
    "given_name": NAME_LEVELS,
    "family_name": NAME_LEVELS,
    "birth_date": ("exact", "swapped", "day", "days", "near", "different", "far"),
    "sex": ("same", "different"),
    "national_id": ("exact", "typo", "different"),
    "guardian_national_id": ("exact", "different"),
    "guardian_phone": ("exact", "typo", "different"),
    "district": ("same", "different"),
}
# Siblings born apart agree on guardian ID (+15.5), phone (+17.6), family name (+6.8), district (+5.4)
# and sex (+1.0): 46 bits, 54 with the same given name. A birth date a year or more beyond the matcher's
# "near" slips takes all of that back: only a matching child's national ID could still tip the pair,
# and then only to review (decision's birth-date guard).
FAR_BIRTH_DATES = -60.0
FIXED_WEIGHTS = {"birth_date": {"far": FAR_BIRTH_DATES}}
SIMILAR_AT = {"given_name": 0.8, "family_name": 0.9}  # Jaro-Winkler, OpenCR's shipped thresholds
THAI_CONSONANTS = frozenset(chr(code) for code in range(0x0E01, 0x0E2F))


def is_typo(x, y):
    """One keying slip apart: an insertion, a deletion, two neighbours swapped, or a non-consonant
    (vowel, tone or other mark) replaced. A replaced consonant makes another name."""
    if abs(len(x) - len(y)) > 1 or OSA.distance(x, y, score_cutoff=1) > 1:
        return False
    ops = Levenshtein.editops(x, y)
    if len(ops) != 1:
        return True  # OSA 1 but Levenshtein 2: a transposition
    op = ops[0]
    if op.tag != "replace":
        return True
    return x[op.src_pos] not in THAI_CONSONANTS or y[op.dest_pos] not in THAI_CONSONANTS


def compare_names(a: Name | None, b: Name | None, similar_at=0.8):
    if a is None or b is None or a.script != b.script:
        return MISSING
    if a is b or a.clean == b.clean:
        return "exact"
    if a.key == b.key:
        return "variant"
    if is_typo(a.key, b.key) and Levenshtein.distance(a.clean, b.clean, score_cutoff=2) <= 2:
        # one slip on the key, and at most two on the spelling: folding letters and dropping the silent
        # mark must not make two names one slip apart (ศิริพร / ศิริภรณ์: a twin's name, three apart)
        return "typo"
    if a.phonetic == b.phonetic:
        return "phonetic"
    if JaroWinkler.normalized_similarity(a.clean, b.clean) >= similar_at:
        return "similar"
    return "different"


def compare_birth_dates(a, b):
    if a is None or b is None:
        return MISSING
    if a == b:
        return "exact"
    if a.year == b.year and a.day == b.month and a.month == b.day:
        return "swapped"
    apart = abs(a.toordinal() - b.toordinal())
    if apart == 1:
        return "day"
    if apart <= 3:
        return "days"
    if apart <= 31 or (a.month == b.month and a.day == b.day and abs(a.year - b.year) == 1):
        return "near"
    return "different" if apart < 366 else "far"


def with_fixed(weights):
    """`weights` with the levels whose weight is a rule, not an estimate (`FIXED_WEIGHTS`), put in."""
    return {field: {**levels, **FIXED_WEIGHTS.get(field, {})} for field, levels in weights.items()}


def _one_digit_apart(a, b):
    return len(a) == len(b) and OSA.distance(a, b, score_cutoff=1) <= 1


def compare_numbers(a, b, typo_level=True):
    if not a or not b:
        return MISSING
    if a == b:
        return "exact"
    if typo_level and _one_digit_apart(a, b):
        return "typo"
    return "different"


def compare_same(a, b, agree="same"):
    if a is None or b is None:
        return MISSING
    return agree if a == b else "different"


_GIVEN_SIMILAR, _FAMILY_SIMILAR = SIMILAR_AT["given_name"], SIMILAR_AT["family_name"]


def compare(a: Prepared, b: Prepared):
    """The level each field reaches, in FIELDS order. (The simple fields are inlined: this runs for
    every candidate, a few hundred times per incoming record at Bangkok's size.)"""
    sex_a, sex_b = a.sex, b.sex
    district_a, district_b = a.district, b.district
    guardian_a, guardian_b = a.guardian_national_id, b.guardian_national_id
    return (
        compare_names(a.given, b.given, _GIVEN_SIMILAR),
        compare_names(a.family, b.family, _FAMILY_SIMILAR),
        compare_birth_dates(a.birth, b.birth),
        MISSING if sex_a is None or sex_b is None else "same" if sex_a == sex_b else "different",
        compare_numbers(a.national_id, b.national_id) if a.national_id and b.national_id else MISSING,
        MISSING if not guardian_a or not guardian_b else "exact" if guardian_a == guardian_b else "different",
        compare_numbers(a.guardian_phone, b.guardian_phone) if a.guardian_phone and b.guardian_phone else MISSING,
        MISSING if district_a is None or district_b is None else "same" if district_a == district_b else "different",
    )


def tables(weights=WEIGHTS):
    """Per field (in FIELDS order), level -> weight, with `missing` at 0: what `weigh` reads."""
    weights = with_fixed(weights)
    return tuple({**weights[field], MISSING: 0.0} for field in FIELDS)


_TABLES = tables()


def weigh(levels, field_tables=_TABLES):
    """The pair's weight: the sum of its levels' log2(m/u). Unrolled: this runs for every candidate."""
    t0, t1, t2, t3, t4, t5, t6, t7 = field_tables
    l0, l1, l2, l3, l4, l5, l6, l7 = levels
    return t0[l0] + t1[l1] + t2[l2] + t3[l3] + t4[l4] + t5[l5] + t6[l6] + t7[l7]


@dataclass(frozen=True, slots=True)
class FieldComparison:
    field: str
    level: str
    weight: float


def explain(levels, weights=WEIGHTS):
    """Why a pair scored what it did, field by field: kept with a link or a review item."""
    weights = with_fixed(weights)
    return tuple(FieldComparison(field, level, round(weights[field].get(level, 0.0), 2))
                 for field, level in zip(FIELDS, levels))


def conflicting_national_ids(a: Prepared, b: Prepared, levels=None):
    """Both records carry a checksum-valid national ID, more than one digit apart: two people. (One
    digit apart is a slip the checksum missed: a change in the third digit, weighted 11, never shows.)"""
    if not (a.national_id_valid and b.national_id_valid):
        return False
    level = levels[FIELDS.index("national_id")] if levels else compare_numbers(a.national_id, b.national_id)
    return level == "different"
