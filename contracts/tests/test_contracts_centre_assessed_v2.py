"""centre.assessed v2: BMA's 7 areas with a score per area and per indicator; v1 stays valid."""

import copy

import pytest
from childlink_contracts import ContractError, validate_event

from .conftest import sample_event


def v2(**areas):
    event = sample_event(("social", "centre.assessed", 2))
    for area, value in areas.items():
        if value is None:
            del event["payload"]["areas"][area.removeprefix("a")]
        else:
            event["payload"]["areas"][area.removeprefix("a")] = value
    return event


def errors_of(event):
    with pytest.raises(ContractError) as raised:
        validate_event(event, "social")
    return raised.value.errors


def test_v2_with_all_seven_areas_is_valid_and_v1_still_is():
    stored = validate_event(v2(), "social")
    assert sorted(stored["payload"]["areas"]) == [str(n) for n in range(1, 8)]
    assert stored["payload"]["areas"]["1"]["indicators"]["7"] == 90
    assert validate_event(sample_event(("social", "centre.assessed", 1)), "social")["version"] == 1


def test_a_missing_area_is_named():
    assert "payload.areas" in errors_of(v2(a7=None))


def test_an_indicator_outside_1_to_35_or_in_the_wrong_known_area_is_named():
    assert any(key.startswith("payload.areas.3.value.indicators.36") for key in
               errors_of(v2(a3={"score": 50, "indicators": {"36": 10}})))
    wrong = errors_of(v2(a1={"score": 50, "indicators": {"9": 10}}))  # indicator 9 is area 2's
    assert "payload.areas.1.indicators" in wrong


def test_an_indicator_given_twice_and_scores_out_of_range_are_named():
    event = v2()
    event["payload"]["areas"]["4"]["indicators"]["13"] = 50  # 13 is area 3's in the sample already
    assert any("indicators" in key for key in errors_of(event))
    bad = copy.deepcopy(v2())
    bad["payload"]["areas"]["5"]["score"] = 101
    assert "payload.areas.5.value.score" in errors_of(bad)
