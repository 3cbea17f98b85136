"""Where the weights come from: counting on labelled pairs gives the signs and order weights.py has."""

import datetime as dt

import pytest
from childlink_referral.matching.estimate import (
    MODEL_FLOOR,
    choose_thresholds,
    estimate,
    weights_of,
)
from childlink_referral.matching.evaluate import from_identity_dataset, run
from childlink_referral.matching.scoring import FIELDS, LEVELS
from childlink_referral.matching.weights import WEIGHTS
from childlink_tools.identity_errors import generate_identity_dataset

FIXED_NOW = dt.datetime(2025, 6, 30, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))


@pytest.fixture(scope="module")
def dataset():
    return generate_identity_dataset(1500, seed=1, now=FIXED_NOW)


def test_a_small_estimate_agrees_with_the_table_in_sign_and_roughly_in_size(dataset):
    table, counts, pairs = estimate(dataset, non_pairs=20_000)
    assert pairs["true_pairs"] > 500 and pairs["non_pairs"] == 20_000
    small = weights_of(table)
    for field in FIELDS:
        assert list(table[field]) == list(LEVELS[field])
        best = LEVELS[field][0]
        assert small[field][best] > 0 > small[field]["different"], field
        for level in LEVELS[field]:  # where both counts are real (not smoothing), the sizes agree too
            if counts["m"][field][level] >= 20 and counts["u"][field][level] >= 20:
                assert abs(small[field][level] - WEIGHTS[field][level]) < 1.5, (field, level)


def test_thresholds_are_never_below_the_models_own_floor(dataset):
    chosen = choose_thresholds(run(from_identity_dataset(dataset), seed=1))
    assert chosen.link_at >= MODEL_FLOOR and chosen.new_below <= -chosen.link_at and chosen.margin == 6
