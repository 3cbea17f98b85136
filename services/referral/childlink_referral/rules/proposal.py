"""What a rule answers: the referrals the child's state calls for, and when to look again."""

import datetime as dt
from dataclasses import dataclass


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
    note: str
    due_by: dt.datetime | None = None  # None: raised + the reason's deadline

    @property
    def key(self):
        return f"{self.rule}|{self.source_key}"


@dataclass(frozen=True)
class Review:
    """Evaluate the child again at `at`: a time-based condition may fall due then."""

    at: dt.datetime


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
