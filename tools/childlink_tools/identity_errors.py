"""Labelled identity data: the same children registered in several departments, each register a little wrong.

The event simulator (`dataset.generate_dataset`) plays out children's whole histories; identity matching
only needs who a child is and how each department wrote it down, so this module makes that part fast
(about 300,000 children in well under a minute) and much harder than the event simulator does:

- every child gets a health-centre registration near birth; by age and chance a second health
  registration after moving house, a child development centre (social), a kindergarten class
  (education), a hospital record (medical) - each under its own local id;
- each registration is keyed by a clerk from what the family said, with the errors registers carry
  (rates per registration, see `ERRORS`): titles before the name, a letter dropped or two swapped, a
  tone mark changed, a commonly confused letter (ศ/ส, ณ/น, ภ/พ, ไ/ใ, ...), stray spaces, a blank
  family name; a birth date with day and month swapped, a day or a few days off, a year off; a
  missing or mistyped national ID; a guardian phone in another format (`081-234-5678`, `+66...`),
  an older number or a mistyped digit; another guardian than the one other departments know; a new
  district after a move; now and then the wrong sex;
- the hard cases: twins (same birth date, guardians, family name and district; different given
  names, often similar ones, `ธนดล`/`ธนพล`) and unrelated look-alikes born the same day in the same
  district, some with the same common family name.

Ground truth: each `Registration` names the child it belongs to (`child_key`), and lists the errors
put into it. `subject` is what the department holds, in the contract's child-subject shape except
that the guardian phone is as keyed (the ingest contract takes digits only, so a sender must clean
it; the matcher does not rely on that). Rates are plausible guesses, not measurements: they are
what the matcher's weights are estimated from, so they are stated here in one place.

Deterministic for a given `children`, seed and `now`.
"""

import datetime as dt
import itertools
import random
from collections import defaultdict
from dataclasses import dataclass, field

from . import names
from .places import bangkok
from .population import (
    INNER,
    LOCAL_ID_FORMATS,
    MIN_AGE_DAYS,
    NO_ID_REASONS,
    NO_ID_SHARE,
    OUTER,
    Guardian,
    _guardian,
    _national_id,
    _phone,
    _pick,
)
from .recorder import HAS_GUARDIAN, TITLE_SHARE
from .timing import DAY, add_months, age_years, bangkok_now

TWIN_SHARE = 0.03  # children who are one of a pair of twins (Thai twin births are ~1.5% of births)
SIMILAR_TWIN_NAMES = 0.5  # twins given names that share a beginning or an ending
LOOKALIKE_SHARE = 0.04  # children born the same day in the same district as an unrelated child
LOOKALIKE_SAME_FAMILY = 0.2  # ... and with the same (common) family name
SECOND_GUARDIAN_SHARE = 0.35  # a father or grandparent some departments deal with instead

# Which departments a child meets, and when.
MOVES_SHARE = 0.06  # registered again at another health centre after moving house
CDC_SHARE, SCHOOL_SHARE, HOSPITAL_SHARE = 0.45, 0.4, 0.2

# Per registration, the chance of each error (a registration can carry several).
ERRORS = {
    "given_name_typo": 0.04,  # a letter dropped or doubled, two letters swapped, a tone mark changed
    "given_name_variant": 0.03,  # a commonly confused letter, or a stray space / doubled sara e
    "family_name_typo": 0.04,
    "family_name_variant": 0.03,
    "family_name_blank": 0.02,
    "birth_date_swapped": 0.01,  # day and month swapped (when both are <= 12 and differ)
    "birth_date_day_off": 0.015,  # one day off
    "birth_date_days_off": 0.005,  # two or three days off
    "birth_date_year_off": 0.003,
    "birth_date_month_off": 0.003,
    "sex_wrong": 0.002,
    "national_id_mistyped": 0.01,  # one digit wrong (the checksum then usually fails)
    "other_guardian": 0.15,  # when the child has a second guardian
    "guardian_national_id_blank": 0.2,
    "phone_old": 0.5,  # when the guardian has an older number
    "phone_mistyped": 0.02,
    "moved_district": 0.05,  # registrations after the first
}
NATIONAL_ID_BLANK = {"health": 0.03, "social": 0.15, "education": 0.08, "medical": 0.12}
PHONE_FORMATS = (("plain", 70), ("dashes", 15), ("spaces", 6), ("plus66", 6), ("66", 3))
_PHONE_STYLES = [style for style, _ in PHONE_FORMATS]
_PHONE_CUMULATIVE = list(itertools.accumulate(weight for _, weight in PHONE_FORMATS))

