"""DSPM screening rules, as the Department of Health's manual has the cycle (docs/clinical-rules.md, DSPM).

Source: คู่มือเฝ้าระวังและส่งเสริมพัฒนาการเด็กปฐมวัย (Developmental Surveillance and Promotion Manual, DSPM),
กรมอนามัย กระทรวงสาธารณสุข: screening at the key ages 9, 18, 30, 42 and 60 months; a suspected delay is
stimulated at home for 30 days and re-screened with the same form; a child who passes the re-screen within
the 30 days is on track (HDC 1B260 "normal after stimulation"); one who does not pass it is referred for
assessment and stimulation with TEDA4I (1B262 / the hospital). A delayed domain at the first screen is
referred at once.

The screenings of one key age form an episode: its first screen, its re-screen (the next screening of the
same band after a suspected delay, flagged `rescreen` or not) and any later screenings, which are evidence
for the episode's referral, never a new first screen. The rules look at the latest episode:

- first screen delayed -> referral to the hospital's developmental clinic (`dspm_delayed`);
- first screen suspected, no re-screen yet -> the screening health centre re-screens within 30 days
  (`dspm_suspected_delay`, a task due 30 days after the screening);
- still no re-screen 30 days after it, or the health centre records the re-screen visit missed
  (`child.visit_missed`, `dspm_rescreen`) -> a trace-and-re-screen task for the health centre
  (`dspm_trace_rescreen`), due TRACE_GRACE later; still none by then -> escalated to the hospital
  (`dspm_rescreen_overdue`). The 14-day grace is this project's choice, not the manual's: two weekly
  home-visit rounds by the health centre's staff / village health volunteers to find the family, and the
  child is still within the 30-day HDC count of the next month's report.
- re-screen not passed (any domain not normal) -> hospital referral for TEDA4I (`dspm_rescreen_not_normal`);
- all normal at the first screen, or at a re-screen within 30 days -> on track (พัฒนาการสมวัย), recorded in
  the episode's outcome (the child page shows it).
"""

import datetime as dt
from dataclasses import dataclass, field

from ..facilities import hospital_for
from .proposal import Proposal, Resolution, Review, day, source_of

RESCREEN_DUE = dt.timedelta(days=30)
TRACE_GRACE = dt.timedelta(days=14)

ON_TRACK_FIRST = "on_track_first_screen"
ON_TRACK_AFTER_STIMULATION = "on_track_after_stimulation"
PASSED_LATE = "passed_late_rescreen"  # normal, but after the 30 days: not "on track" as HDC counts it
WAITING = "awaiting_rescreen"
RESCREEN_MISSED = "rescreen_missed"
REFERRED_DELAYED = "referred_delayed"
REFERRED_RESCREEN = "referred_rescreen_not_passed"
ON_TRACK = (ON_TRACK_FIRST, ON_TRACK_AFTER_STIMULATION)


def _domains(fact, result):
    return sorted(d for d, r in fact.payload.get("domains", {}).items() if r == result)


def _not_normal(fact):
    return sorted(d for d, r in fact.payload.get("domains", {}).items() if r != "normal")


def _suspected_only(fact):
    return bool(_domains(fact, "suspected_delay")) and not _domains(fact, "delayed")


@dataclass
class Episode:
    band: int
    first: object
    rescreen: object = None
    later: list = field(default_factory=list)
    missed: list = field(default_factory=list)  # child.visit_missed (dspm_rescreen) after the first screen

    @property
    def due(self):
        return self.first.occurred_at + RESCREEN_DUE

    @property
    def screenings(self):
        return [f for f in (self.first, self.rescreen, *self.later) if f is not None]

    def outcome(self, now):
        if self.rescreen is None and self.first.payload.get("rescreen"):
            # a re-screen whose first screen is not known here (on paper, at another centre)
            return REFERRED_RESCREEN if _not_normal(self.first) else ON_TRACK_AFTER_STIMULATION
        if _domains(self.first, "delayed"):
            return REFERRED_DELAYED
        if not _suspected_only(self.first):
            return ON_TRACK_FIRST
        if self.rescreen is None:
            return WAITING if now < self.due and not self.missed else RESCREEN_MISSED
        if _not_normal(self.rescreen):
            return REFERRED_RESCREEN
        return ON_TRACK_AFTER_STIMULATION if self.rescreen.occurred_at <= self.due else PASSED_LATE


def episodes(state):
    """The child's DSPM episodes, oldest first."""
    found = []
    for fact in state.screenings:
        band = fact.payload.get("age_band_months")
        current = found[-1] if found else None
        if current is not None and current.band == band:
            if _suspected_only(current.first) and current.rescreen is None:
                current.rescreen = fact
                continue
            if current.rescreen is not None or _domains(current.first, "delayed") or fact.payload.get("rescreen"):
                current.later.append(fact)
                continue
        found.append(Episode(band, fact))
    for visit in state.of("health", "child.visit_missed"):
        if visit.payload.get("visit_kind") != "dspm_rescreen":
            continue
        before = [e for e in found if e.first.occurred_at < visit.occurred_at]
        if before:
            before[-1].missed.append(visit)
    return found


def _latest(state):
    found = episodes(state)
    return found[-1] if found else None


def _details(kind, episode, fact, **more):
    return {"kind": kind, "band": episode.band, "screened_on": day(fact),
            "domains": _not_normal(fact), **more}


