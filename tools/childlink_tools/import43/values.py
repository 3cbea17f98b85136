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


def bangkok_iso(day):
    """A service date as the instant the day began in Bangkok (the files carry no time of service)."""
    return dt.datetime.combine(day, dt.time(), BANGKOK).isoformat()
