"""Social follow-up by the district's social workers: high household risk, or low attendance.

Attendance is low when the child was present on less than ATTENDANCE_THRESHOLD of the expected days in
the latest recorded period (by period end, centre or school) of at least MIN_EXPECTED_DAYS. One referral
per episode: the run of consecutive assessments or periods that meet the rule, named by its first.
"""

from ..facilities import social_welfare_for
from .proposal import Proposal, day, source_of, streak

ATTENDANCE_THRESHOLD = 0.60
MIN_EXPECTED_DAYS = 5


def household_risk_high(state, now):
    assessments = state.of("social", "household.risk_assessed")
    run = streak(assessments, lambda f: f.payload.get("risk_level") == "high")
    if not run:
        return []
    first, latest = run[0], run[-1]
    factors = ", ".join(latest.payload.get("factors") or []) or "no factors named"
    return [Proposal("household_risk_high", "social_follow_up", f"risk:{first.root_id}",
                     tuple(f.event_id for f in run), ("social",), source_of(latest),
                     social_welfare_for(state.district or latest.district, "social_worker"),
                     f"household risk high ({factors}), assessed {day(latest)}",
                     details={"kind": "household_risk_high", "factors": list(latest.payload.get("factors") or []),
                              "assessed_on": day(latest)})]


def _share(fact):
    return fact.payload["days_present"] / fact.payload["days_expected"]


def attendance_low(state, now):
    periods = [f for f in state.of_type("child.attendance_recorded")
               if f.payload.get("days_expected", 0) >= MIN_EXPECTED_DAYS]
    periods.sort(key=lambda f: (f.payload["period_end"], f.occurred_at))
    run = streak(periods, lambda f: _share(f) < ATTENDANCE_THRESHOLD)
    if not run:
        return []
    first, latest = run[0], run[-1]
    note = (f"attended {latest.payload['days_present']} of {latest.payload['days_expected']} days "
            f"({_share(latest):.0%}) from {latest.payload['period_start']} to {latest.payload['period_end']}; "
            f"below {ATTENDANCE_THRESHOLD:.0%}")
    return [Proposal("attendance_low", "social_follow_up", f"attendance:{first.root_id}",
                     tuple(f.event_id for f in run), tuple(sorted({f.department for f in run})),
                     source_of(latest), social_welfare_for(state.district or latest.district, "social_worker"),
                     note, details={"kind": "attendance_low", "days_present": latest.payload["days_present"],
                                    "days_expected": latest.payload["days_expected"],
                                    "percent": round(100 * _share(latest)),
                                    "period_start_on": latest.payload["period_start"],
                                    "period_end_on": latest.payload["period_end"],
                                    "threshold_percent": round(100 * ATTENDANCE_THRESHOLD)})]