TONE_MARKS = "\u0e48\u0e49\u0e4a\u0e4b"
CONSONANTS = {chr(code) for code in range(0x0E01, 0x0E2F)}
CONFUSED = ("สศษ", "นณ", "ทธฐฑฒ", "พภ", "ดฎ", "ตฏ", "ยญ", "คฆ", "ชฌ", "ลฬ", "ไใ")
CONFUSED_WITH = {letter: group.replace(letter, "") for group in CONFUSED for letter in group}


@dataclass(slots=True)
class Person:
    """The truth about one child, as far as identity goes."""

    key: str
    index: int
    sex: str
    given_name: str
    family_name: str | None
    birth_date: dt.date
    district_code: str
    national_id: str | None
    no_id_reason: str | None  # migrant, stateless, late_registration: why there is no national ID
    guardians: tuple  # (population.Guardian, ...): the first is the main one
    twin_of: str | None = None
    lookalike_of: str | None = None


@dataclass(slots=True)
class Registration:
    """One department's record of one child."""

    record_id: str
    child_key: str
    department: str
    facility_code: str
    local_id: str
    registered_on: dt.date
    subject: dict  # the child subject as the department holds it
    errors: tuple = ()


@dataclass
class IdentityDataset:
    now: dt.datetime
    children: list  # [Person]
    records: list  # [Registration], in the order departments registered them
    _by_id: dict = field(default_factory=dict, repr=False)

    def child_of(self, record_id):
        if not self._by_id:
            self._by_id = {record.record_id: record.child_key for record in self.records}
        return self._by_id[record_id]

    def records_by_child(self):
        grouped = defaultdict(list)
        for record in self.records:
            grouped[record.child_key].append(record)
        return dict(grouped)

    def true_pairs(self):
        """Every pair of record ids that belong to the same child, (earlier, later)."""
        pairs = []
        for records in self.records_by_child().values():
            pairs.extend((a.record_id, b.record_id) for i, a in enumerate(records) for b in records[i + 1:])
        return pairs


# --- names -------------------------------------------------------------------------------------------

def misspell(name, rng):
    """One keying slip: a letter dropped or doubled, two neighbours swapped, or a tone mark changed."""
    kind = rng.choice(("drop", "double", "swap", "tone"))
    if kind == "tone":
        marked = [i for i, ch in enumerate(name) if ch in TONE_MARKS]
        if marked:
            i = rng.choice(marked)
            if rng.random() < 0.5:
                return name[:i] + name[i + 1:]
            return name[:i] + rng.choice(TONE_MARKS.replace(name[i], "")) + name[i + 1:]
        consonants = [i for i, ch in enumerate(name) if ch in CONSONANTS]
        i = rng.choice(consonants) + 1
        return name[:i] + rng.choice(TONE_MARKS[:2]) + name[i:]
    if len(name) < 3:
        return name + name[-1]
    i = rng.randrange(1, len(name) - 1) if kind == "swap" else rng.randrange(len(name))
    if kind == "drop":
        return name[:i] + name[i + 1:]
    if kind == "double":
        return name[:i] + name[i] + name[i:]
    return name[:i] + name[i + 1] + name[i] + name[i + 2:]


def respell(name, rng):
    """A spelling that reads the same: a commonly confused letter, a stray space, or แ keyed as เเ."""
    confusable = [i for i, ch in enumerate(name) if ch in CONFUSED_WITH]
    kind = rng.random()
    if confusable and kind < 0.6:
        i = rng.choice(confusable)
        return name[:i] + rng.choice(CONFUSED_WITH[name[i]]) + name[i + 1:]
    if "แ" in name and kind < 0.8:
        return name.replace("แ", "เเ", 1)
    i = rng.randrange(1, len(name))
    return name[:i] + " " + name[i:]


