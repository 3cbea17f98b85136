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
    """{(vaccine, dose): the earliest day it is recorded as given}, the rotavirus product recorded (from its
    43-file code, as the reminders read it) and whether the mother is HBsAg-positive."""
    given, rota_codes, hbsag_positive = {}, {}, False
    for event in health:
        kind = event["type"]
        if kind == "child.immunised":
            p = event["p"]
            key = (p.get("vaccine"), p.get("dose"))
            day = dt.date.fromisoformat(event["date"])
            if key not in given or day < given[key]:
                given[key] = day
            if key[0] == "ROTA" and p.get("vaccine_code"):
                rota_codes.setdefault(key, p["vaccine_code"])
        elif kind == "child.registered" and event["p"].get("mother_hbsag_positive"):
            hbsag_positive = True
    product = next((rotavirus_product(code) for _, code in sorted(rota_codes.items(), key=lambda item: str(item[0]))
                    if rotavirus_product(code)), None)
    return given, product, hbsag_positive


# the schedule flattened once: (slot's window end in months, only_if, vaccine, dose, the keys that count as it)
DOSES = tuple((slot["window_end_months"], slot.get("only_if"), vaccine, dose,
               ((vaccine, dose), *ALIASES.get((vaccine, dose), ())))
              for slot in THAI_EPI for vaccine, dose in slot["doses"])
GRACE = dt.timedelta(days=GRACE_DAYS)


def overdue_spans(birth, health):
    """[(first, last)] month indices (inclusive, merged, in order) in which the child has an overdue dose
    at the month's end. `health`: the child's standing health events (compact, oldest first)."""
    if not health:
        return []
    given, product, hbsag_positive = _given(health)
    # the first day each dose is no longer overdue for want of it: its last age
    until = add_months(birth, REMINDER_UNTIL_MONTHS)
    rota_first = birth + dt.timedelta(days=ROTAVIRUS_FIRST_DOSE_MAX_DAYS)
    rota_later = (birth + dt.timedelta(days=ROTAVIRUS[product]["last_dose_max_days"]) if ("ROTA", 1) in given
                  else rota_first)  # a series not started by dose 1's maximum age is not started at all
    rota_doses = ROTAVIRUS[product]["doses"]
    overdue_from = {}
    spans = []
    for window_end, only_if, vaccine, dose, keys in DOSES:
        if only_if == "mother_hbsag_positive" and not hbsag_positive:
            continue
        if vaccine == "ROTA":
            if dose > rota_doses:
                continue
            last_age = rota_first if dose == 1 else rota_later
        else:
            last_age = until
        if window_end not in overdue_from:
            overdue_from[window_end] = month_index(add_months(birth, window_end) + GRACE)
        end = last_age
        for key in keys:
            if key in given and given[key] < end:
                end = given[key]
        # overdue on a month's last day D when overdue_from <= D < end
        first, last = overdue_from[window_end], month_index(end) - 1
        if first <= last:
            spans.append((first, last))
    merged = []
    for first, last in sorted(spans):
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged
