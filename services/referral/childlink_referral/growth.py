"""WHO z-scores and reference curves for the referral service, over childlink_contracts.growth.

childlink_contracts.growth is our own implementation of WHO's algorithm (anthro / igrowup for the 2006
standards to 61 months, the 2007 reference to 72 months) over WHO's published LMS tables; ingest uses
the same module to refuse implausible values, so both sides agree on every z-score.
"""

import math
from functools import lru_cache

from childlink_contracts import growth as who
from childlink_contracts.growth import lms, tables, who2006

Z_KEYS = who.KEYS  # z_wfa, z_lhfa, z_wflh, z_bmi, z_hcfa
RULE_KEYS = ("z_wfa", "z_lhfa", "z_wflh")  # what the growth rules look at
SD_LINES = (-3, -2, 0, 2, 3)
Z_BANDS = [
    {"band": "severe", "below": -3},
    {"band": "moderate", "from": -3, "below": -2},
    {"band": "normal", "from": -2, "to": 2},
    {"band": "high", "above": 2},
]
DAYS_PER_MONTH = who2006.DAYS_PER_MONTH


# The rules compute every measurement's z-scores again at each evaluation of its child (after every
# event): remembered by their exact inputs, the latest 20,000 (~1 KiB each, ~20 MiB when full).
MEMO_SIZE = 20_000
# Inputs a key holds as they are: hashable, and equal only when WHO's code computes the same with them.
# A key also names each input's type (70 and 70.0, True and 1 stay apart); a zero (0.0 equals -0.0)
# or a NaN (not equal to itself) is not remembered: computed each time.
_KEYABLE = frozenset({type(None), bool, int, float, str})


def zscores(sex, age_days, weight_kg, height_cm, measured_lying=None, head_circumference_cm=None):
    """({z_key: z or None}, {z_key: implausible?}) for one measurement; all None past 72 months.
    Exactly `childlink_contracts.growth.zscores` (remembered, see MEMO_SIZE); the dicts are the caller's."""
    inputs = (sex, age_days, weight_kg, height_cm, measured_lying, head_circumference_cm)
    for value in inputs:
        if type(value) not in _KEYABLE or (type(value) is float and (not value or math.isnan(value))):
            return who.zscores(*inputs)
    z, implausible = _remembered(inputs, tuple(map(type, inputs)))
    return dict(z), dict(implausible)


@lru_cache(maxsize=MEMO_SIZE)
def _remembered(inputs, types):  # `types` in the key: lru_cache would take 1 for True and 1.0 for 1
    return who.zscores(*inputs)


def band(z, implausible=False):
    if z is None:
        return None
    if implausible:
        return "implausible"
    if z < -3:
        return "severe"
    if z < -2:
        return "moderate"
    if z > 2:
        return "high"
    return "normal"


def as_plotted(age_days, height_cm, measured_lying):
    """(length/height in cm as WHO computes with it, "length" or "height"), or (None, None): where a
    measurement goes on the charts (a child under 2 measured standing is drawn 0.7 cm longer)."""
    if age_days is None or height_cm is None:
        return None, None
    if who.reference_for(age_days) != "who2006":
        return (height_cm - who2006.POSITION_CM if measured_lying else height_cm), "height"
    days = who2006.whole_days(age_days)
    basis = "length" if days < who2006.TABLE_SWITCH_DAYS else "height"
    return round(who2006.adjusted_length_height(days, height_cm, measured_lying), 2), basis


def _sd(lms_row):
    return {str(z): round(lms.value_at(lms_row, z), 2) for z in SD_LINES}


def _by_age_rows(name, sex_code, from_day, to_day):
    rows = tables.table("who2006", name)
    months = range(math.ceil(from_day / DAYS_PER_MONTH), math.floor(to_day / DAYS_PER_MONTH) + 1)
    ages = {month: who2006.whole_days(month * DAYS_PER_MONTH) for month in months}  # month 24 -> day 731
    if name == "lenanthro" and from_day < who2006.TABLE_SWITCH_DAYS <= to_day:
        # the length table ends the day before the height table starts: draw the step at 24 months
        last_length_day = who2006.TABLE_SWITCH_DAYS - 1
        ages[round(last_length_day / DAYS_PER_MONTH, 3)] = last_length_day
    return [{"age_months": month, "sd": _sd(rows[(sex_code, day)])}
            for month, day in sorted(ages.items()) if (sex_code, day) in rows]


def _by_length_rows(name, sex_code, low_cm, high_cm):
    rows = tables.table("who2006", name)
    return [{"length_cm": tenth / 10, "sd": _sd(rows[(sex_code, tenth)])}
            for tenth in range(round(low_cm * 10), round(high_cm * 10) + 1, 5) if (sex_code, tenth) in rows]


def reference_curves(sex, from_month, to_month):
    """WHO's SD lines (-3, -2, 0, +2, +3) for the charts:
    {"weight_for_age" | "length_height_for_age": [{"age_months", "sd": {"-3": v, ..., "3": v}}],
     "weight_for_length" | "weight_for_height": [{"length_cm", "sd": {...}}]}, by whole month over
    [from_month, to_month] (within 0-60 months), the length-height step at 24 months drawn as two rows;
    weight-for-length over 45-110 cm and weight-for-height over 65-120 cm every 0.5 cm."""
    code = tables.SEX_CODES.get(sex)
    if code is None:
        return {}
    from_day = max(0.0, from_month) * DAYS_PER_MONTH
    to_day = min(60.0, to_month) * DAYS_PER_MONTH
    return {
        "weight_for_age": _by_age_rows("weianthro", code, from_day, to_day),
        "length_height_for_age": _by_age_rows("lenanthro", code, from_day, to_day),
        "weight_for_length": _by_length_rows("wflanthro", code, *who2006.WFL_RANGE_CM),
        "weight_for_height": _by_length_rows("wfhanthro", code, *who2006.WFH_RANGE_CM),
    }