def similar_names(name, pool):
    """Names in `pool` that parents of twins pick to go with `name`: the same beginning or ending."""
    return [other for other in pool
            if other != name and (other[:2] == name[:2] or (len(name) > 3 and other[-3:] == name[-3:]))]


# --- the population ----------------------------------------------------------------------------------

def _birth_date(rng, today):
    birth_date = today - rng.randrange(MIN_AGE_DAYS, 7 * 365) * DAY
    while age_years(birth_date, today) > 6:
        birth_date += DAY
    return birth_date


def _second_guardian(rng, main, family, taken_ids):
    relation = "father" if main.relation == "mother" else rng.choice(("grandparent", "mother"))
    sex = {"father": "male", "mother": "female"}.get(relation, "female")
    national_id = None
    if main.national_id and rng.random() < 0.6:
        national_id = _national_id(rng, 3 if relation == "grandparent" else 1, main.national_id[1:5], taken_ids)
    return Guardian(relation, sex, rng.choice(names.given_names(sex)), family, _phone(rng), national_id, None)


class _Population:
    def __init__(self, seed, now):
        self.rng = random.Random(f"{seed}/identity")
        self.today = now.date()
        self.places = bangkok()
        self.district_codes = [d.code for d in self.places.districts]
        self.district_cumulative = list(itertools.accumulate(
            1 if code in INNER else 3 if code in OUTER else 2 for code in self.district_codes))
        self.taken_ids = set()
        self.people = []

    def person(self, **fixed):
        rng = self.rng
        index = len(self.people) + 1
        sex = fixed.get("sex") or ("male" if rng.random() < 0.51 else "female")
        if "no_id_reason" in fixed:
            no_id_reason = fixed["no_id_reason"]
        else:
            no_id_reason = _pick(rng, NO_ID_REASONS) if rng.random() < NO_ID_SHARE else None
        migrant = no_id_reason == "migrant"
        migrant_name = migrant and rng.random() < 0.7
        given = fixed.get("given_name") or rng.choice(names.given_names(sex, migrant_name))
        if "family_name" in fixed:
            family = fixed["family_name"]
        else:
            family = rng.choice(names.MIGRANT_FAMILY) if migrant_name and rng.random() < 0.4 else (
                None if migrant_name else rng.choice(names.family_names()))
        district = fixed.get("district_code") or rng.choices(
            self.district_codes, cum_weights=self.district_cumulative)[0]
        national_id = None
        if no_id_reason is None:
            first_digit = 1 if rng.random() < 0.97 else 2
            office = district if rng.random() < 0.8 else f"{rng.randrange(11, 97)}{rng.randrange(1, 20):02d}"
            national_id = _national_id(rng, first_digit, office, self.taken_ids)
        guardians = fixed.get("guardians")
        if guardians is None:
            main = _guardian(rng, family, migrant, district, self.taken_ids)
            guardians = (main,)
            if rng.random() < SECOND_GUARDIAN_SHARE:
                guardians += (_second_guardian(rng, main, family, self.taken_ids),)
        birth_date = fixed.get("birth_date") or _birth_date(rng, self.today)
        person = Person(f"P{index:07d}", index, sex, given, family, birth_date, district, national_id,
                        no_id_reason, guardians, fixed.get("twin_of"), fixed.get("lookalike_of"))
        self.people.append(person)
        return person

    def twin(self, first):
        rng = self.rng
        sex = first.sex if rng.random() < 0.65 else ("female" if first.sex == "male" else "male")
        pool = names.given_names(sex, first.given_name in names.given_names(first.sex, True))
        similar = similar_names(first.given_name, pool)
        if similar and rng.random() < SIMILAR_TWIN_NAMES:
            given = rng.choice(similar)
        else:
            given = rng.choice([name for name in pool if name != first.given_name])
        return self.person(sex=sex, given_name=given, family_name=first.family_name,
                           birth_date=first.birth_date, district_code=first.district_code,
                           guardians=first.guardians, no_id_reason=first.no_id_reason,
                           twin_of=first.key)

    def lookalike(self, other):
        fixed = {"birth_date": other.birth_date, "district_code": other.district_code, "lookalike_of": other.key}
        if self.rng.random() < 0.5:
            fixed["sex"] = other.sex
        if other.family_name and self.rng.random() < LOOKALIKE_SAME_FAMILY:
            fixed["family_name"] = other.family_name
        return self.person(**fixed)


