"""Dates on display: Bangkok time, Thai or English month names, Buddhist era (BE = CE + 543) or CE."""

import datetime as dt
import functools

BANGKOK = dt.timezone(dt.timedelta(hours=7), "ICT")
BE_OFFSET = 543
MONTHS = {
    "th": ("ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.", "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค."),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}


def parse(value):
    """A date or an aware datetime (in Bangkok time) from an ISO string, date or datetime; None if not one."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(BANGKOK) if value.tzinfo else value.replace(tzinfo=dt.UTC).astimezone(BANGKOK)
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text)
        moment = dt.datetime.fromisoformat(text)  # Python >= 3.11 reads a trailing Z
    except ValueError:
        return None
    return parse(moment)


def year_text(year, lang, era):
    if era == "be":
        return f"{year + BE_OFFSET}" if lang == "th" else f"{year + BE_OFFSET} BE"
    return f"ค.ศ. {year}" if lang == "th" else f"{year}"


def format_date(value, lang="th", era="be"):
    """'5 มี.ค. 2567' / '5 Mar 2024'. Text that is not a date is shown as it is."""
    if isinstance(value, str):
        return _format_text(value, lang, era, False)
    return _format_date(value, lang, era)


def format_datetime(value, lang="th", era="be"):
    if isinstance(value, str):
        return _format_text(value, lang, era, True)
    return _format_datetime(value, lang, era)


@functools.lru_cache(maxsize=4096)
def _format_text(value, lang, era, with_time):
    """A page shows the same instants many times (a timeline, a schedule): parse each once."""
    return (_format_datetime if with_time else _format_date)(value, lang, era)


def _format_date(value, lang, era):
    moment = parse(value)
    if moment is None:
        return "" if value in (None, "") else str(value)
    months = MONTHS.get(lang, MONTHS["en"])
    return f"{moment.day} {months[moment.month - 1]} {year_text(moment.year, lang, era)}"


def _format_datetime(value, lang, era):
    moment = parse(value)
    if not isinstance(moment, dt.datetime):
        return _format_date(value, lang, era)
    return f"{_format_date(moment, lang, era)} {moment:%H:%M}"


def age_in_months(birth, on):
    birth, on = parse(birth), parse(on)
    if birth is None or on is None:
        return None
    birth = birth.date() if isinstance(birth, dt.datetime) else birth
    on = on.date() if isinstance(on, dt.datetime) else on
    months = (on.year - birth.year) * 12 + on.month - birth.month - (1 if on.day < birth.day else 0)
    return max(months, 0)


def age_text(months, lang="th"):
    if months is None:
        return ""
    years, rest = divmod(months, 12)
    if lang == "th":
        return f"{years} ปี {rest} เดือน" if years else f"{rest} เดือน"
    return f"{years} y {rest} m" if years else f"{rest} m"


def today():
    return dt.datetime.now(BANGKOK).date()
