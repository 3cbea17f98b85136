"""Where the weights and thresholds come from: counting on labelled simulated record pairs.

    python -m childlink_referral.matching.estimate                 # print m, u and weights (seed 1)
    python -m childlink_referral.matching.estimate --write         # ... and rewrite weights.py

m (per field and level) = share of the pairs of records of the same child that reach that level;
u = share of random pairs of records of two different children that reach it. Both are counted over
pairs where the field is present on both sides (a missing field adds 0), with add-one (Laplace)
smoothing so a level never seen among the pairs still gets a finite weight. This is counting on
labelled pairs rather than EM, because the simulator gives us the labels; with real data and no
labels, the same table would come from EM (or from reviewers' decisions on the review queue).

The labelled set is `childlink_tools.identity_errors.generate_identity_dataset(children, seed=1)`:
a different seed from the benchmark's (2), so the figures are not measured on the data the
weights were fitted to.

Thresholds (`choose_thresholds`) are then chosen on the same seed-1 set with the fitted weights:
the lowest `link_at` whose automatic links reach the precision target with a safety margin, the
highest `new_below` that keeps wrongly-new known children rare, and a `margin` that sends near-ties
between two children to review.
"""

import argparse
import datetime as dt
import math
import random
import sys
from collections import Counter
from pathlib import Path

from .decision import LINK, Thresholds, decide
from .evaluate import figures, from_identity_dataset, run
from .normalise import prepare
from .scoring import FIELDS, LEVELS, MISSING, compare

FIXED_NOW = dt.datetime(2025, 6, 30, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))
TRAINING_SEED = 1
MARGIN = 6.0
MODEL_FLOOR = 6.0


def count_levels(pairs, prepared):
    """{field: Counter(level)} over `pairs` of record ids (missing levels not counted)."""
    counts = {field: Counter() for field in FIELDS}
    for a, b in pairs:
        for field, level in zip(FIELDS, compare(prepared[a], prepared[b])):
            if level != MISSING:
                counts[field][level] += 1
    return counts


def random_non_pairs(records, how_many, seed):
    """Pairs of record ids of two different children, drawn uniformly."""
    rng = random.Random(f"{seed}/non-pairs")
    pairs = []
    while len(pairs) < how_many:
        a, b = rng.sample(records, 2)
        if a.child_key != b.child_key:
            pairs.append((a.record_id, b.record_id))
    return pairs


def shares(counts):
    """Laplace-smoothed share of each level, per field."""
    table = {}
    for field in FIELDS:
        levels = LEVELS[field]
        seen = sum(counts[field][level] for level in levels)
        table[field] = {level: (counts[field][level] + 1) / (seen + len(levels)) for level in levels}
    return table


def estimate(dataset, non_pairs=300_000, seed=TRAINING_SEED):
    """(m_u table {field: {level: (m, u)}}, counts {"m": ..., "u": ...}, pair numbers)."""
    prepared = {record.record_id: prepare(record.subject, record.record_id) for record in dataset.records}
    true_pairs = dataset.true_pairs()
    non = random_non_pairs(dataset.records, non_pairs, seed)
    m_counts, u_counts = count_levels(true_pairs, prepared), count_levels(non, prepared)
    m, u = shares(m_counts), shares(u_counts)
    table = {field: {level: (m[field][level], u[field][level]) for level in LEVELS[field]} for field in FIELDS}
    return table, {"m": m_counts, "u": u_counts}, {"true_pairs": len(true_pairs), "non_pairs": len(non)}


def weights_of(table):
    return {field: {level: math.log2(m / u) for level, (m, u) in levels.items()} for field, levels in table.items()}


def band_precision(result, low, high, margin=MARGIN):
    """(probes, right) among probes whose best candidate scores in [low, high) and passes the link guards."""
    probes = right = 0
    for probe in result.probes:
        best = probe.best
        if best is None or not low <= best.score < high:
            continue
        decision, _ = decide(best, probe.runner_up, Thresholds(low, low, margin))
        if decision == LINK:
            probes += 1
            right += best.child_id == probe.truth
    return probes, right


