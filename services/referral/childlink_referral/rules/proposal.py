"""What a rule answers: the referrals the child's state calls for, and when to look again."""

import datetime as dt
from dataclasses import dataclass

from ..times import bangkok_date


@dataclass(frozen=True)
class Proposal:
    """A referral the child's current state calls for.

    `source_key` names what it is about (an event's correction chain, an episode, a schedule slot);
    with the rule it is the idempotency key: while a referral with the same key stands, no second one
    is raised.
    """

    rule: str
    reason: str
    source_key: str
    source_event_ids: tuple
    source_departments: tuple
    from_: dict
    to: dict
    note: str  # English, for logs and the API; pages render `details` in the viewer's language
    due_by: dt.datetime | None = None  # None: raised + the reason's deadline
    details: dict | None = None  # the note as structured fields: {"kind": ..., dates as ISO Bangkok days}
    evidence: tuple = ()  # later event ids that bear on it (attached to the standing referral, shown)

    @property
    def key(self):
        return f"{self.rule}|{self.source_key}"


@dataclass(frozen=True)
class Resolution:
    """Why the referral with `key` no longer applies (structured: `code` and the event ids that show it):
    the reason given when it is withdrawn, or the evidence attached to it when someone has acted on it."""

    key: str
    code: str
    event_ids: tuple


@dataclass(frozen=True)
class Review:
    """Evaluate the child again at `at`: a time-based condition may fall due then."""

    at: dt.datetime


def day(fact_or_moment):
    """The Bangkok calendar day (ISO) of a fact or an instant: clinical dates are Bangkok days."""
    moment = getattr(fact_or_moment, "occurred_at", fact_or_moment)
    return bangkok_date(moment).isoformat()


def source_of(fact):
    return {"department": fact.department, "facility": fact.facility, "district": fact.district}


def streak(items, holds):
    """The latest run of consecutive items (oldest first) for which `holds` is true, ending with the latest."""
    run = []
    for item in reversed(items):
        if not holds(item):
            break
        run.append(item)
    return list(reversed(run))
