"""Immunisation overdue against the Thai EPI schedule -> a reminder task for the child's centre or school
(if enrolled; else the health centre).

Only for a child a health centre follows (at least one current health event): without one the service
knows nothing of the child's vaccinations. One reminder per overdue episode (the stretch of time in which
some dose is overdue, named by when it began) and destination: catching up on some doses keeps it, catching
up on all ends it, a dose falling overdue later starts a new one. Its note lists every overdue dose.
"""

import datetime as dt
from dataclasses import dataclass

from ..times import BANGKOK, add_months, start_of_bangkok_day
from .epi_schedule import ALIASES, GRACE_DAYS, THAI_EPI
from .proposal import Proposal, Review, source_of


@dataclass(frozen=True)
class ScheduledDose:
    slot: str
    vaccine: str
    dose: int
    due_months: int
    due_on: dt.date
    overdue_from: dt.date
    given: object  # the Fact of the record, or None


def schedule_for(state):
    """Every dose of the schedule for this child, with its dates and the record that gave it (if any)."""
    born = state.birth_date
    if born is None:
        return []
    doses = []
    for slot in THAI_EPI:
        due_on = add_months(born, slot["due_months"])
        overdue_from = add_months(born, slot["window_end_months"]) + dt.timedelta(days=GRACE_DAYS)
        for vaccine, dose in slot["doses"]:
            given = state.doses_given.get((vaccine, dose))
            for alias in ALIASES.get((vaccine, dose), ()):
                given = given or state.doses_given.get(alias)
            doses.append(ScheduledDose(slot["slot"], vaccine, dose, slot["due_months"], due_on, overdue_from,
                                       given))
    return doses


def _starts(day):
    return start_of_bangkok_day(day)


def episode_start(doses, now):
    """When the current stretch of time with some dose overdue began (None if nothing is overdue now).
    Each dose is overdue from its overdue_from until it is given."""
    spans = []
    for dose in doses:
        start = _starts(dose.overdue_from)
        end = dose.given.occurred_at if dose.given is not None else None
        if start <= now and (end is None or end > start):
            spans.append((start, end))
    began, until = None, None
    for start, end in sorted(spans, key=lambda span: span[0]):
        if began is None or (until is not None and start > until):
            began, until = start, end
        elif until is not None:
            until = None if end is None else max(until, end)
    return began if began is not None and until is None else None


def overdue(state, now):
    if state.health_centre is None:
        return []
    doses = schedule_for(state)
    late = [d for d in doses if d.given is None and _starts(d.overdue_from) <= now]
    upcoming = [_starts(d.overdue_from) for d in doses if d.given is None and _starts(d.overdue_from) > now]
    results = [Review(min(upcoming))] if upcoming else []
    if not late:
        return results
    began = episode_start(doses, now).astimezone(BANGKOK).date().isoformat()
    health = state.health_centre
    placement = state.placement
    if placement is not None:
        to, departments = placement.as_target("immunisation_reminder"), ("health", placement.department)
    else:
        to, departments = {**source_of(health), "service": "immunisation_reminder"}, ("health",)
    listed = ", ".join(f"{d.vaccine} {d.dose} (due {d.due_on.isoformat()})" for d in late)
    results.append(Proposal("immunisation_overdue", "immunisation_overdue", f"{began}@{to['facility']}",
                            tuple(f.event_id for f in (health,)), departments, source_of(health), to,
                            f"overdue: {listed}"))
    return results
