"""WHO Child Growth Standards (2006) z-scores, 0-1856 days, as WHO's anthro R package and igrowup compute them.

Facts taken from WHO's code (github.com/WorldHealthOrganization/anthro, R/z-score*.R, and WHO's igrowup
Stata macro igrowup_standard.ado); the code here is our own:
- age in days is a whole number (WHO rounds half up); months are days / 30.4375;
- a standing height of a child under 9 months is a position WHO does not accept: it is treated as not
  given (anthro's c9mo_flag);
- length/height is converted to the table the age calls for: measured standing under 731 days -> +0.7 cm,
  measured lying at 731 days or more -> -0.7 cm; no position given -> taken as the age calls for, no change;
- BMI is weight over the converted length/height squared;
- weight-for-length/height: the length table (45-110 cm) under 731 days, the height table (65-120 cm) from
  731 days; outside its range no z-score; between 0.1 cm rows the L, M and S are interpolated linearly;
- restricted application beyond ±3 SD for weight-for-age, weight-for-length/height and BMI-for-age;
  not for length/height-for-age nor head circumference-for-age (WHO computes both unrestricted);
- z-scores rounded to 2 decimals, and WHO's implausibility flags taken on the rounded value:
  length/height-for-age |z| > 6, weight-for-age z < -6 or z > 5, the others |z| > 5;
- a measurement of 0 or less gives no z-score; oedema gives no weight-based z-score.
The age limit follows igrowup (z-scores through 1856 days, i.e. up to 61 months; WHO's tables run to
1856 days for that); the R package stops at 60.0 months. See data/SOURCES.md.
"""

import math

from . import lms
from .tables import SEX_CODES, table

DAYS_PER_MONTH = 30.4375
MAX_AGE_DAYS = 1856
TABLE_SWITCH_DAYS = 731  # length table below, height table from here
POSITION_CM = 0.7
STANDING_FROM_MONTHS = 9
WFL_RANGE_CM = (45.0, 110.0)
WFH_RANGE_CM = (65.0, 120.0)
KEYS = ("z_wfa", "z_lhfa", "z_wflh", "z_bmi", "z_hcfa")
FLAGS = {  # (lowest plausible, highest plausible), as WHO flags them
    "z_wfa": (-6, 5), "z_lhfa": (-6, 6), "z_wflh": (-5, 5), "z_bmi": (-5, 5), "z_hcfa": (-5, 5),
}


def whole_days(age_days):
    """WHO's age in days: halves round up (anthro's round_up, Stata's round(x, 1))."""
    return math.floor(age_days + 0.5)


def position(age_days, measured_lying):
    """'lying', 'standing' or None as WHO takes it: standing under 9 months counts as not given."""
    if measured_lying is None:
        return None
    if not measured_lying and age_days / DAYS_PER_MONTH < STANDING_FROM_MONTHS:
        return None
    return "lying" if measured_lying else "standing"


def adjusted_length_height(age_days, height_cm, measured_lying):
    """The length (under 731 days) or height (from 731 days) WHO computes with, or None."""
    if height_cm is None:
        return None
    measured = position(age_days, measured_lying)
    if age_days < TABLE_SWITCH_DAYS and measured == "standing":
        return height_cm + POSITION_CM
    if age_days >= TABLE_SWITCH_DAYS and measured == "lying":
        return height_cm - POSITION_CM
    return height_cm


def _by_age(name, sex, age_days, value, restricted):
    if value is None or value <= 0:
        return None
    row = table("who2006", name).get((sex, age_days))
    if row is None:
        return None
    return (lms.zscore_restricted if restricted else lms.zscore)(value, row)


def weight_for_length_height_lms(sex, age_days, length_height_cm):
    """(table name, LMS) for a converted length/height, interpolated between the 0.1 cm rows;
    None outside the table's range."""
    name, (low_cm, high_cm) = (("wflanthro", WFL_RANGE_CM) if age_days < TABLE_SWITCH_DAYS
                               else ("wfhanthro", WFH_RANGE_CM))
    if not low_cm <= length_height_cm <= high_cm:
        return None
    rows = table("who2006", name)
    low = math.trunc(length_height_cm * 10)
    fraction = (length_height_cm - low / 10) / 0.1
    below = rows[(sex, low)]
    above = rows.get((sex, low + 1), below)
    return name, lms.interpolate(below, above, fraction)


def _weight_for_length_height(sex, age_days, weight_kg, length_height_cm):
    if weight_kg is None or weight_kg <= 0 or length_height_cm is None:
        return None
    found = weight_for_length_height_lms(sex, age_days, length_height_cm)
    return None if found is None else lms.zscore_restricted(weight_kg, found[1])


def raw_zscores(sex, age_days, weight_kg=None, height_cm=None, measured_lying=None,
                head_circumference_cm=None, oedema=False):
    """{key: unrounded z or None}; all None for an unknown sex or an age outside 0-1856 days."""
    code = SEX_CODES.get(sex)
    if code is None or age_days is None or age_days < 0:
        return dict.fromkeys(KEYS)
    age_days = whole_days(age_days)
    if age_days > MAX_AGE_DAYS:
        return dict.fromkeys(KEYS)
    length_height = adjusted_length_height(age_days, height_cm, measured_lying)
    weight = None if oedema else weight_kg
    bmi = None
    if weight is not None and length_height is not None and length_height > 0:
        bmi = weight / (length_height / 100) ** 2
    return {
        "z_wfa": _by_age("weianthro", code, age_days, weight, restricted=True),
        "z_lhfa": _by_age("lenanthro", code, age_days, length_height, restricted=False),
        "z_wflh": _weight_for_length_height(code, age_days, weight, length_height),
        "z_bmi": _by_age("bmianthro", code, age_days, bmi, restricted=True),
        "z_hcfa": _by_age("hcanthro", code, age_days, head_circumference_cm, restricted=False),
    }


def flagged(key, z):
    low, high = FLAGS[key]
    return z is not None and (z < low or z > high)
