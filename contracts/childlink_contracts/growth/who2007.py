"""WHO Growth Reference 2007 (5-19 years) z-scores, as WHO's anthroplus R package computes them.

Facts from WHO's code (github.com/WorldHealthOrganization/anthroplus, R/zscores.R); the code is our own:
- age in months, not rounded; L, M and S interpolated linearly between the whole-month rows;
- height-for-age and BMI-for-age from 60 months to before 229, weight-for-age to before 121 (completed
  months 228 and 120 included, as WHO's 2007 macro, whose results for WHO's example survey we reproduce;
  anthroplus stops at 228.0 and 120.0);
- restricted application beyond ±3 SD for weight-for-age and BMI-for-age, not for height-for-age;
- rounded to 2 decimals; flags: height-for-age |z| > 6, weight-for-age z < -6 or z > 5, BMI |z| > 5.
The reference is for standing height; a height measured lying is converted as WHO 2006 converts it
from 731 days (-0.7 cm), our reading of the same rule (anthroplus takes no position).
"""

import math

from . import lms
from .tables import SEX_CODES, table
from .who2006 import DAYS_PER_MONTH, POSITION_CM

FROM_MONTHS = 60
BEFORE_MONTHS = {"z_lhfa": 229, "z_bmi": 229, "z_wfa": 121}
TABLES = {"z_lhfa": ("hfawho2007", False), "z_wfa": ("wfawho2007", True), "z_bmi": ("bfawho2007", True)}
KEYS = ("z_wfa", "z_lhfa", "z_bmi")


def _z(key, sex, age_months, value):
    if value is None or value <= 0 or not FROM_MONTHS <= age_months < BEFORE_MONTHS[key]:
        return None
    name, restricted = TABLES[key]
    rows = table("who2007", name)
    low = math.trunc(age_months)
    below = rows.get((sex, low))
    if below is None:
        return None
    row = lms.interpolate(below, rows.get((sex, low + 1), below), age_months - low)
    return (lms.zscore_restricted if restricted else lms.zscore)(value, row)


def raw_zscores_by_months(sex, age_months, weight_kg=None, height_cm=None, oedema=False):
    """{z_wfa, z_lhfa, z_bmi: unrounded z or None} for an exact age in months."""
    code = SEX_CODES.get(sex)
    if code is None or age_months is None:
        return dict.fromkeys(KEYS)
    weight = None if oedema else weight_kg
    bmi = None
    if weight is not None and height_cm is not None and height_cm > 0:
        bmi = weight / (height_cm / 100) ** 2
    return {"z_wfa": _z("z_wfa", code, age_months, weight), "z_lhfa": _z("z_lhfa", code, age_months, height_cm),
            "z_bmi": _z("z_bmi", code, age_months, bmi)}


def raw_zscores(sex, age_days, weight_kg=None, height_cm=None, measured_lying=None, oedema=False):
    if height_cm is not None and measured_lying:
        height_cm = height_cm - POSITION_CM
    months = None if age_days is None else age_days / DAYS_PER_MONTH
    return raw_zscores_by_months(sex, months, weight_kg, height_cm, oedema)
