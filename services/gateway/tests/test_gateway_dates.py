"""Dates on display: Bangkok time, Buddhist era, Thai month names."""

import datetime as dt

from childlink_gateway.dates import age_in_months, age_text, format_date, format_datetime


def test_buddhist_era_is_the_common_era_plus_543():
    assert format_date("2024-03-15", "th", "be") == "15 มี.ค. 2567"
    assert format_date("2024-03-15", "en", "be") == "15 Mar 2567 BE"
    assert format_date("2024-03-15", "en", "ce") == "15 Mar 2024"
    assert format_date("2024-03-15", "th", "ce") == "15 มี.ค. ค.ศ. 2024"


def test_instants_are_shown_in_bangkok_time():
    # 20:30 UTC on 31 Dec is 03:30 on 1 Jan in Bangkok: a new day, a new year
    assert format_datetime("2025-12-31T20:30:00.000000Z", "th", "be") == "1 ม.ค. 2569 03:30"
    assert format_datetime("2025-12-31T20:30:00Z", "en", "ce") == "1 Jan 2026 03:30"
    assert format_date("2025-06-01T09:00:00+07:00", "en", "ce") == "1 Jun 2025"
    assert format_date(dt.datetime(2025, 6, 1, 1, 0, tzinfo=dt.UTC), "en", "ce") == "1 Jun 2025"


def test_what_is_not_a_date_is_shown_as_it_is():
    assert format_date(None) == ""
    assert format_date("") == ""
    assert format_date("soon") == "soon"
    assert format_datetime("2025-06-01", "en", "ce") == "1 Jun 2025"


def test_age_in_whole_months_and_in_words():
    assert age_in_months("2024-03-15", "2025-03-14") == 11
    assert age_in_months("2024-03-15", "2025-03-15") == 12
    assert age_in_months("2024-03-15", "2026-05-20") == 26
    assert age_in_months(None, "2025-01-01") is None
    assert age_text(26, "th") == "2 ปี 2 เดือน"
    assert age_text(26, "en") == "2 y 2 m"
    assert age_text(5, "th") == "5 เดือน"
    assert age_text(None) == ""
