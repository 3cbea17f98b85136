"""The community child development centres the simulated children attend: registration and yearly assessment."""

import datetime as dt

from .recorder import Happening

LEVELS = ((90, "excellent"), (75, "good"), (60, "basic"), (0, "not_met"))  # lowest score for each
from .timing import DAY, at


def centre_history(centre, rng, now):
    """[Happening] for one centre: when it opened, and its quality assessments of the last two years."""
    subject = {"centre": {"centre_id": centre.code, "name": centre.name, "district_code": centre.district_code}}
    opened_on = dt.date(rng.randrange(2003, 2020), 1, 1) + rng.randrange(365) * DAY
    happenings = [Happening("social", "centre.registered", centre, subject, at(opened_on, rng), {
        "name": centre.name, "capacity": rng.choice((30, 40, 50, 60, 80, 100, 120)),
        "opened_on": opened_on.isoformat(),
    })]
    for year in (now.year - 1, now.year):
        moment = at(dt.date(year, 8, 1) + rng.randrange(60) * DAY, rng)
        if moment <= now:
            score = max(0, min(100, int(rng.gauss(78, 10))))
            level = next(name for floor, name in LEVELS if score >= floor)
            happenings.append(Happening("social", "centre.assessed", centre, subject, moment,
                                        {"standard_score": score, "level": level}))
    return happenings
