"""The community child development centres the simulated children attend: registration and yearly assessment
against BMA's centre standard (centre.assessed v2: 7 areas, 35 indicators).

Districts differ, as they do in the city (the 2022 workshop's point was the gap between them): each district
has a quality level of its own, drawn once from its code, that every centre's scores scatter around.
"""

import datetime as dt
import random

from .recorder import Happening
from .timing import DAY, at

LEVELS = ((90, "excellent"), (75, "good"), (60, "basic"), (0, "not_met"))  # lowest score for each
# which of the 35 indicators each area holds: 1-7 and 8-12 as the standard has them; the rest split evenly
AREA_INDICATORS = {1: range(1, 8), 2: range(8, 13), 3: range(13, 18), 4: range(18, 23), 5: range(23, 28),
                   6: range(28, 32), 7: range(32, 36)}


def district_quality(district_code):
    """The mean standard score of a district's centres: 62-90, fixed per district whatever the seed."""
    return random.Random(f"district-quality/{district_code}").uniform(62, 90)


def _assessment(mean, rng):
    areas = {}
    for area, indicators in AREA_INDICATORS.items():
        area_mean = max(0, min(100, rng.gauss(mean, 6)))
        scores = {str(n): max(0, min(100, int(rng.gauss(area_mean, 8)))) for n in indicators}
        areas[str(area)] = {"score": round(sum(scores.values()) / len(scores)), "indicators": scores}
    score = round(sum(a["score"] for a in areas.values()) / len(areas))
    level = next(name for floor, name in LEVELS if score >= floor)
    return {"standard_score": score, "level": level, "areas": areas}


def centre_history(centre, rng, now):
    """[Happening] for one centre: when it opened, and its quality assessments of the last two years."""
    subject = {"centre": {"centre_id": centre.code, "name": centre.name, "district_code": centre.district_code}}
    opened_on = dt.date(rng.randrange(2003, 2020), 1, 1) + rng.randrange(365) * DAY
    happenings = [Happening("social", "centre.registered", centre, subject, at(opened_on, rng), {
        "name": centre.name, "capacity": rng.choice((30, 40, 50, 60, 80, 100, 120)),
        "opened_on": opened_on.isoformat(),
    })]
    mean = rng.gauss(district_quality(centre.district_code), 5)  # this centre's own level
    for year in (now.year - 1, now.year):
        moment = at(dt.date(year, 8, 1) + rng.randrange(60) * DAY, rng)
        if moment <= now:
            happenings.append(Happening("social", "centre.assessed", centre, subject, moment,
                                        _assessment(mean, rng), version=2))
    return happenings
