"""Weights from the register itself, without labels: Fellegi-Sunter expectation-maximisation, as
splink and JeMPI estimate them (splink is not installed here; the method is the same).

    python -m childlink_referral.matching.em [--children N] [--seed S] [--write]

- **u** (the chance two records of different children reach a level) from random pairs of records:
  nearly every random pair is two children, so no labels are needed (splink's
  `estimate_u_using_random_sampling`);
- **m** (the chance two records of one child reach it) and the share of matches among blocked pairs
  by EM over the pairs the blocking index brings together (`blocking.BlockingIndex`): the E step
  gives each pair its probability of being one child under the current m, u and share; the M step
  counts m again with those probabilities as weights - and a u of the blocked pairs, which EM needs
  (blocked pairs of two children agree on a birth date far more often than random ones) and which
  is then set aside for the random-pair u, as splink's training sessions do. Fields are taken as
  independent given the class, as in the scoring;
- **reviewers' decisions as labels**: a pair a person linked counts as one child (probability 1)
  and a pair kept apart as two (0) in every E step, whatever the model says.

Add-one smoothing as in `estimate.shares`, so a level never seen keeps a finite weight. `--write`
rewrites weights.py with the table (`estimate.render`), so the matcher then uses it.
"""

import argparse
import math
import random
import sys
from collections import Counter
from pathlib import Path

from .blocking import BlockingIndex
from .normalise import prepare
from .scoring import FIELDS, LEVELS, MISSING, compare

ITERATIONS = 25
START_SHARE = 0.1


def blocked_pairs(prepared):
    """Every pair of records (by position) that share a block: what the matcher would score."""
    index = BlockingIndex()
    for position, record in enumerate(prepared):
        index.add(position, record)
    pairs = set()
    for position, record in enumerate(prepared):
        for other in index.candidates(record):
            if other != position:
                pairs.add((min(position, other), max(position, other)))
    return sorted(pairs)


def _counts(patterns, weights):
    """{field: Counter(level)} weighted by `weights` (one per pattern)."""
    counts = {field: Counter() for field in FIELDS}
    for levels, weight in zip(patterns, weights):
        if weight:
            for field, level in zip(FIELDS, levels):
                if level != MISSING:
                    counts[field][level] += weight
    return counts


def _shares(counts):
    table = {}
    for field in FIELDS:
        levels = LEVELS[field]
        seen = sum(counts[field][level] for level in levels)
        table[field] = {level: (counts[field][level] + 1) / (seen + len(levels)) for level in levels}
    return table


def random_pair_u(prepared, how_many, seed):
    """u from `how_many` uniformly drawn pairs of distinct records (unlabelled)."""
    rng = random.Random(f"{seed}/em-u")
    patterns = []
    for _ in range(how_many):
        a, b = rng.sample(range(len(prepared)), 2)
        patterns.append(compare(prepared[a], prepared[b]))
    return _shares(_counts(patterns, [1] * len(patterns)))


def _start_m():
    """A neutral start: the best level likely for one child, the worst unlikely."""
    start = {}
    for field in FIELDS:
        levels = LEVELS[field]
        rest = (0.1) / max(len(levels) - 1, 1)
        start[field] = {level: 0.9 if i == 0 else rest for i, level in enumerate(levels)}
    return start


def expectation_maximisation(patterns, u, iterations=ITERATIONS, share=START_SHARE):
    """(m table, match share) from the pairs' level tuples `patterns` ({levels: n}; a reviewer's
    decision as {("label", linked?, levels): n}). `u` starts the blocked pairs' own u."""
    m = _start_m()
    items = list(patterns.items())
    for _ in range(iterations):
        log_m = {field: {level: math.log(m[field][level]) for level in LEVELS[field]} for field in FIELDS}
        log_u = {field: {level: math.log(u[field][level]) for level in LEVELS[field]} for field in FIELDS}
        matched, unmatched, plain = [], [], []
        for key, n in items:
            if key[0] == "label":
                _, same, levels = key
                p = 1.0 if same else 0.0
            else:
                levels = key
                score = math.log(share) - math.log(1 - share)
                for field, level in zip(FIELDS, levels):
                    if level != MISSING:
                        score += log_m[field][level] - log_u[field][level]
                p = 1.0 / (1.0 + math.exp(-score)) if score > -700 else 0.0
            matched.append(n * p)
            unmatched.append(n * (1 - p))
            plain.append(levels)
        total = sum(n for _, n in items)
        share = min(max(sum(matched) / total, 1e-6), 1 - 1e-6)
        m = _shares(_counts(plain, matched))
        u = _shares(_counts(plain, unmatched))
    return m, share


def patterns_of(prepared, pairs, decisions=None):
    """{levels: n} over the blocked pairs; a pair with a reviewer's decision ({(i, j): True|False})
    counts as a labelled pattern instead."""
    decisions = decisions or {}
    found = Counter()
    for pair in pairs:
        levels = compare(prepared[pair[0]], prepared[pair[1]])
        if pair in decisions:
            found[("label", decisions[pair], levels)] += 1
        else:
            found[levels] += 1
    return found


def estimate_unsupervised(subjects, seed=1, random_pairs=300_000, decisions=None):
    """({field: {level: (m, u)}}, match share, blocked pairs) from the records' subjects alone, with
    reviewers' `decisions` ({(i, j): linked?} over subject positions) as labels."""
    prepared = [prepare(subject) for subject in subjects]
    u = random_pair_u(prepared, random_pairs, seed)
    pairs = blocked_pairs(prepared)
    m, share = expectation_maximisation(patterns_of(prepared, pairs, decisions), u)
    table = {field: {level: (m[field][level], u[field][level]) for level in LEVELS[field]} for field in FIELDS}
    return table, share, len(pairs)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m childlink_referral.matching.em",
                                     description="Estimate m/u weights by EM on the register, without labels.")
    parser.add_argument("--children", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--write", action="store_true", help="rewrite weights.py with the table")
    args = parser.parse_args(argv)
    from childlink_tools.identity_errors import generate_identity_dataset

    from .estimate import FIXED_NOW, render

    dataset = generate_identity_dataset(args.children, seed=args.seed, now=FIXED_NOW)
    table, share, pairs = estimate_unsupervised([r.subject for r in dataset.records], args.seed)
    source = render(table, args.children, args.seed, {"true_pairs": 0, "non_pairs": 300_000})
    body = source.split('"""', 2)[2]
    source = (f'"""Fellegi-Sunter m and u probabilities per comparison level, and the weights log2(m/u) from them.\n\n'
              f"Generated by `python -m childlink_referral.matching.em --write` (do not edit by hand), from the\n"
              f"simulated register `generate_identity_dataset({args.children}, seed={args.seed})` without its labels: u over\n"
              f"300000 random pairs of records, m by EM over its {pairs} blocked pairs (match share {share:.4f}),\n"
              f"each over the pairs where the field is present on both sides, with add-one smoothing. A missing\n"
              f'field weighs 0. See docs/identity-matching.md.\n"""' + body)
    print(source)
    print(f"# blocked pairs {pairs}, match share {share:.4f}", file=sys.stderr)
    if args.write:
        (Path(__file__).parent / "weights.py").write_text(source, "utf-8")


if __name__ == "__main__":
    main()
