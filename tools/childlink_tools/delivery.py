"""How department systems deliver what they record: mostly promptly, sometimes not.

From each happening this makes the event(s) a department system sends, and when it sends them:

- late: recorded days after it happened (paper forms keyed in later; birth doses copied from the
  pink book at registration; monthly attendance reports);
- held back: recorded on time but sent days later, after events recorded after it (a system that
  was offline flushes its queue);
- duplicate: the same event, same `event_id`, sent a second time (a retry after a lost answer);
- corrected: first sent with a wrong value, later superseded by an event of the same type with the
  right payload and `supersedes` naming the first;
- retracted: an extra, mistaken event entered by error, later withdrawn by `event.retracted`.

A growth measurement beyond WHO's plausibility limits is refused at ingest unless re-checked: a
real extreme value goes out marked `rechecked` (the centre measured again), and a keying mistake
that ingest would refuse is not made (the sender would have been told at once).

The truth about all of this is kept in a `DeliveryLog` for tests and benchmarks.
"""

import datetime as dt
import uuid
from dataclasses import dataclass, field

from childlink_contracts.growth.plausibility import implausible_growth
from childlink_contracts.health import DSPM_DOMAINS

from .departments import SYSTEMS
from .timing import DAY, MINUTE, stamp

LATE_SHARE = {"health": 0.08, "social": 0.06, "education": 0.05, "medical": 0.15}
HELD_BACK_SHARE = 0.02
DUPLICATE_SHARE = 0.03
CORRECTION_SHARE = 0.012
RETRACTION_SHARE = 0.006
RETRACTABLE = {"child.growth_measured", "child.immunised", "child.screened", "child.attendance_recorded"}
RETRACTION_REASONS = (
    "entered twice", "recorded against the wrong child", "บันทึกซ้ำ", "บันทึกผิดคน", "visit did not take place",
)


@dataclass
class Dispatch:
    send_at: dt.datetime
    department: str
    event: dict


@dataclass
class DeliveryLog:
    late: set = field(default_factory=set)  # event ids recorded a day or more after they happened
    held_back: set = field(default_factory=set)  # event ids sent days after they were recorded
    duplicates: set = field(default_factory=set)  # event ids sent twice
    corrections: dict = field(default_factory=dict)  # correcting event id -> the id it supersedes
    retractions: dict = field(default_factory=dict)  # retraction event id -> the id it withdraws


