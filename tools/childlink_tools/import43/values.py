"""The 43-file value types: dates YYYYMMDD, times YYYYMMDDHHMMSS (Bangkok clock time), decimals."""

import datetime as dt
import math
from zoneinfo import ZoneInfo

BANGKOK = ZoneInfo("Asia/Bangkok")
BUDDHIST_ERA_FROM = 2400  # no Gregorian year in these files comes near; 2567 is a Buddhist-era 2024


class BadValue(ValueError):
    """A value the standard does not allow; the message says why, for the refusal report."""


def _check_year(year, text):
    if year >= BUDDHIST_ERA_FROM:
        raise BadValue(f"{text!r} has a Buddhist-era year {year}; the standard writes the Gregorian year "
                       f"({year - 543})")


def parse_date(text):
    """YYYYMMDD -> date."""
    if len(text) != 8 or not text.isdigit():
        raise BadValue(f"{text!r} is not a date YYYYMMDD")
    _check_year(int(text[:4]), text)
    try:
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise BadValue(f"{text!r} is not a calendar date") from None


def parse_instant(text):
    """YYYYMMDDHHMMSS (Bangkok time) -> aware datetime; a bare YYYYMMDD is taken as midnight."""
    if len(text) == 8:
        return dt.datetime.combine(parse_date(text), dt.time(), BANGKOK)
    if len(text) != 14 or not text.isdigit():
        raise BadValue(f"{text!r} is not a time YYYYMMDDHHMMSS")
    day = parse_date(text[:8])
    try:
        clock = dt.time(int(text[8:10]), int(text[10:12]), int(text[12:]))
    except ValueError:
        raise BadValue(f"{text!r} is not a time of day") from None
    return dt.datetime.combine(day, clock, BANGKOK)


def parse_decimal(text, unit):
    try:
        value = float(text)
    except ValueError:
        raise BadValue(f"{text!r} is not a number of {unit}") from None
    if not math.isfinite(value):
        raise BadValue(f"{text!r} is not a number of {unit}")
    return value


SERVICE_TIME = dt.time(12, 0)


def service_instant(day, now):
    """A service date (the files carry no time of service) as noon in Bangkok, or now if that is earlier:
    noon is the same calendar day in Bangkok and in UTC, so no reader of the UTC instant sees the day before."""
    return min(dt.datetime.combine(day, SERVICE_TIME, BANGKOK), now)
