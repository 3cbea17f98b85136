"""Instants and dates as the referral service keeps them: aware UTC datetimes inside, sortable strings outside."""

import datetime as dt

UTC = dt.UTC
BANGKOK = dt.timezone(dt.timedelta(hours=7))
FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def utc_now():
    return dt.datetime.now(UTC)


def iso(moment: dt.datetime) -> str:
    """The stored form: UTC, microseconds, a Z; strings of this form sort as the instants do."""
    return moment.astimezone(UTC).strftime(FORMAT)


def parse_instant(text: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"instant without a timezone: {text!r}")
    return parsed.astimezone(UTC)


def bangkok_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(BANGKOK).date()


def start_of_bangkok_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=BANGKOK).astimezone(UTC)


def add_months(day: dt.date, months: int) -> dt.date:
    """Calendar months; the 31st of a shorter month becomes its last day."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")