class Delivery:
    def __init__(self, now):
        self.now = now
        self.log = DeliveryLog()
        self.dispatches = []

    def deliver(self, happenings, rng):
        for happening in happenings:
            self._deliver(happening, rng)

    def _deliver(self, happening, rng):
        recorded_at = self._recorded_at(happening, rng)
        fix_at = recorded_at + rng.randrange(1, 21) * DAY
        wrong = None
        if fix_at <= self.now and rng.random() < CORRECTION_SHARE:
            wrong = wrong_payload(happening.type, happening.payload, rng)
            wrong = None if wrong and refused_at_ingest(happening, wrong) else wrong
        if refused_at_ingest(happening, happening.payload):
            happening.payload["rechecked"] = True
        first = self._event(happening, rng, recorded_at, payload=wrong or happening.payload)
        self._send(first, happening.department, recorded_at, rng)
        if wrong:
            fix = self._event(happening, rng, fix_at, supersedes=first["event_id"])
            self.log.corrections[fix["event_id"]] = first["event_id"]
            self._send(fix, happening.department, fix_at, rng)
        if happening.type in RETRACTABLE and fix_at <= self.now and rng.random() < RETRACTION_SHARE:
            self._mistake_and_retraction(happening, rng, recorded_at, fix_at)

    def _recorded_at(self, happening, rng):
        if happening.recorded_at is not None:
            recorded_at = happening.recorded_at
        elif rng.random() < LATE_SHARE[happening.department]:
            recorded_at = happening.occurred_at + rng.randrange(1, 45) * DAY + rng.randrange(0, 480) * MINUTE
        else:
            recorded_at = happening.occurred_at + rng.randrange(2, 180) * MINUTE
        return max(happening.occurred_at, min(recorded_at, self.now))

    def _mistake_and_retraction(self, happening, rng, recorded_at, retract_at):
        mistaken_at = recorded_at + rng.randrange(1, 30) * MINUTE
        mistake = wrong_payload(happening.type, happening.payload, rng)
        mistake = happening.payload if not mistake or refused_at_ingest(happening, mistake) else mistake
        mistaken = self._event(happening, rng, min(mistaken_at, retract_at), payload=mistake)
        self._send(mistaken, happening.department, min(mistaken_at, retract_at), rng)
        retraction = self._event(
            happening, rng, retract_at, payload={"reason": rng.choice(RETRACTION_REASONS)},
            supersedes=mistaken["event_id"], type_="event.retracted", occurred_at=retract_at,
        )
        self.log.retractions[retraction["event_id"]] = mistaken["event_id"]
        self._send(retraction, happening.department, retract_at, rng)

    def _event(self, happening, rng, recorded_at, payload=None, supersedes=None, type_=None, occurred_at=None):
        occurred_at = occurred_at or happening.occurred_at
        event = {
            "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "type": type_ or happening.type,
            "version": 1 if type_ else happening.version,  # a retraction is event.retracted v1
            "occurred_at": stamp(occurred_at),
            "recorded_at": stamp(recorded_at),
            "source": {"department": happening.department, "system": SYSTEMS[happening.department],
                       "facility": happening.facility.as_source()},
            "subject": _copy(happening.subject),  # no two events share a dict: callers may edit one
            "payload": _copy(payload if payload is not None else happening.payload),
        }
        if supersedes:
            event["supersedes"] = supersedes
        if recorded_at - occurred_at >= DAY:
            self.log.late.add(event["event_id"])
        return event

    def _send(self, event, department, recorded_at, rng):
        send_at = recorded_at + rng.randrange(0, 300) * dt.timedelta(seconds=1)
        if rng.random() < HELD_BACK_SHARE:
            send_at += rng.randrange(1, 10) * DAY
            self.log.held_back.add(event["event_id"])
        self.dispatches.append(Dispatch(send_at, department, event))
        if rng.random() < DUPLICATE_SHARE:
            resend_at = send_at + rng.randrange(1, 3 * 24 * 60) * MINUTE
            self.dispatches.append(Dispatch(resend_at, department, _copy(event)))
            self.log.duplicates.add(event["event_id"])


def refused_at_ingest(happening, payload):
    """Whether ingest would refuse this growth payload as beyond WHO's plausibility limits."""
    child = happening.subject.get("child") or {}
    if not child.get("birth_date"):
        return False
    envelope = {"occurred_at": happening.occurred_at,
                "subject": {"child": {**child, "birth_date": dt.date.fromisoformat(child["birth_date"])}}}
    return bool(implausible_growth(happening.department, happening.type, envelope, payload))


def wrong_payload(type_, payload, rng):
    """A plausible keying mistake in `payload` that still passes the contract, or None for this type."""
    wrong = _copy(payload)
    if type_ == "child.growth_measured":
        weight = payload["weight_kg"]
        if rng.random() < 0.5:
            wrong["weight_kg"] = round(weight * 10, 1) if weight * 10 <= 60 else round(weight / 10, 2)
        else:
            wrong["height_cm"] = round(min(149.0, payload["height_cm"] + rng.choice((-10, 10))), 1)
    elif type_ == "child.immunised":
        wrong["dose"] = payload["dose"] + 1 if payload["dose"] < 5 else payload["dose"] - 1
    elif type_ == "child.screened":
        flagged = [domain for domain, result in payload["domains"].items() if result != "normal"]
        if flagged:
            wrong["domains"][rng.choice(flagged)] = "normal"
        else:
            wrong["domains"][rng.choice(DSPM_DOMAINS)] = "delayed"
    elif type_ == "child.attendance_recorded":
        wrong["days_present"] = payload["days_expected"] - payload["days_present"]
        if wrong["days_present"] == payload["days_present"]:
            return None
    elif type_ == "household.risk_assessed":
        wrong["risk_level"] = {"low": "high", "medium": "low", "high": "low"}[payload["risk_level"]]
    elif type_ == "child.assessed":
        wrong["result"] = "normal" if payload["result"] == "delayed" else "delayed"
        wrong["domains_delayed"] = [] if wrong["result"] == "normal" else ["expressive_language"]
    else:
        return None
    return wrong


def _copy(value):
    """A copy of JSON-shaped data (dicts, lists, scalars); several times faster than copy.deepcopy."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value