def _describe(episode, fact):
    return f"{episode.band}-month DSPM screening of {day(fact)}"


def _later(episode, after):
    return tuple(f.event_id for f in episode.screenings if f.occurred_at > after.occurred_at)


def _to_hospital(state, rule, episode, fact, sources, note, details):
    return Proposal(rule, rule, episode.first.root_id, tuple(f.event_id for f in sources), ("health",),
                    source_of(fact), hospital_for(state.district or fact.district), note, details=details,
                    evidence=_later(episode, sources[-1]))


def delayed(state, now):
    episode = _latest(state)
    if episode is None or episode.outcome(now) != REFERRED_DELAYED:
        return []
    first = episode.first
    note = f"delayed: {', '.join(_domains(first, 'delayed'))} ({_describe(episode, first)})"
    return [_to_hospital(state, "dspm_delayed", episode, first, [first], note,
                         _details("dspm_delayed", episode, first, delayed=_domains(first, "delayed")))]


def _rescreen_resolutions(episode, keys):
    """The suspected-delay and trace tasks end when the re-screen comes: passed or referred on."""
    if episode is None or episode.rescreen is None or not _suspected_only(episode.first):
        return []
    code = "rescreen_not_passed" if _not_normal(episode.rescreen) else "rescreen_passed"
    return [Resolution(f"{key}|{episode.first.root_id}", code, (episode.rescreen.event_id,)) for key in keys]


def suspected_delay(state, now):
    episode = _latest(state)
    results = _rescreen_resolutions(episode, ("dspm_suspected_delay",))
    if episode is None or episode.outcome(now) not in (WAITING, RESCREEN_MISSED):
        return results
    first, due = episode.first, episode.due  # past `due`, the task stands to be expired by the timer
    note = (f"suspected delay: {', '.join(_domains(first, 'suspected_delay'))} ({_describe(episode, first)}); "
            f"stimulate at home and re-screen by {day(due)}")
    task = {**source_of(first), "service": "dspm_rescreen"}
    return results + [
        Proposal("dspm_suspected_delay", "dspm_suspected_delay", first.root_id, (first.event_id,), ("health",),
                 source_of(first), task, note, due_by=due,
                 details=_details("dspm_suspected_delay", episode, first, rescreen_by=day(due))),
        Review(due)]


def trace_rescreen(state, now):
    """No re-screen 30 days after a suspected delay: the health centre traces the child and re-screens."""
    episode = _latest(state)
    results = _rescreen_resolutions(episode, ("dspm_trace_rescreen",))
    if episode is None or episode.outcome(now) not in (WAITING, RESCREEN_MISSED):
        return results
    first, due = episode.first, episode.due
    if episode.outcome(now) == WAITING:
        return results + [Review(due)]
    until = due + TRACE_GRACE
    note = (f"no re-screen by {day(due)} after a suspected delay ({_describe(episode, first)}): "
            f"trace the child and re-screen by {day(until)}")
    task = {**source_of(first), "service": "dspm_trace"}
    return results + [
        Proposal("dspm_trace_rescreen", "dspm_trace_rescreen", first.root_id, (first.event_id,), ("health",),
                 source_of(first), task, note, due_by=until,
                 details=_details("dspm_trace_rescreen", episode, first, rescreen_by=day(due),
                                  trace_by=day(until)))]


def rescreen_overdue(state, now):
    """Traced for TRACE_GRACE and still not re-screened: escalated to the hospital's developmental clinic."""
    episode = _latest(state)
    if episode is None or episode.outcome(now) not in (WAITING, RESCREEN_MISSED):
        return []
    first = episode.first
    until = episode.due + TRACE_GRACE
    if now < until:
        return [Review(until)]
    note = (f"no re-screen by {day(until)} ({TRACE_GRACE.days} days of tracing after the 30-day re-screen "
            f"window) after a suspected delay ({_describe(episode, first)})")
    return [_to_hospital(state, "dspm_rescreen_overdue", episode, first, [first], note,
                         _details("dspm_rescreen_overdue", episode, first, rescreen_by=day(episode.due),
                                  trace_by=day(until)))]


def rescreen_not_normal(state, now):
    episode = _latest(state)
    if episode is None or episode.outcome(now) != REFERRED_RESCREEN:
        return []
    rescreen = episode.rescreen or episode.first
    note = (f"re-screen not passed: {', '.join(_not_normal(rescreen))} ({_describe(episode, rescreen)}): "
            "TEDA4I assessment")
    sources = [episode.first] + ([rescreen] if rescreen is not episode.first else [])
    return [_to_hospital(state, "dspm_rescreen_not_normal", episode, rescreen, sources, note,
                         _details("dspm_rescreen_not_normal", episode, rescreen,
                                  first_screened_on=day(episode.first)))]


def outcomes(state, now):
    """Every episode's outcome, for the child page and the timeline: on track or not, and why."""
    return [{"band": e.band, "outcome": e.outcome(now), "on_track": e.outcome(now) in ON_TRACK,
             "first_event_id": e.first.event_id, "first_screened_on": day(e.first),
             "rescreen_event_id": e.rescreen.event_id if e.rescreen else None,
             "rescreened_on": day(e.rescreen) if e.rescreen else None,
             "rescreen_by": day(e.due) if _suspected_only(e.first) else None,
             "later_event_ids": [f.event_id for f in e.later]}
            for e in episodes(state)]