def identity_population(children, seed=0, now=None):
    """`children` Persons: about TWIN_SHARE of them twins, LOOKALIKE_SHARE look-alikes of another child."""
    population = _Population(seed, bangkok_now(now))
    rng = population.rng
    while len(population.people) < children:
        roll = rng.random()
        if roll < LOOKALIKE_SHARE and population.people:
            population.lookalike(rng.choice(population.people))
            continue
        first = population.person()
        if roll > 1 - TWIN_SHARE / 2 and len(population.people) < children:
            population.twin(first)
    return population.people


# --- registrations -----------------------------------------------------------------------------------

def _format_phone(phone, rng, errors):
    if rng.random() < ERRORS["phone_mistyped"]:
        i = rng.randrange(2, len(phone))
        phone = phone[:i] + rng.choice("0123456789".replace(phone[i], "")) + phone[i + 1:]
        errors.append("phone_mistyped")
    style = rng.choices(_PHONE_STYLES, cum_weights=_PHONE_CUMULATIVE)[0]
    if style != "plain":
        errors.append(f"phone_{style}")
    if style == "dashes":
        return f"{phone[:3]}-{phone[3:6]}-{phone[6:]}"
    if style == "spaces":
        return f"{phone[:3]} {phone[3:6]} {phone[6:]}"
    if style == "plus66":
        return f"+66{phone[1:]}"
    if style == "66":
        return f"66 {phone[1:3]} {phone[3:6]} {phone[6:]}"
    return phone


def _birth_date_as_keyed(birth_date, rng, errors):
    roll = rng.random()
    cut = 0.0
    for kind in ("swapped", "day_off", "days_off", "year_off", "month_off"):
        cut += ERRORS[f"birth_date_{kind}"]
        if roll < cut:
            break
    else:
        return birth_date
    keyed = birth_date
    if kind == "swapped" and birth_date.day <= 12 and birth_date.day != birth_date.month:
        keyed = birth_date.replace(month=birth_date.day, day=birth_date.month)
    elif kind == "day_off":
        keyed = birth_date + rng.choice((-1, 1)) * DAY
    elif kind == "days_off":
        keyed = birth_date + rng.choice((-3, -2, 2, 3)) * DAY
    elif kind == "year_off":
        try:
            keyed = birth_date.replace(year=birth_date.year + rng.choice((-1, 1)))
        except ValueError:  # 29 February
            keyed = birth_date
    elif kind == "month_off":
        keyed = add_months(birth_date, rng.choice((-1, 1)))
    if keyed != birth_date:
        errors.append(f"birth_date_{kind}")
    return keyed


def _name_as_keyed(name, which, rng, errors):
    if rng.random() < ERRORS[f"{which}_typo"]:
        name = misspell(name, rng)
        errors.append(f"{which}_typo")
    if rng.random() < ERRORS[f"{which}_variant"]:
        name = respell(name, rng)
        errors.append(f"{which}_variant")
    return name


def _guardian_as_keyed(person, rng, errors):
    guardian = person.guardians[0]
    if len(person.guardians) > 1 and rng.random() < ERRORS["other_guardian"]:
        guardian = person.guardians[1]
        errors.append("other_guardian")
    phone = guardian.phone
    if guardian.previous_phone and rng.random() < ERRORS["phone_old"]:
        phone = guardian.previous_phone
        errors.append("phone_old")
    record = {"relation": guardian.relation, "given_name": guardian.given_name,
              "phone": _format_phone(phone, rng, errors)}
    if guardian.family_name:
        record["family_name"] = guardian.family_name
    if guardian.national_id:
        if rng.random() >= ERRORS["guardian_national_id_blank"]:
            record["national_id"] = guardian.national_id
        else:
            errors.append("guardian_national_id_blank")
    return record


