"""DSPM screening rules, on the child's latest current screening.

- a domain `delayed` -> referral to the hospital's developmental clinic;
- `suspected_delay` (none delayed) -> the screening health centre re-screens within 30 days (a task,
  due 30 days after the screening; expired by the timer if the re-screen does not come);
- the re-screen still not normal, or no re-screen by then -> referral to the hospital.
A screening is the re-screen of the one before if it says so (`rescreen`) or follows a suspected-delay
screening within 90 days.
"""

import datetime as dt

from ..facilities import hospital_for
from .proposal import Proposal, Review, source_of

RESCREEN_DUE = dt.timedelta(days=30)
# A screening this soon after a suspected-delay screening is its re-screen, flagged or not.
RESCREEN_WINDOW = dt.timedelta(days=90)


def _domains(fact, result):
    return sorted(d for d, r in fact.payload.get("domains", {}).items() if r == result)


def _describe(fact):
    return f"{fact.payload.get('age_band_months')}-month DSPM screening of {fact.occurred_at.date().isoformat()}"


def _latest_two(state):
    screenings = state.screenings
    if not screenings:
        return None, None
    return screenings[-1], (screenings[-2] if len(screenings) > 1 else None)


def _suspected_only(fact):
    return bool(_domains(fact, "suspected_delay")) and not _domains(fact, "delayed")


def _is_rescreen(latest, previous):
    if latest.payload.get("rescreen"):
        return True
    return (previous is not None and _suspected_only(previous)
            and latest.occurred_at - previous.occurred_at <= RESCREEN_WINDOW)


def _to_hospital(state, rule, reason, latest, sources, note):
    return Proposal(rule, reason, latest.root_id, tuple(f.event_id for f in sources), ("health",),
                    source_of(latest), hospital_for(state.district or latest.district), note)


def delayed(state, now):
    latest, _ = _latest_two(state)
    if latest is None or not _domains(latest, "delayed"):
        return []
    note = f"delayed: {', '.join(_domains(latest, 'delayed'))} ({_describe(latest)})"
    return [_to_hospital(state, "dspm_delayed", "dspm_delayed", latest, [latest], note)]


def suspected_delay(state, now):
    latest, previous = _latest_two(state)
    if latest is None or not _suspected_only(latest) or _is_rescreen(latest, previous):
        return []
    due = latest.occurred_at + RESCREEN_DUE  # past it, the task stands to be expired by the timer
    note = (f"suspected delay: {', '.join(_domains(latest, 'suspected_delay'))} ({_describe(latest)}); "
            f"stimulate at home and re-screen by {due.date().isoformat()}")
    task = {**source_of(latest), "service": "dspm_rescreen"}
    return [Proposal("dspm_suspected_delay", "dspm_suspected_delay", latest.root_id, (latest.event_id,),
                     ("health",), source_of(latest), task, note, due_by=due), Review(due)]


def rescreen_overdue(state, now):
    latest, previous = _latest_two(state)
    if latest is None or not _suspected_only(latest) or _is_rescreen(latest, previous):
        return []
    due = latest.occurred_at + RESCREEN_DUE
    if now < due:
        return [Review(due)]
    note = f"no re-screen by {due.date().isoformat()} after a suspected delay ({_describe(latest)})"
    return [_to_hospital(state, "dspm_rescreen_overdue", "dspm_rescreen_overdue", latest, [latest], note)]


def rescreen_not_normal(state, now):
    latest, previous = _latest_two(state)
    if latest is None or not _suspected_only(latest) or not _is_rescreen(latest, previous):
        return []
    sources = [f for f in (previous, latest) if f is not None]
    note = (f"re-screen still suspected: {', '.join(_domains(latest, 'suspected_delay'))} "
            f"({_describe(latest)})")
    return [_to_hospital(state, "dspm_rescreen_not_normal", "dspm_rescreen_not_normal", latest, sources, note)]
