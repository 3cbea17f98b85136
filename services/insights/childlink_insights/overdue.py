"""Children with an overdue dose, at the end of each month: the months in which a child is past a dose's
overdue day without a record of it, against the Thai EPI schedule (childlink_contracts.epi_schedule, the
table the referral service's reminders read) and with the reminders' timing
(childlink_referral.rules.immunisation):

- a dose is overdue from its window's end plus GRACE_DAYS, until the day it is recorded as given, and at
  the latest until the dose's last age: 72 months (REMINDER_UNTIL_MONTHS), or the rotavirus product's
  maximum age (a series not started by dose 1's maximum age is not overdue at all after it);
- HBV2 counts only for an infant of an HBsAg-positive mother; rotavirus follows the product recorded
  (Rotarix 2 doses, RotaTeq 3, unknown 2);
- only a child a health centre follows (some standing health event): without one nothing is known of the
  child's vaccinations, as for the reminders.

A child is counted in month M when some dose is overdue on M's last day (Bangkok). The months come back as
spans, so a child overdue for years costs two cells, not one a month (childlink_insights.facts keeps them
as +1/-1 changes; the indicator sums the changes up to the month).
"""

import datetime as dt

from childlink_contracts.epi_schedule import (
    ALIASES,
    GRACE_DAYS,
    REMINDER_UNTIL_MONTHS,
    ROTAVIRUS,
    ROTAVIRUS_FIRST_DOSE_MAX_DAYS,
    THAI_EPI,
)
from childlink_contracts.vaccine_codes import rotavirus_product

from .calendar import add_months


def month_index(day):
    return day.year * 12 + day.month - 1


def index_month(index):
    year, month = divmod(index, 12)
    return f"{year:04d}-{month + 1:02d}"


def _given(health):
    """{(vaccine, dose): the earliest day it is recorded as given} and the rotavirus product recorded."""
    given, product = {}, None
    for event in health:
        if event["type"] != "child.immunised":
            continue
        key = (event["p"].get("vaccine"), event["p"].get("dose"))
        day = dt.date.fromisoformat(event["date"])
        if key not in given or day < given[key]:
            given[key] = day
    for (vaccine, _), code in sorted(_rota_codes(health).items()):
        if vaccine == "ROTA" and rotavirus_product(code):
            product = rotavirus_product(code)
            break
    return given, product


def _rota_codes(health):
    codes = {}
    for event in health:
        p = event["p"]
        if event["type"] == "child.immunised" and p.get("vaccine") == "ROTA" and p.get("vaccine_code"):
            codes.setdefault((p["vaccine"], p.get("dose")), p["vaccine_code"])
    return codes


def _last_day(birth, vaccine, dose, product, rota_started):
    """The first day the dose is no longer overdue for want of it: its last age."""
    if vaccine != "ROTA":
        return add_months(birth, REMINDER_UNTIL_MONTHS)
    first_dose_limit = birth + dt.timedelta(days=ROTAVIRUS_FIRST_DOSE_MAX_DAYS)
    if dose == 1 or not rota_started:
        return first_dose_limit
    return birth + dt.timedelta(days=ROTAVIRUS[product]["last_dose_max_days"])


def overdue_spans(birth, health):
    """[(first, last)] month indices (inclusive, merged, in order) in which the child has an overdue dose
    at the month's end. `health`: the child's standing health events (compact, oldest first)."""
    if not health:
        return []
    given, product = _given(health)
    hbsag_positive = any(e["type"] == "child.registered" and e["p"].get("mother_hbsag_positive") for e in health)
    rota_started = ("ROTA", 1) in given
    spans = []
    for slot in THAI_EPI:
        if slot.get("only_if") == "mother_hbsag_positive" and not hbsag_positive:
            continue
        overdue_from = add_months(birth, slot["window_end_months"]) + dt.timedelta(days=GRACE_DAYS)
        for vaccine, dose in slot["doses"]:
            if vaccine == "ROTA" and dose > ROTAVIRUS[product]["doses"]:
                continue
            days = [given[key] for key in ((vaccine, dose), *ALIASES.get((vaccine, dose), ())) if key in given]
            end = min([*days, _last_day(birth, vaccine, dose, product, rota_started)])
            # overdue on a month's last day D when overdue_from <= D < end
            first, last = month_index(overdue_from), month_index(end) - 1
            if first <= last:
                spans.append((first, last))
    merged = []
    for first, last in sorted(spans):
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged
