"""Referral rules: plain functions of the child's state, listed in one table.

Each rule takes (state, now) and returns the referrals the state calls for (`Proposal`s) and when a
time-based condition falls due (`Review`s). `evaluate` runs them all, drops what the child's consent
does not allow, and says when to look again. It changes nothing: the workflow reconciles the answer
with the referrals that exist.
"""

from dataclasses import dataclass, field

from . import diagnosis, dspm, immunisation, nutrition, social
from .proposal import Proposal, Resolution, Review, day
from .state import ChildState, build_state


@dataclass(frozen=True)
class Rule:
    name: str
    reason: str
    check: object
    description: str


RULES = (
    Rule("dspm_delayed", "dspm_delayed", dspm.delayed,
         "the latest DSPM screening has a domain delayed"),
    Rule("dspm_suspected_delay", "dspm_suspected_delay", dspm.suspected_delay,
         "the latest DSPM screening has a suspected delay (none delayed): re-screen within 30 days"),
    Rule("dspm_rescreen_not_normal", "dspm_rescreen_not_normal", dspm.rescreen_not_normal,
         "the re-screen after a suspected delay is not passed: TEDA4I at the hospital"),
    Rule("dspm_trace_rescreen", "dspm_trace_rescreen", dspm.trace_rescreen,
         "no re-screen within 30 days of a suspected delay: the health centre traces the child and re-screens"),
    Rule("dspm_rescreen_overdue", "dspm_rescreen_overdue", dspm.rescreen_overdue,
         f"no re-screen {dspm.TRACE_GRACE.days} days after the 30-day window closed: escalated to the hospital"),
    Rule("growth_below_minus_2", "nutrition_follow_up", nutrition.below_minus_2,
         "the latest measurement has a WHO weight-for-age, length/height-for-age or weight-for-length/height "
         "z-score below -2"),
    Rule("growth_below_minus_3", "household_support", nutrition.below_minus_3,
         "the latest measurement has one of those z-scores below -3"),
    Rule("immunisation_overdue", "immunisation_overdue", immunisation.overdue,
         "a Thai EPI dose is overdue (its window closed more than 30 days ago)"),
    Rule("diagnosis_f70_f89", "special_needs", diagnosis.special_needs,
         "a hospital diagnosis ICD-10 F70-F89 and the child is enrolled at a centre or school"),
    Rule("household_risk_high", "social_follow_up", social.household_risk_high,
         "the latest household risk assessment is high"),
    Rule("attendance_low", "social_follow_up", social.attendance_low,
         "the latest attendance period (5 or more expected days) is below 60% present"),
)
RULES_BY_NAME = {rule.name: rule for rule in RULES}

# Referrals between these departments go on whatever a department's consent says: PDPA section 26
# allows processing health data without consent where necessary for preventive medicine and care.
CARE_DEPARTMENTS = frozenset({"health", "medical"})


@dataclass
class Evaluation:
    proposals: dict = field(default_factory=dict)  # key -> Proposal
    suppressed: dict = field(default_factory=dict)  # key -> (Proposal, why)
    resolutions: dict = field(default_factory=dict)  # key -> Resolution: why a standing referral no longer applies
    next_review_at: object = None


def blocked_by_consent(state, proposal):
    """Why consent forbids this referral, or None: a department's data may not leave it for social or
    education when that department's latest consent decision is `refused`."""
    target = proposal.to["department"]
    for department in proposal.source_departments:
        refusal = state.consent_refused.get(department)
        if refusal is None or department == target:
            continue
        if department in CARE_DEPARTMENTS and target in CARE_DEPARTMENTS:
            continue
        return (f"consent to share {department} records outside {department} was refused on "
                f"{day(refusal)}")
    return None


def evaluate(state: ChildState, now, rules=RULES) -> Evaluation:
    evaluation = Evaluation()
    reviews = []
    for rule in rules:
        for item in rule.check(state, now):
            if isinstance(item, Review):
                reviews.append(item.at)
                continue
            if isinstance(item, Resolution):
                evaluation.resolutions[item.key] = item
                continue
            assert item.rule == rule.name and item.reason == rule.reason, (rule.name, item)
            why = blocked_by_consent(state, item)
            if why:
                evaluation.suppressed[item.key] = (item, why)
            else:
                evaluation.proposals[item.key] = item
    future = [at for at in reviews if at > now]
    evaluation.next_review_at = min(future) if future else None
    return evaluation


__all__ = ["RULES", "RULES_BY_NAME", "ChildState", "Evaluation", "Proposal", "Resolution", "Review", "Rule", "build_state",
           "evaluate"]
