"""Who the simulated children are: identity, family, where they live, which services they use, how they develop.

Everything a child's events are built from is decided here, once, from the child's own random stream;
the histories only play it out over time. Rates are plausible for Bangkok, not measured.
"""

import datetime as dt
from dataclasses import dataclass, field

from childlink_contracts import with_check_digit
from childlink_contracts.health import DSPM_AGES_MONTHS

from . import names
from .names import words
from .places import Facility, Places
from .timing import DAY, add_months, age_years

NO_ID_SHARE = 0.12  # children with no national ID in any record
NO_ID_REASONS = (("migrant", 0.6), ("stateless", 0.15), ("late_registration", 0.25))
MIN_AGE_DAYS = 14  # the youngest children, already registered at a health centre
DELAY_SHARE = 0.07  # children with a lasting developmental delay
CDC_SHARE = 0.45
SCHOOL_SHARE_AFTER_CDC, SCHOOL_SHARE_OTHERWISE = 0.55, 0.4
STOPS_ATTENDING_SHARE = 0.07

# Districts weighted by roughly how many young children live there: the old centre has few.
INNER = set(words("1001 1002 1004 1007 1008 1012 1013 1014 1028 1037"))
OUTER = set(words("1003 1005 1010 1011 1021 1032 1034 1040 1042 1046"))

# Lasting delay patterns: affected DSPM domains, the screenings where it first shows, weight.
DELAY_PATTERNS = (
    ("expressive_language", ("expressive_language",), (18, 30), 35),
    ("language", ("receptive_language", "expressive_language"), (18, 30), 20),
    ("motor", ("gross_motor", "fine_motor"), (9, 18), 15),
    ("autism", ("receptive_language", "expressive_language", "personal_social"), (18, 30), 12),
    ("global", ("gross_motor", "fine_motor", "expressive_language", "personal_social"), (9, 18), 18),
)
LOCAL_ID_FORMATS = {  # department: (prefix, digits, multiplier): distinct numbers per child, unrelated-looking
    "health": ("HN", 8, 7919), "social": ("S", 7, 104729), "education": ("E", 7, 15485863),
    "medical": ("MRN", 8, 32452843),
}


@dataclass
class Guardian:
    relation: str
    sex: str
    given_name: str
    family_name: str | None
    phone: str
    national_id: str | None
    previous_phone: str | None  # an older number some departments still hold


@dataclass
class Development:
    pattern: str | None = None  # a DELAY_PATTERNS name, or None for typical development
    domains: tuple = ()
    onset_band: int | None = None


@dataclass
class Enrolment:
    facility: Facility
    start: dt.date
    end: dt.date | None  # None: still enrolled
    class_level: str | None = None  # kindergarten only


@dataclass
class Child:
    key: str
    index: int
    sex: str
    given_name: str
    family_name: str | None
    birth_date: dt.date
    district_code: str
    national_id: str | None
    no_id_reason: str | None
    guardian: Guardian
    health_centre: Facility
    hospital: Facility
    registered_on: dt.date  # at the health centre
    birth_weight_g: int
    gestational_weeks: int
    growth_z: tuple  # (weight, height) standard scores the child keeps
    miss_rate: float  # chance of missing a due visit
    stops_visits_at_months: int | None
    development: Development
    cdc: Enrolment | None = None
    school: Enrolment | None = None
    stops_attending: bool = False
    local_ids: dict = field(default_factory=dict)  # filled by each department the child meets
    outcomes: dict = field(default_factory=dict)  # what happened to the child: referral, diagnosis, ...

    def local_id(self, department):
        if department not in self.local_ids:
            prefix, digits, multiplier = LOCAL_ID_FORMATS[department]
            number = (self.index * multiplier + 10 ** (digits - 1)) % 10**digits
            self.local_ids[department] = f"{prefix}{number:0{digits}d}"
        return self.local_ids[department]


def _pick(rng, weighted):
    return rng.choices([value for value, _ in weighted], [weight for _, weight in weighted])[0]


def _national_id(rng, first_digit, office, taken):
    while True:
        candidate = with_check_digit(f"{first_digit}{office}{rng.randrange(10 ** 7):07d}")
        if candidate not in taken:
            taken.add(candidate)
            return candidate


def _office(rng, district_code):
    """The registration office in digits 2-5: the Bangkok district, or a province for those born upcountry."""
    if rng.random() < 0.8:
        return district_code
    return f"{rng.randrange(11, 97)}{rng.randrange(1, 20):02d}"


def _phone(rng):
    return f"0{rng.choice('689')}{rng.randrange(10 ** 8):08d}"


def _guardian(rng, child_family, migrant, district_code, taken_ids):
    relation = _pick(rng, (("mother", 70), ("father", 15), ("grandparent", 12), ("other", 3)))
    sex = {"mother": "female", "father": "male"}.get(relation) or ("female" if rng.random() < 0.75 else "male")
    if child_family and rng.random() < 0.8:
        family = child_family
    elif migrant:
        family = rng.choice(names.MIGRANT_FAMILY) if rng.random() < 0.5 else None
    else:
        family = rng.choice(names.family_names())
    national_id = None
    if not migrant and rng.random() < 0.6:
        born_before_1984 = relation == "grandparent" or rng.random() < 0.1
        national_id = _national_id(rng, 3 if born_before_1984 else 1, _office(rng, district_code), taken_ids)
    elif migrant and rng.random() < 0.15:  # a migrant worker's 13-digit pink-card number
        national_id = _national_id(rng, 0, f"0{rng.randrange(100, 999)}", taken_ids)
    return Guardian(relation, sex, rng.choice(names.given_names(sex, migrant)), family, _phone(rng),
                    national_id, _phone(rng) if rng.random() < 0.1 else None)


