"""Clinical dates in Asia/Bangkok, months as "YYYY-MM" keys, and whole-month steps."""

import datetime as dt
from zoneinfo import ZoneInfo

BANGKOK = ZoneInfo("Asia/Bangkok")
SNAPSHOT = "*"  # the month key of figures that are a current state, not a month's events


def bangkok_date(instant):
    """The Bangkok calendar date of an ISO instant ("2026-01-31T17:30:00Z" is 1 February in Bangkok)."""
    when = dt.datetime.fromisoformat(str(instant))
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(BANGKOK).date()


def month_of(day):
    return f"{day.year:04d}-{day.month:02d}"


def add_months(day, months):
    """The same day `months` later, or the month's last day when it has no such day (31 Jan + 1 = 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    for candidate in range(day.day, 27, -1):
        try:
            return dt.date(year, month, candidate)
        except ValueError:
            continue
    return dt.date(year, month, min(day.day, 28))


def shift_month(month, months):
    year, number = (int(part) for part in month.split("-"))
    return month_of(add_months(dt.date(year, number, 1), months))


def months_back(month, count):
    """`count` month keys ending with `month`, oldest first."""
    return [shift_month(month, -offset) for offset in range(count - 1, -1, -1)]