def choose_thresholds(result, band_target=0.99, precision_target=0.998, split_target=0.003,
                      model_floor=MODEL_FLOOR, grid=0.5):
    """Thresholds (posterior log2-odds) from an evaluation `result` run with the fitted weights.

    - margin: 6 bits (`MARGIN`), more than a given name loses from `exact` to `typo`, so the right
      twin wins over a known sibling, while two candidates both in the link band go to review;
    - link_at: the lowest score t where the guarded links scoring in [t, t+2) and in every 2-bit band
      above are right at least `band_target` of the time, and all links at or above t at least
      `precision_target` - but never below `model_floor` (6 bits: the model's own probability >=
      0.985), so the threshold rests on the model as well as on one simulated population;
    - new_below: -link_at (the model's probability below 1.5%), lowered further if that called
      more than `split_target` of known children's records new.
    """
    top = max((probe.best.score for probe in result.probes if probe.best), default=0.0)
    link_at = None
    t = math.floor(top / grid) * grid
    while t > -30:
        probes, right = band_precision(result, t, t + 2)
        if probes and right / probes < band_target:
            break
        probes, right = band_precision(result, t, math.inf)
        if probes and right / probes < precision_target:
            break
        link_at = t
        t -= grid
    link_at = max(link_at if link_at is not None else top, model_floor)
    new_below = -link_at
    while new_below > -30 and figures(result, Thresholds(link_at, new_below, MARGIN))["split_share"] > split_target:
        new_below -= grid
    return Thresholds(link_at=link_at, new_below=new_below, margin=MARGIN)


def render(table, children, seed, pairs):
    lines = [
        '"""Fellegi-Sunter m and u probabilities per comparison level, and the weights log2(m/u) from them.',
        "",
        "Generated by `python -m childlink_referral.matching.estimate --write` (do not edit by hand): counted on",
        f"the labelled simulated set `generate_identity_dataset({children}, seed={seed})` -",
        f"m over its {pairs['true_pairs']} pairs of records of the same child, u over {pairs['non_pairs']} random",
        "pairs of records of different children, each over the pairs where the field is present on both",
        "sides, with add-one smoothing. A missing field weighs 0. See docs/identity-matching.md.",
        '"""',
        "",
        "import math",
        "",
        "M_U = {  # field: {level: (m, u)}",
    ]
    for field in FIELDS:
        lines.append(f"    {field!r}: {{")
        for level in LEVELS[field]:
            m, u = table[field][level]
            lines.append(f"        {level!r}: ({m:.6g}, {u:.6g}),  # {math.log2(m / u):+.2f} bits")
        lines.append("    },")
    lines += [
        "}",
        "",
        "WEIGHTS = {field: {level: math.log2(m / u) for level, (m, u) in levels.items()}",
        "           for field, levels in M_U.items()}",
        "",
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m childlink_referral.matching.estimate",
                                     description="Estimate m/u weights and thresholds from labelled simulated data.")
    parser.add_argument("--children", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=TRAINING_SEED)
    parser.add_argument("--non-pairs", type=int, default=300_000)
    parser.add_argument("--write", action="store_true", help="rewrite weights.py with the table")
    args = parser.parse_args(argv)
    from childlink_tools.identity_errors import generate_identity_dataset

    dataset = generate_identity_dataset(args.children, seed=args.seed, now=FIXED_NOW)
    table, counts, pairs = estimate(dataset, args.non_pairs, args.seed)
    source = render(table, args.children, args.seed, pairs)
    print(source)
    for field in FIELDS:
        print(f"# {field}: m counts {dict(counts['m'][field])}; u counts {dict(counts['u'][field])}", file=sys.stderr)
    if args.write:
        (Path(__file__).parent / "weights.py").write_text(source, "utf-8")
        print("wrote weights.py; re-run without --write to choose thresholds with them", file=sys.stderr)
        return
    from .linker import Matcher
    from .weights import WEIGHTS

    result = run(from_identity_dataset(dataset), seed=args.seed, matcher=Matcher(WEIGHTS))
    chosen = choose_thresholds(result)
    print(f"# thresholds from seed {args.seed}: {chosen}", file=sys.stderr)
    print(f"# training figures: {figures(result, chosen)}", file=sys.stderr)


if __name__ == "__main__":
    main()
