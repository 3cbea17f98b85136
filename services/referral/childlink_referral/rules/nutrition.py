"""Growth rules: WHO z-scores (childlink_referral.growth.zscores) of the child's measurements.

Weight-for-age, length/height-for-age or weight-for-length/height below -2 -> nutrition follow-up at the
health centre; below -3 -> also household support from the district's social welfare section
(WHO Child Growth Standards 2006 cut-offs: below -2 SD moderate, below -3 SD severe).

One referral per episode. An episode starts with a measurement below the threshold and lasts until the
child has recovered: two consecutive plausible measurements at or above it. One better weight is not
recovery: WHO's guideline on severe acute malnutrition (Updates on the management of severe acute
malnutrition in infants and children, WHO 2013, recommendation on discharge: WHZ >= -2 / MUAC >= 125 mm and
no oedema *for at least two weeks*) asks for recovery that holds, and the Department of Health's growth
monitoring (กรมอนามัย, เฝ้าระวังการเจริญเติบโต) follows a child monthly until back in the normal band; two
consecutive measurements are this project's reading of both (docs/clinical-rules.md, growth follow-up).
Implausible z-scores (beyond WHO's flags) neither start nor end an episode.
"""

from ..facilities import social_welfare_for
from .proposal import Proposal, Resolution, day, source_of

NAMES = {"z_wfa": "weight-for-age", "z_lhfa": "length/height-for-age", "z_wflh": "weight-for-length/height"}
RECOVERY_MEASUREMENTS = 2


def episodes(state, threshold):
    """[(measurements of the episode, recovered?)] oldest first; a recovered episode ends with the
    RECOVERY_MEASUREMENTS measurements that closed it."""
    found, current, above = [], None, 0
    for m in state.measurements:
        if m.lowest is None:
            continue
        if m.lowest[1] < threshold:
            if current is None:
                current = []
                found.append([current, False])
            current.append(m)
            above = 0
        elif current is not None:
            current.append(m)
            above += 1
            if above >= RECOVERY_MEASUREMENTS:
                found[-1][1] = True
                current, above = None, 0
    return [(ms, recovered) for ms, recovered in found]


def _details(measurement, threshold, run):
    low = {k: round(z, 2) for k, z in measurement.plausible_z().items() if z < threshold}
    return {"kind": f"growth_below_{'minus_3' if threshold == -3 else 'minus_2'}", "threshold": threshold,
            "z": low, "measured_on": day(measurement.fact), "first_measured_on": day(run[0].fact)}


def _note(measurement, threshold):
    low = {k: z for k, z in measurement.plausible_z().items() if z < threshold}
    parts = ", ".join(f"{NAMES[k]} z {z:.2f}" for k, z in sorted(low.items()))
    return f"{parts} (measured {day(measurement.fact)})"


def _rule(state, threshold, rule, reason, to_of):
    found = episodes(state, threshold)
    if not found:
        return []
    run, recovered = found[-1]
    first = run[0].fact
    key = f"{rule}|{first.root_id}"
    if recovered:
        return [Resolution(key, "recovered", tuple(m.fact.event_id for m in run[-RECOVERY_MEASUREMENTS:]))]
    low = [m for m in run if m.lowest[1] < threshold]
    latest_low = low[-1]
    return [Proposal(rule, reason, first.root_id, tuple(m.fact.event_id for m in low), ("health",),
                     source_of(latest_low.fact), to_of(latest_low.fact), _note(latest_low, threshold),
                     details=_details(latest_low, threshold, run),
                     evidence=tuple(m.fact.event_id for m in run if m.lowest[1] >= threshold))]


def below_minus_2(state, now):
    return _rule(state, -2, "growth_below_minus_2", "nutrition_follow_up",
                 lambda fact: {**source_of(fact), "service": "nutrition_clinic"})


def below_minus_3(state, now):
    return _rule(state, -3, "growth_below_minus_3", "household_support",
                 lambda fact: social_welfare_for(state.district or fact.district, "household_support"))
