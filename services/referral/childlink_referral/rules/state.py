"""The child's state as the rules see it, built from the child's current timeline.

Only current entries count: an entry superseded by a correction or withdrawn by a retraction is left out,
and so are retractions themselves and the referral service's own referral entries. Each fact keeps the
id of the first event of its correction chain (`root_id`), so a referral raised from an event survives a
correction that still meets its rule, and is withdrawn when the correction no longer does.
"""

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property

from .. import growth
from ..timeline import with_status
from ..times import bangkok_date, parse_instant


@dataclass(frozen=True)
class Fact:
    event_id: str
    root_id: str
    department: str
    type: str
    occurred_at: dt.datetime
    facility: str
    district: str
    payload: dict

    @property
    def kind(self):
        return f"{self.department}:{self.type}"


@dataclass(frozen=True)
class Measurement:
    fact: Fact
    age_days: int | None
    z: dict
    implausible: dict

    def plausible_z(self, keys=growth.RULE_KEYS):
        """The z-scores the rules may act on: a value WHO flags implausible counts once the sender
        has re-checked the measurement (payload `rechecked`)."""
        rechecked = bool(self.fact.payload.get("rechecked"))
        return {k: self.z[k] for k in keys
                if self.z.get(k) is not None and (rechecked or not self.implausible.get(k))}

    @cached_property  # asked several times per measurement by each growth rule
    def lowest(self):
        """(z key, z) of the lowest plausible z-score the growth rules look at, or None."""
        found = self.plausible_z()
        if not found:
            return None
        key = min(found, key=found.get)
        return key, found[key]


@dataclass(frozen=True)
class Placement:
    """Where the child goes to a centre or school (the latest enrolment)."""

    department: str
    facility: str
    district: str
    fact: Fact

    def as_target(self, service):
        return {"department": self.department, "facility": self.facility, "district": self.district,
                "service": service}


def _roots(entries):
    supersedes = {e["event_id"]: e.get("supersedes") for e in entries
                  if e["type"] != "event.retracted" and e.get("supersedes")}

    def root(event_id):
        seen = set()
        while event_id in supersedes and event_id not in seen:
            seen.add(event_id)
            event_id = supersedes[event_id]
        return event_id

    return root


def _birth_date(profile):
    try:
        return dt.date.fromisoformat(profile.get("birth_date") or "")
    except ValueError:
        return None


@dataclass
class ChildState:
    child_id: str
    profile: dict
    facts: list  # current facts, oldest first
    entries: list = field(default_factory=list)  # every entry with its status, for explanations

    @property
    def birth_date(self):
        return _birth_date(self.profile)

    @property
    def sex(self):
        return self.profile.get("sex")

    @property
    def district(self):
        """Where the child lives: the profile's district, else the district of the latest fact."""
        if self.profile.get("district_code"):
            return self.profile["district_code"]
        return self.facts[-1].district if self.facts else None

    def of(self, department, type_):
        return [f for f in self.facts if f.department == department and f.type == type_]

    def of_type(self, type_):
        return [f for f in self.facts if f.type == type_]

    @cached_property
    def screenings(self):
        return self.of("health", "child.screened")

    @cached_property
    def measurements(self):
        found = []
        for fact in self.of("health", "child.growth_measured"):
            # age on the Bangkok day of the visit: a visit at 00:30 Bangkok time is that day, not the UTC day
            age = (bangkok_date(fact.occurred_at) - self.birth_date).days if self.birth_date else None
            z, implausible = growth.zscores(self.sex, age, fact.payload.get("weight_kg"),
                                            fact.payload.get("height_cm"), fact.payload.get("measured_lying"),
                                            fact.payload.get("head_circumference_cm"))
            found.append(Measurement(fact, age, z, implausible))
        return found

    @cached_property
    def doses_given(self):
        """{(vaccine, dose): the fact of the earliest record of it}."""
        given = {}
        for fact in self.of("health", "child.immunised"):
            given.setdefault((fact.payload["vaccine"], fact.payload["dose"]), fact)
        return given

    @cached_property
    def placement(self):
        latest = None
        for fact in self.facts:
            if fact.type != "child.enrolled":
                continue
            if fact.department == "social" and fact.payload.get("centre_id"):
                latest = Placement("social", fact.payload["centre_id"], fact.district, fact)
            elif fact.department == "education" and fact.payload.get("school_id"):
                latest = Placement("education", fact.payload["school_id"], fact.district, fact)
        return latest

    @cached_property
    def health_centre(self):
        """The facility of the child's latest health-centre event, or None."""
        health = [f for f in self.facts if f.department == "health"]
        return health[-1] if health else None

    @cached_property
    def consent_refused(self):
        """{department: the fact recording its refusal} where the latest decision is `refused`."""
        latest = {}
        for fact in self.of_type("consent.recorded"):
            if fact.payload.get("scope") == "share_outside_department":
                latest[fact.department] = fact
        return {d: f for d, f in latest.items() if f.payload.get("decision") == "refused"}

    def entry(self, event_id):
        return next((e for e in self.entries if e["event_id"] == event_id), None)


def build_state(child_id, profile, entries):
    """The rules' view of a child from their profile and every timeline entry (any status)."""
    marked = with_status(entries)
    root = _roots(entries)
    facts = [
        Fact(e["event_id"], root(e["event_id"]), e["department"], e["type"], parse_instant(e["occurred_at"]),
             e["facility_code"], e["district_code"], e.get("payload") or {})
        for e in marked
        if e["status"] == "current" and e["type"] != "event.retracted" and e["department"] != "referral"
    ]
    return ChildState(child_id, profile or {}, facts, marked)