def _district(rng, places):
    weights = [1 if d.code in INNER else 3 if d.code in OUTER else 2 for d in places.districts]
    return rng.choices(places.districts, weights)[0].code


def _development(rng):
    if rng.random() >= DELAY_SHARE:
        return Development()
    pattern, domains, onsets, _ = rng.choices(DELAY_PATTERNS, [p[3] for p in DELAY_PATTERNS])[0]
    return Development(pattern, domains, rng.choice(onsets))


def academic_year_start(year):
    """Thai schools open in mid-May."""
    return dt.date(year, 5, 16)


def primary_school_start(birth_date):
    """The first school day the child is 6 on: kindergarten and the centre end the day before."""
    year = birth_date.year + 6
    return academic_year_start(year if age_years(birth_date, academic_year_start(year)) >= 6 else year + 1)


def _enrolments(rng, child_birth, district_code, places, today):
    """A child development centre from age 2, and/or a kindergarten class from 3-5, or neither."""
    cdc = school = None
    if rng.random() < CDC_SHARE:
        start = add_months(child_birth, 24 + rng.randrange(0, 10)) + rng.randrange(0, 28) * DAY
        if start <= today:
            cdc = Enrolment(rng.choice(places.cdcs[district_code]), start, None)
    if rng.random() < (SCHOOL_SHARE_AFTER_CDC if cdc else SCHOOL_SHARE_OTHERWISE):
        entry_age = _pick(rng, ((3, 40), (4, 50), (5, 10)))
        year = next(y for y in range(child_birth.year, child_birth.year + 8)
                    if age_years(child_birth, academic_year_start(y)) >= entry_age)
        start = academic_year_start(year) + rng.randrange(0, 10) * DAY
        if start <= today:
            home = district_code if rng.random() < 0.9 else rng.choice(places.districts).code
            level = {3: "K1", 4: "K2"}.get(age_years(child_birth, academic_year_start(year)), "K3")
            school = Enrolment(rng.choice(places.schools[home]), start, None, level)
            if cdc and cdc.start < start:
                cdc.end = start - DAY
            elif cdc:
                cdc = None  # enrolled at school first: never went to the centre
    leaves = primary_school_start(child_birth) - DAY
    for enrolment in (cdc, school):
        if enrolment and enrolment.end is None and leaves < today:
            enrolment.end = leaves
    return cdc, school


def make_child(index, rng, now, places: Places, taken_ids):
    today = now.date()
    sex = "male" if rng.random() < 0.51 else "female"
    birth_date = today - rng.randrange(MIN_AGE_DAYS, 7 * 365) * DAY
    while age_years(birth_date, today) > 6:
        birth_date += DAY
    district_code = _district(rng, places)
    no_id_reason = _pick(rng, NO_ID_REASONS) if rng.random() < NO_ID_SHARE else None
    migrant = no_id_reason == "migrant"
    migrant_name = migrant and rng.random() < 0.7
    given = rng.choice(names.given_names(sex, migrant_name))
    family = rng.choice(names.MIGRANT_FAMILY) if migrant_name and rng.random() < 0.4 else (
        None if migrant_name else rng.choice(names.family_names())
    )
    national_id = None
    if no_id_reason is None:
        first_digit = 1 if rng.random() < 0.97 else 2  # 2: a Thai birth registered late
        national_id = _national_id(rng, first_digit, _office(rng, district_code), taken_ids)
    guardian = _guardian(rng, family, migrant, district_code, taken_ids)
    centre_district = district_code if rng.random() < 0.85 else rng.choice(places.districts).code
    health_centre = rng.choice(places.health_centres[centre_district])
    late_start = (no_id_reason is not None and rng.random() < 0.5) or rng.random() < 0.04
    registered_on = birth_date + (rng.randrange(60, 3 * 365) if late_start else rng.randrange(7, 40)) * DAY
    preterm = rng.random() < 0.1
    attendance = _pick(rng, (("regular", 75), ("patchy", 20), ("drops_out", 5)))
    cdc, school = _enrolments(rng, birth_date, district_code, places, today)
    return Child(
        key=f"C{index:06d}", index=index, sex=sex, given_name=given, family_name=family,
        birth_date=birth_date, district_code=district_code, national_id=national_id,
        no_id_reason=no_id_reason, guardian=guardian, health_centre=health_centre,
        hospital=places.catchment[health_centre.district_code], registered_on=min(registered_on, today),
        birth_weight_g=max(600, int(rng.gauss(2300, 350) if preterm else rng.gauss(3150, 420))),
        gestational_weeks=rng.randrange(30, 37) if preterm else rng.randrange(37, 42),
        growth_z=_growth_z(rng), miss_rate={"regular": 0.03, "patchy": 0.2, "drops_out": 0.05}[attendance],
        stops_visits_at_months=rng.choice((12, 18, 24, 36)) if attendance == "drops_out" else None,
        development=_development(rng), cdc=cdc, school=school,
        stops_attending=(cdc or school) is not None and rng.random() < STOPS_ATTENDING_SHARE,
    )


def _growth_z(rng):
    height = rng.gauss(-0.3, 1.0)
    return (0.6 * height + 0.8 * rng.gauss(0, 1.0), height)


assert set(DSPM_AGES_MONTHS) >= {onset for _, _, onsets, _ in DELAY_PATTERNS for onset in onsets}
