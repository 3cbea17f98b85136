"""The remembered z-scores (`childlink_referral.growth.zscores`) are exactly WHO's code's fresh ones
(`childlink_contracts.growth.zscores`), on many random measurements and on the inputs a memo could
confuse: equal values of other types (70 and 70.0, True and 1), zero and minus zero, NaN, broken values."""

import math
import random

import pytest
from childlink_contracts import growth as who
from childlink_referral import growth

SEXES = ("male", "female", None, "other", 1, True)
EDGE_AGES = (None, -1, 0, 1, 270, 273, 274, 730, 731, 732, 1855, 1856, 1857, 1857.4, 1826, 2190, 2221, 2222,
             2300, 10**30, 730.5, 0.0, -0.0)
EDGE_VALUES = (None, 0, 0.0, -0.0, -1, -1.5, 1, 1.0, 70, 70.0, 45.0, 44.99, 110.0, 110.05, 65.0, 120.0, 120.01,
               math.inf, -math.inf, math.nan, True, False, 10**400, 2**53 + 1, float(2**53), 1e-300, 1e308)
LYING = (None, True, False, 1, 0, 1.0, 0.0, -0.0, "yes", "")


def same(left, right):
    """Equal, NaN included (repr tells -0.0 from 0.0 and shows NaN)."""
    return left == right or repr(left) == repr(right)


def outcome(fn, args):
    try:
        return ("ok", fn(*args))
    except Exception as exc:  # noqa: BLE001 - a broken input must fail the same way
        return ("error", type(exc), str(exc))


def random_measurement(rng):
    def pick(edges, low, high, decimals):
        if rng.random() < 0.3:
            return rng.choice(edges)
        value = round(rng.uniform(low, high), decimals)
        return int(value) if rng.random() < 0.1 else value

    sex = rng.choice(SEXES[:2]) if rng.random() < 0.9 else rng.choice(SEXES)
    age = rng.choice(EDGE_AGES) if rng.random() < 0.2 else rng.randrange(-5, 2300)
    return (sex, age, pick(EDGE_VALUES, 1.5, 30.0, rng.choice((1, 2, 3))),
            pick(EDGE_VALUES, 40.0, 130.0, rng.choice((1, 2))), rng.choice(LYING),
            pick(EDGE_VALUES, 30.0, 55.0, 1) if rng.random() < 0.5 else None)


@pytest.fixture(autouse=True)
def empty_memo():
    growth._remembered.cache_clear()
    yield
    growth._remembered.cache_clear()


def test_remembered_z_scores_are_the_fresh_ones():
    rng = random.Random(14)
    measurements = [random_measurement(rng) for _ in range(20_000)]
    measurements += [measurements[i] for i in range(0, 20_000, 3)]  # asked again: answered from the memo
    for args in measurements:
        remembered, fresh = outcome(growth.zscores, args), outcome(who.zscores, args)
        assert remembered[0] == fresh[0], args
        if fresh[0] == "error":
            assert remembered == fresh, args
            continue
        for got, want in zip(remembered[1], fresh[1], strict=True):
            assert list(got) == list(want), args
            assert all(same(got[key], want[key]) for key in want), (args, got, want)
    assert growth._remembered.cache_info().hits > 3_000


@pytest.mark.parametrize(("first", "then"), [
    (("male", 400, 9, 75.0, True), ("male", 400, 9.0, 75.0, True)),
    (("male", 400, 9.0, 75.0, True), ("male", 400, 9.0, 75.0, 1)),
    (("male", 400, 9.0, 75.0, 1.0), ("male", 400, 9.0, 75.0, True)),
    (("female", 800, 12.0, 88.0, False), ("female", 800, 12.0, 88.0, 0)),
    (("female", 800, 12.0, 0.0, False), ("female", 800, 12.0, -0.0, False)),
    (("female", 800, 12.0, 88.0, False, 47), ("female", 800, 12.0, 88.0, False, 47.0)),
    (("female", 800, 12.0, 88.0, False, 2**53 + 1), ("female", 800, 12.0, 88.0, False, float(2**53 + 1))),
    (("female", 800, math.nan, 88.0, False), ("female", 800, math.nan, 88.0, False)),
])
def test_equal_inputs_of_other_types_are_not_confused(first, then):
    for args in (first, then, first):
        assert repr(outcome(growth.zscores, args)) == repr(outcome(who.zscores, args)), args


def test_the_callers_dicts_are_their_own():
    z, implausible = growth.zscores("male", 400, 9.0, 75.0, True)
    z["z_wfa"], implausible["z_wfa"] = 99.0, True
    assert growth.zscores("male", 400, 9.0, 75.0, True) == who.zscores("male", 400, 9.0, 75.0, True)


def test_unhashable_or_odd_inputs_are_computed_fresh():
    with pytest.raises(TypeError) as remembered:
        growth.zscores("male", 400, [9.0], 75.0, True)
    with pytest.raises(TypeError) as fresh:
        who.zscores("male", 400, [9.0], 75.0, True)
    assert str(remembered.value) == str(fresh.value)
    assert growth._remembered.cache_info().currsize == 0
