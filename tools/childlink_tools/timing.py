"""Dates and times in Bangkok (UTC+07:00 all year, no daylight saving) for the simulator."""

import calendar
import datetime as dt

BANGKOK = dt.timezone(dt.timedelta(hours=7), "Asia/Bangkok")
DAY = dt.timedelta(days=1)
MINUTE = dt.timedelta(minutes=1)


def bangkok_now(now=None):
    """`now` as an aware Bangkok time to the second; a naive `now` is taken as Bangkok time."""
    now = now or dt.datetime.now(BANGKOK)
    if now.tzinfo is None:
        now = now.replace(tzinfo=BANGKOK)
    return now.astimezone(BANGKOK).replace(microsecond=0)


def add_months(day, months):
    """The same day of the month `months` later, or that month's last day when it is shorter."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def age_years(birth, on):
    """Completed years of age on the date `on`."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def age_months(birth, on):
    """Age in months, with a fraction, as growth tables use it."""
    return (on - birth).days / 30.4375


def at(day, rng, start_hour=8.5, end_hour=16.0):
    """A time during office hours on `day`, in Bangkok."""
    seconds = int(rng.uniform(start_hour, end_hour) * 3600)
    return dt.datetime.combine(day, dt.time(), BANGKOK) + dt.timedelta(seconds=seconds)


def month_starts(first, last):
    """The first day of each month from the month of `first` to the month of `last`."""
    day = first.replace(day=1)
    while day <= last:
        yield day
        day = add_months(day, 1)


def weekdays(first, last):
    """Monday-to-Friday days from `first` to `last`, both included."""
    return sum(1 for n in range((last - first).days + 1) if (first + n * DAY).weekday() < 5)


def stamp(moment):
    return moment.isoformat(timespec="seconds")
