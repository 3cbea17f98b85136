"""Precision and recall on a small labelled set: the targets hold whatever the benchmark's scale.

The set is the simulator's (`generate_identity_dataset`), with a seed that neither the weights (1) nor
the benchmark (2, 3) use; the protocol is `evaluate.run`'s (first registrations known, every other
record matched; records linkable by national ID left to the deterministic rule).
"""

import datetime as dt

import pytest
from childlink_referral.matching.evaluate import figures, from_identity_dataset, run, wrong_links
from childlink_tools.identity_errors import generate_identity_dataset

FIXED_NOW = dt.datetime(2025, 6, 30, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))


@pytest.fixture(scope="module")
def labelled():
    return from_identity_dataset(generate_identity_dataset(2500, seed=11, now=FIXED_NOW))


@pytest.mark.parametrize("hide_national_ids", [False, True], ids=["not-linkable-by-id", "ids-hidden"])
def test_automatic_links_meet_the_precision_and_recall_targets(labelled, hide_national_ids):
    result = run(labelled, seed=11, hide_national_ids=hide_national_ids)
    counts = figures(result)
    assert counts["probes_of_known"] > 300 and counts["probes_of_new"] > 300  # a set worth measuring
    assert counts["precision"] >= 0.99, wrong_links(result)
    assert counts["recall"] >= 0.95
    assert counts["split_share"] <= 0.01  # known children's records are rarely taken for new ones
    assert counts["review_share"] <= 0.06
    assert counts["twin_links_wrong"] == 0 and counts["twin_probes"] > 10


def test_deterministic_links_are_left_out_of_the_scored_figures(labelled):
    with_ids, without = run(labelled, seed=11), run(labelled, seed=11, hide_national_ids=True)
    assert with_ids.deterministic > 0 and without.deterministic == 0
    assert len(with_ids.probes) + with_ids.deterministic == len(without.probes)


def test_the_evaluation_is_repeatable(labelled):
    first, again = (figures(run(labelled[:1500], seed=3)) for _ in range(2))
    assert first == again
