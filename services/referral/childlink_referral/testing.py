"""Helpers for the referral service's tests (never imported by the service itself): events as departments
send them, a child's state, a workflow on the real SQLite adapters with a clock the test moves."""

import datetime as dt

from childlink_common.testing.events import child, event, instant
from childlink_contracts import validate_event
from childlink_contracts.clinical import dspm_band_for

from childlink_referral.identity import KnownRecords
from childlink_referral.intake import take_in
from childlink_referral.linking import Linking
from childlink_referral.rules import build_state
from childlink_referral.store.sqlite_store import SqliteTimelineStore
from childlink_referral.timeline import entry_from_event
from childlink_referral.times import utc_now
from childlink_referral.workflow import Referrals

DOMAINS = ("gross_motor", "fine_motor", "receptive_language", "expressive_language", "personal_social")
HC = {"user_id": "u-hc", "role": "health_centre_staff", "department": "health", "facility": "HC-1001-01",
      "district": "1001"}
HOSPITAL = {"user_id": "u-hosp", "role": "hospital_staff", "department": "medical", "facility": "HOSP-1008",
            "district": "1008"}
CENTRE = {"user_id": "u-cdc", "role": "centre_staff", "department": "social", "facility": "CDC-1001-01",
          "district": "1001"}
SCHOOL = {"user_id": "u-sch", "role": "school_staff", "department": "education", "facility": "SCH-1001-01",
          "district": "1001"}
SOCIAL_WORKER = {"user_id": "u-sw", "role": "social_worker", "department": "social", "district": "1001"}
DISTRICT_OFFICER = {"user_id": "u-do", "role": "district_officer", "department": "social", "district": "1001"}
DEPARTMENT_STAFF = {"user_id": "u-ds", "role": "department_staff", "department": "medical"}
OPERATOR = {"user_id": "u-op", "role": "operator"}
OTHER_HC = {**HC, "user_id": "u-hc2", "facility": "HC-1050-01", "district": "1050"}


def screening(results=None, rescreen=False, band=None, **kw):
    """A DSPM screening: all normal unless `results` ({domain: result}) says otherwise; the band that fits
    the child's age on the day unless `band` says otherwise."""
    domains = {d: "normal" for d in DOMAINS} | (results or {})
    if band is None:
        born = dt.date.fromisoformat((kw.get("subject") or child())["birth_date"])
        band = dspm_band_for(born, dt.datetime.fromisoformat(instant(kw.get("occurred_days_ago", 10))))
    return event("health", "child.screened", payload={"age_band_months": band, "rescreen": rescreen,
                                                       "domains": domains}, **kw)


def measured(weight_kg, height_cm, **kw):
    return event("health", "child.growth_measured", payload={"weight_kg": weight_kg, "height_cm": height_cm}, **kw)


def immunised(vaccine, dose, vaccine_code=None, **kw):
    payload = {"vaccine": vaccine, "dose": dose} | ({"vaccine_code": vaccine_code} if vaccine_code else {})
    return event("health", "child.immunised", payload=payload, **kw)


def retraction(of, reason="entered against the wrong child", department="health", **kw):
    return event(department, "event.retracted", supersedes=of["event_id"], payload={"reason": reason},
                 occurred_days_ago=kw.pop("occurred_days_ago", 1), **kw)


def correction(of, payload, **kw):
    department = of["source"]["department"]
    return event(department, of["type"], supersedes=of["event_id"], payload=payload,
                 occurred_days_ago=kw.pop("occurred_days_ago", 1), subject=of["subject"]["child"], **kw)


def consent(department, decision, **kw):
    return event(department, "consent.recorded", payload={"decision": decision, "scope": "share_outside_department"},
                 **kw)


def state_of(*bodies, profile=None, child_id="child-1"):
    """The rules' view of a child who has these events (any order), as the referral service would build it."""
    entries = []
    for body in bodies:
        # a screening keeps the subject it was made for: its DSPM band was chosen to fit that birth date
        if profile and "child" in body.get("subject", {}) and body.get("type") != "child.screened":
            # as a department would send them: about a child of the profile's birth date and sex
            known = {k: profile[k] for k in ("birth_date", "sex") if profile.get(k)}
            body = {**body, "subject": {**body["subject"], "child": {**body["subject"]["child"], **known}}}
        checked = validate_event(body, body["source"]["department"])
        entries.append(entry_from_event(checked, child_id, 0.0))
    default = {k: v for k, v in child().items() if k in ("birth_date", "sex", "district_code")}
    return build_state(child_id, profile or default, entries)


class ListOutbox:
    """An outbox that keeps what it is given (idempotent by event_id), and can be made to fail."""

    def __init__(self):
        self.events = {}
        self.fail_next = 0

    def add(self, events, accepted_at):
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("outbox down")
        statuses = []
        for body in events:
            statuses.append("duplicate" if body["event_id"] in self.events else "accepted")
            self.events.setdefault(body["event_id"], body)
        return statuses

    def types(self):
        return [body["type"] for body in self.events.values()]


class Clock:
    def __init__(self):
        self.now = utc_now()

    def __call__(self):
        return self.now

    def advance(self, **delta):
        self.now += dt.timedelta(**delta)


class World:
    """A referral service without nameko: the SQLite store, an outbox, the workflow and a clock."""

    def __init__(self, path, matching=False):
        self.store = SqliteTimelineStore(path / "referral.sqlite3")
        self.outbox = ListOutbox()
        self.clock = Clock()
        self.referrals = Referrals(self.store, self.outbox, clock=self.clock)
        self.linking = Linking(self.store, self.outbox, self.referrals, clock=self.clock)
        self.known = KnownRecords(self.store) if matching else None

    def take(self, body):
        """Take one event in (as the consumer does) and evaluate the rules: its Intake."""
        intake = take_in(self.store, body, body["source"]["department"], known=self.known, linking=self.linking)
        self.referrals.reconcile_child(intake.child_id)
        return intake

    def send(self, *bodies):
        """Take each event in; the last child's id."""
        child_id = None
        for body in bodies:
            child_id = self.take(body).child_id
        return child_id

    def referrals_of(self, child_id, reason=None):
        return [r for r in self.store.referrals_of_child(child_id) if reason in (None, r["reason"])]

    def one(self, child_id, reason):
        [found] = self.referrals_of(child_id, reason)
        return found
