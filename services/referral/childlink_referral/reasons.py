"""Why a referral is raised, and how long the loop may stay open (its deadline) per reason.

A deadline can be shortened or lengthened per reason with REFERRAL_DEADLINES, e.g.
`REFERRAL_DEADLINES="nutrition_follow_up=2,dspm_delayed=86400"` (seconds): tests and drills use it.
"""

import datetime as dt
import os
from dataclasses import dataclass

DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Reason:
    name: str
    deadline: dt.timedelta
    description: str


REASONS = {r.name: r for r in (
    Reason("dspm_delayed", 30 * DAY, "DSPM screening found a delay: developmental assessment (TEDA4I) at a hospital"),
    Reason("dspm_suspected_delay", 30 * DAY, "DSPM screening found a suspected delay: re-screen after a month"),
    Reason("dspm_rescreen_not_normal", 30 * DAY,
           "the DSPM re-screen after a suspected delay is not passed: TEDA4I assessment at a hospital"),
    Reason("dspm_trace_rescreen", 14 * DAY,
           "no DSPM re-screen within 30 days of a suspected delay: trace the child and re-screen"),
    Reason("dspm_rescreen_overdue", 30 * DAY,
           "still no DSPM re-screen after tracing: developmental assessment at a hospital"),
    Reason("nutrition_follow_up", 14 * DAY, "WHO growth z-score below -2: nutrition follow-up"),
    Reason("household_support", 14 * DAY, "WHO growth z-score below -3: household support"),
    Reason("immunisation_overdue", 30 * DAY, "Thai EPI dose overdue: remind the family"),
    Reason("special_needs", 30 * DAY, "hospital diagnosis ICD-10 F70-F89: special-needs support"),
    Reason("social_follow_up", 14 * DAY, "high household risk or low attendance: social worker follow-up"),
)}


def _overrides():
    found = {}
    for item in (os.environ.get("REFERRAL_DEADLINES") or "").split(","):
        name, _, seconds = item.partition("=")
        if name.strip() and seconds.strip():
            found[name.strip()] = dt.timedelta(seconds=float(seconds))
    return found


def deadline_for(reason: str) -> dt.timedelta:
    return _overrides().get(reason) or REASONS[reason].deadline
