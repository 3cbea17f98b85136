"""At ingest: a growth measurement WHO would flag as implausible is refused, with its z-score named, unless
the sender says the measurement was re-checked (payload `rechecked: true`); then it is taken as real.

The child's age is the measurement's date in Asia/Bangkok less the birth date, as the referral service
counts it. An occurred_at before the birth date is left to the date check (no age, no z-scores here).
"""

import datetime as dt

from . import zscores
from .who2006 import FLAGS

BANGKOK = dt.timezone(dt.timedelta(hours=7))  # Thailand keeps no daylight saving time
GROWTH_TYPE = ("health", "child.growth_measured")
INDICATORS = {  # z key: (payload field it is refused on, name)
    "z_wfa": ("weight_kg", "weight-for-age"),
    "z_lhfa": ("height_cm", "length/height-for-age"),
    "z_wflh": ("weight_kg", "weight-for-length/height"),
    "z_bmi": ("weight_kg", "BMI-for-age"),
    "z_hcfa": ("head_circumference_cm", "head circumference-for-age"),
}


def _limits(key):
    low, high = FLAGS[key]
    return f"below {low} or above +{high}"


def age_in_days(occurred_at, birth_date):
    """Days from the birth date to the measurement's Bangkok date."""
    return (occurred_at.astimezone(BANGKOK).date() - birth_date).days


def implausible_growth(department, type_, envelope, payload):
    """{"payload.<field>": [message, ...]} for each z-score beyond WHO's limits; {} when plausible,
    re-checked, or not a growth measurement."""
    if (department, type_) != GROWTH_TYPE or payload.get("rechecked"):
        return {}
    child = (envelope.get("subject") or {}).get("child") or {}
    occurred_at, birth_date = envelope.get("occurred_at"), child.get("birth_date")
    if not isinstance(occurred_at, dt.datetime) or not isinstance(birth_date, dt.date):
        return {}
    age = age_in_days(occurred_at, birth_date)
    if age < 0:
        return {}
    z, implausible = zscores(child.get("sex"), age, payload.get("weight_kg"), payload.get("height_cm"),
                             payload.get("measured_lying"), payload.get("head_circumference_cm"))
    errors = {}
    for key, (field, name) in INDICATORS.items():
        if implausible[key]:
            errors.setdefault(f"payload.{field}", []).append(
                f"{name} z-score {z[key]:+.2f} at {age} days is beyond WHO's plausibility limits "
                f"({_limits(key)}); re-check the measurement and, if it is right, send it with "
                f"payload.rechecked = true")
    return errors
