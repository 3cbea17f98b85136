"""Clinical checks at ingest that need more than one field: the event's date against the child's birth, the
DSPM age band against the child's age. Dates are the Bangkok calendar day of `occurred_at`: a visit at 00:30
Bangkok time is that Bangkok day, not the UTC day before.

Sources (see docs/clinical-rules.md, docs/reference.md):
- DSPM key ages and bands: คู่มือเฝ้าระวังและส่งเสริมพัฒนาการเด็กปฐมวัย (DSPM), กรมอนามัย; a child is
  screened with the form of the latest key age reached (9, 18, 30, 42, 60 months) and the manual's early
  childhood ends at 5 years 11 months 29 days, so no DSPM from 72 months.
"""

import datetime as dt

BANGKOK = dt.timezone(dt.timedelta(hours=7))
DSPM_KEY_AGES = (9, 18, 30, 42, 60)
DSPM_END_MONTHS = 72
# A re-screen repeats the first screen's form 30 days later; a child who crossed into the next band in
# between (or whose re-screen came late, up to the 30-day window plus 30 days) keeps the earlier band.
RESCREEN_CARRY_MONTHS = 2


def bangkok_day(moment):
    """The Bangkok calendar day of an aware datetime (a date is returned as it is)."""
    if isinstance(moment, dt.datetime):
        return moment.astimezone(BANGKOK).date()
    return moment


def completed_months(birth, on):
    """Age in completed months on a day (the 15th to the 14th is 0 months; the 31st to the 30th is 0)."""
    months = (on.year - birth.year) * 12 + on.month - birth.month - (1 if on.day < birth.day else 0)
    return max(months, 0)


def dspm_band_for(birth, on):
    """The DSPM band (key age in months) of a child of `birth` on day `on`, or None (under 9 or 72+ months)."""
    months = completed_months(birth, bangkok_day(on))
    if months >= DSPM_END_MONTHS:
        return None
    reached = [age for age in DSPM_KEY_AGES if age <= months]
    return reached[-1] if reached else None


def _band_range(band):
    later = [age for age in DSPM_KEY_AGES if age > band]
    return f"{band}-{(later[0] if later else DSPM_END_MONTHS) - 1} months"


def dspm_band_error(birth, occurred_at, band, rescreen):
    """What is wrong with screening a child of `birth` at `occurred_at` with the `band` form, or None."""
    on = bangkok_day(occurred_at)
    months = completed_months(birth, on)
    if months >= DSPM_END_MONTHS:
        return (f"no DSPM screening from 72 months: the child is {months} months old on {on.isoformat()} "
                f"(DSPM covers early childhood, birth to 5 years 11 months 29 days)")
    fits = dspm_band_for(birth, on)
    if fits is None:
        return (f"the child is {months} months old on {on.isoformat()}: the first DSPM band is 9 months "
                f"(9-17 months)")
    if band == fits:
        return None
    if rescreen and band < fits and band == DSPM_KEY_AGES[DSPM_KEY_AGES.index(fits) - 1] \
            and months < fits + RESCREEN_CARRY_MONTHS:
        return None
    return (f"a {band}-month DSPM screening does not fit a child of {months} months on {on.isoformat()}: "
            f"the band is the latest key age reached, {fits} ({_band_range(fits)})")


def clinical_errors(envelope):
    """{field path: [message]} for a loaded envelope (with its loaded payload); {} when all is well."""
    child = (envelope.get("subject") or {}).get("child") or {}
    birth, occurred = child.get("birth_date"), envelope.get("occurred_at")
    if not isinstance(birth, dt.date) or not isinstance(occurred, dt.datetime):
        return {}
    errors = {}
    on = bangkok_day(occurred)
    if on < birth:
        errors["occurred_at"] = [f"{on.isoformat()} (Bangkok) is before the child's birth_date {birth.isoformat()}"]
        return errors
    payload = envelope.get("payload") or {}
    source = envelope.get("source") or {}
    if (source.get("department"), envelope.get("type")) == ("health", "child.screened") \
            and isinstance(payload.get("age_band_months"), int):
        wrong = dspm_band_error(birth, occurred, payload["age_band_months"], bool(payload.get("rescreen")))
        if wrong:
            errors["payload.age_band_months"] = [wrong]
    return errors
