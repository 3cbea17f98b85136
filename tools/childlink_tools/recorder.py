"""What departments write down about a child, before delivery: the happenings, and each department's record.

Each department keeps its own record of the child, so the same child looks a little different in each:
its own local id, a title before the name in some systems, a national ID some clerks left blank, an
older guardian phone number, now and then a birth date keyed a few days off.
"""

import datetime as dt
from dataclasses import dataclass

from . import names
from .timing import DAY

TITLE_SHARE = {"health": 0.15, "social": 0.3, "education": 0.6, "medical": 0.25}
OMITS_NATIONAL_ID = {"health": 0.0, "social": 0.15, "education": 0.05, "medical": 0.1}
HAS_GUARDIAN = {"health": 0.9, "social": 0.95, "education": 0.95, "medical": 0.7}
BIRTH_DATE_SLIP = {"social": 0.02, "education": 0.02}  # only where children are 2 or older


@dataclass
class Happening:
    department: str
    type: str
    facility: object  # places.Facility
    subject: dict
    occurred_at: dt.datetime
    payload: dict
    recorded_at: dt.datetime | None = None  # when known in advance (e.g. birth doses copied in later)
    version: int = 1  # the contract version the sending system speaks for this type


class Recorder:
    """Collects a child's happenings, dropping any that lie after `now`."""

    def __init__(self, child, rng, now, places):
        self.child, self.rng, self.now, self.places = child, rng, now, places
        self.happenings = []
        self._subjects = {}

    def add(self, department, type_, facility, occurred_at, payload, recorded_at=None):
        if occurred_at > self.now:
            return None
        happening = Happening(department, type_, facility, self.subject(department), occurred_at, payload,
                              recorded_at)
        self.happenings.append(happening)
        return happening

    def subject(self, department):
        if department not in self._subjects:
            self._subjects[department] = {"child": self._child_record(department)}
        return self._subjects[department]

    def _child_record(self, department):
        child, rng = self.child, self.rng
        given = child.given_name
        if rng.random() < TITLE_SHARE[department]:
            given = names.with_title(given, rng.choice(names.CHILD_TITLES[child.sex]), rng)
        birth_date = child.birth_date
        if rng.random() < BIRTH_DATE_SLIP.get(department, 0):
            birth_date += rng.randint(1, 3) * DAY
        record = {"local_id": child.local_id(department), "given_name": given,
                  "birth_date": birth_date.isoformat(), "sex": child.sex, "district_code": child.district_code}
        if child.family_name:
            record["family_name"] = child.family_name
        if child.national_id and rng.random() >= OMITS_NATIONAL_ID[department]:
            record["national_id"] = child.national_id
        if rng.random() < HAS_GUARDIAN[department]:
            record["guardian"] = self._guardian_record()
        return record

    def _guardian_record(self):
        guardian, rng = self.child.guardian, self.rng
        record = {"relation": guardian.relation, "given_name": guardian.given_name,
                  "phone": guardian.previous_phone if guardian.previous_phone and rng.random() < 0.5
                  else guardian.phone}
        if guardian.family_name:
            record["family_name"] = guardian.family_name
        if guardian.national_id and rng.random() < 0.8:
            record["national_id"] = guardian.national_id
        return record
