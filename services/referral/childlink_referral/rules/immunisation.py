"""Immunisation overdue against the Thai EPI schedule -> a reminder task for the child's centre or school
(if enrolled; else the health centre).

Only for a child a health centre follows (at least one current health event): without one the service
knows nothing of the child's vaccinations. One reminder per overdue episode (the stretch of time in which
some dose is overdue, named by when it began) and destination: catching up on some doses keeps it, catching
up on all ends it, a dose falling overdue later starts a new one. Its note lists every overdue dose.
"""

import datetime as dt
from functools import lru_cache
from typing import NamedTuple

from childlink_contracts.epi_schedule import (
    ALIASES,
    GRACE_DAYS,
    REMINDER_UNTIL_MONTHS,
    ROTAVIRUS,
    ROTAVIRUS_FIRST_DOSE_MAX_DAYS,
    THAI_EPI,
)
from childlink_contracts.vaccine_codes import rotavirus_product

from ..times import BANGKOK, add_months, start_of_bangkok_day
from .proposal import Proposal, Review, source_of


class ScheduledDose(NamedTuple):
    slot: str
    vaccine: str
    dose: int
    due_months: int
    due_on: dt.date
    overdue_from: dt.date
    given: object  # the Fact of the record, or None
    remind_until: dt.date  # no reminder from this day: the dose is past its last age
    overdue_start: dt.datetime  # the start of overdue_from's Bangkok day (UTC)
    remind_stop: dt.datetime  # the start of remind_until's Bangkok day (UTC)
    due_iso: str  # due_on.isoformat(), for the reminder's note

    def remindable(self, now):
        """Not given, overdue by `now`, and still to be given at the child's age."""
        return self.given is None and self.overdue_start <= now < self.remind_stop

    def too_late(self, now):
        return self.given is None and now >= self.remind_stop


def rotavirus_product_of(state):
    """'rotarix' / 'rotateq' from the 43-file code of any rotavirus dose recorded, else None."""
    for (vaccine, _), fact in sorted(state.doses_given.items()):
        if vaccine == "ROTA" and rotavirus_product(fact.payload.get("vaccine_code")):
            return rotavirus_product(fact.payload["vaccine_code"])
    return None


def _remind_until(born, vaccine, dose, product):
    if vaccine != "ROTA":
        return add_months(born, REMINDER_UNTIL_MONTHS)
    if dose == 1:
        return born + dt.timedelta(days=ROTAVIRUS_FIRST_DOSE_MAX_DAYS)
    return born + dt.timedelta(days=ROTAVIRUS[product]["last_dose_max_days"])


@lru_cache(maxsize=4096)
def _plan(born, product, rota_started, hbv2):
    """The schedule's doses for a child born on `born` (the same for every child born that day with the
    same rotavirus product, series started or not, and HBV2 or not), computed once, not per event:
    [(the names that record the dose, the ScheduledDose as not given)]. A ScheduledDose is immutable,
    so every child without the record shares the one built here."""
    doses = []
    for slot in THAI_EPI:
        if slot.get("only_if") == "mother_hbsag_positive" and not hbv2:
            continue
        due_on = add_months(born, slot["due_months"])
        overdue_from = add_months(born, slot["window_end_months"]) + dt.timedelta(days=GRACE_DAYS)
        for vaccine, dose in slot["doses"]:
            if vaccine == "ROTA" and dose > ROTAVIRUS[product]["doses"]:
                continue
            remind_until = _remind_until(born, vaccine, dose, product)
            if vaccine == "ROTA" and not rota_started:
                # a series not started by dose 1's maximum age is not started at all
                remind_until = min(remind_until, born + dt.timedelta(days=ROTAVIRUS_FIRST_DOSE_MAX_DAYS))
            doses.append((((vaccine, dose), *ALIASES.get((vaccine, dose), ())),
                          ScheduledDose(slot["slot"], vaccine, dose, slot["due_months"], due_on, overdue_from,
                                        None, remind_until, start_of_bangkok_day(overdue_from),
                                        start_of_bangkok_day(remind_until), due_on.isoformat())))
    return tuple(doses)


def schedule_for(state):
    """Every dose of the schedule that applies to this child, with its dates and the record that gave it
    (if any). Rotavirus follows the product given; HBV2 only an infant of an HBsAg-positive mother."""
    born = state.birth_date
    if born is None:
        return []
    given = state.doses_given
    hbv2 = any(f.payload.get("mother_hbsag_positive") for f in state.of("health", "child.registered"))
    plan = _plan(born, rotavirus_product_of(state), given.get(("ROTA", 1)) is not None, hbv2)
    if not given:
        return [dose for _, dose in plan]
    doses = []
    for names, dose in plan:
        record = None
        for name in names:
            record = record or given.get(name)
        doses.append(dose if record is None else dose._replace(given=record))
    return doses


def episode_start(doses, now):
    """When the current stretch of time with some dose overdue began (None if nothing is overdue now).
    Each dose is overdue from its overdue_from until it is given."""
    spans = []
    for dose in doses:
        start, stop = dose.overdue_start, dose.remind_stop
        end = dose.given.occurred_at if dose.given is not None else None
        if end is None and stop <= now:
            continue  # past its last age: no longer overdue, never to be given
        end = min(end, stop) if end is not None else (stop if stop <= now else None)
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
    # late: the remindable doses (one pass, not a method call per dose); look again when a dose falls
    # overdue, and when an overdue one passes its last age
    late, upcoming = [], []
    for d in doses:
        if d.given is None:
            if d.overdue_start > now:
                upcoming.append(d.overdue_start)
            elif now < d.remind_stop:
                late.append(d)
    upcoming += [d.remind_stop for d in late]
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
    listed = ", ".join(f"{d.vaccine} {d.dose} (due {d.due_iso})" for d in late)
    details = {"kind": "immunisation_overdue", "since": began,
               "doses": [{"vaccine": d.vaccine, "dose": d.dose, "due_on": d.due_iso} for d in late]}
    results.append(Proposal("immunisation_overdue", "immunisation_overdue", f"{began}@{to['facility']}",
                            (health.event_id,), departments, source_of(health), to,
                            f"overdue: {listed}", details=details))
    return results
