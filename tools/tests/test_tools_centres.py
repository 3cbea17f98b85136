"""The simulator's centres: BMA's 7-area assessments (centre.assessed v2) that pass the contract, and
districts that differ, so the city map means something."""

import datetime as dt
import random
import statistics

from childlink_contracts import validate_event
from childlink_tools.centre_history import centre_history, district_quality
from childlink_tools.places import bangkok

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))


def as_event(happening, n):
    return {"event_id": f"00000000-0000-4000-8000-{n:012d}", "type": happening.type, "version": happening.version,
            "occurred_at": happening.occurred_at.isoformat(), "recorded_at": happening.occurred_at.isoformat(),
            "source": {"department": "social", "system": "cdc-records", "facility": happening.facility.as_source()},
            "subject": happening.subject, "payload": happening.payload}


def test_every_centre_is_registered_and_assessed_on_seven_areas_within_the_contract():
    places = bangkok()
    n = 0
    for centre in places.cdcs["1001"] + places.cdcs["1050"]:
        for happening in centre_history(centre, random.Random(centre.code), NOW):
            n += 1
            stored = validate_event(as_event(happening, n), "social")
            if happening.type == "centre.assessed":
                assert stored["version"] == 2 and sorted(stored["payload"]["areas"], key=int) == [
                    str(a) for a in range(1, 8)]
    assert n > 2 * len(places.cdcs["1001"])


def test_districts_differ_in_quality_and_their_centres_follow():
    qualities = {code: district_quality(code) for code in bangkok().cdcs}
    assert max(qualities.values()) - min(qualities.values()) > 15
    assert district_quality("1001") == district_quality("1001")  # the same on every run
    best, worst = max(qualities, key=qualities.get), min(qualities, key=qualities.get)
    scores = {}
    for code in (best, worst):
        scores[code] = [h.payload["standard_score"] for centre in bangkok().cdcs[code]
                        for seed in range(4)
                        for h in centre_history(centre, random.Random(f"{seed}/{centre.code}"), NOW)
                        if h.type == "centre.assessed"]
    assert statistics.mean(scores[best]) > statistics.mean(scores[worst]) + 8