def register(person, department, facility_code, district_code, rng):
    """What one department keys about `person`: a child subject (without local_id) and the errors in it."""
    errors = []
    given = _name_as_keyed(person.given_name, "given_name", rng, errors)
    if rng.random() < TITLE_SHARE[department]:
        title = rng.choice(names.CHILD_TITLES[person.sex])
        given = names.with_title(given, title, rng)
        errors.append("title")
    sex = person.sex
    if rng.random() < ERRORS["sex_wrong"]:
        sex = "female" if sex == "male" else "male"
        errors.append("sex_wrong")
    subject = {"given_name": given, "birth_date": _birth_date_as_keyed(person.birth_date, rng, errors).isoformat(),
               "sex": sex, "district_code": district_code}
    if person.family_name:
        if rng.random() < ERRORS["family_name_blank"]:
            errors.append("family_name_blank")
        else:
            subject["family_name"] = _name_as_keyed(person.family_name, "family_name", rng, errors)
    if person.national_id:
        if rng.random() < NATIONAL_ID_BLANK[department]:
            errors.append("national_id_blank")
        elif rng.random() < ERRORS["national_id_mistyped"]:
            i = rng.randrange(len(person.national_id))
            digit = rng.choice("0123456789".replace(person.national_id[i], ""))
            subject["national_id"] = person.national_id[:i] + digit + person.national_id[i + 1:]
            errors.append("national_id_mistyped")
        else:
            subject["national_id"] = person.national_id
    if rng.random() < HAS_GUARDIAN[department]:
        subject["guardian"] = _guardian_as_keyed(person, rng, errors)
    return subject, tuple(errors)


def _visits(person, rng, today, places):
    """[(department, facility, district at the time, registered_on)] for the departments `person` meets."""
    district = person.district_code
    health_district = district if rng.random() < 0.85 else rng.choice(places.districts).code
    late = person.national_id is None and rng.random() < 0.5
    first = person.birth_date + (rng.randrange(60, 3 * 365) if late else rng.randrange(7, 40)) * DAY
    visits = [("health", rng.choice(places.health_centres[health_district]), district, min(first, today))]
    age_days = (today - person.birth_date).days

    def later(days_from, days_to, department, pick_facility):
        on = person.birth_date + rng.randrange(days_from, days_to) * DAY
        if on <= today:
            where = district
            if rng.random() < ERRORS["moved_district"]:
                where = rng.choice([d.code for d in places.districts if d.code != district])
            visits.append((department, pick_facility(where), where, on))

    if rng.random() < MOVES_SHARE:
        later(90, max(91, age_days), "health", lambda d: rng.choice(places.health_centres[d]))
    if rng.random() < CDC_SHARE:
        later(730, 1100, "social", lambda d: rng.choice(places.cdcs[d]))
    if rng.random() < SCHOOL_SHARE:
        later(1100, 1900, "education", lambda d: rng.choice(places.schools[d]))
    if rng.random() < HOSPITAL_SHARE:
        later(30, max(31, age_days), "medical",
              lambda d: places.catchment.get(d) or places.hospitals["1008"])
    return visits


def generate_identity_dataset(children, seed=0, now=None):
    """`children` children and every department's registration of them, with ground truth."""
    now = bangkok_now(now)
    people = identity_population(children, seed, now)
    places = bangkok()
    rng = random.Random(f"{seed}/identity/registrations")
    drafts = []
    for person in people:
        for n, (department, facility, district, on) in enumerate(_visits(person, rng, now.date(), places)):
            subject, errors = register(person, department, facility.code, district, rng)
            prefix, digits, multiplier = LOCAL_ID_FORMATS[department]
            number = ((person.index * 8 + n) * multiplier + 10 ** (digits - 1)) % 10**digits
            subject = {"local_id": f"{prefix}{number:0{digits}d}", **subject}
            drafts.append((on, person.index, n, person.key, department, facility.code, subject, errors))
    drafts.sort(key=lambda draft: draft[:3])
    records = [Registration(f"R{i:08d}", key, department, facility, subject["local_id"], on, subject, errors)
               for i, (on, _, _, key, department, facility, subject, errors) in enumerate(drafts, 1)]
    return IdentityDataset(now, people, records)
