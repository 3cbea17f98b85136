"""Field types shared by every schema."""

import datetime as dt

from marshmallow import ValidationError, fields, validate

from .national_id import is_valid_national_id

DISTRICT_CODES = [str(code) for code in range(1001, 1051)]

# A department clock may run a little fast; anything further ahead is a wrong date, not skew.
FUTURE_SKEW = dt.timedelta(minutes=5)
# Bangkok's records start well after this; a year like 2569 is a Buddhist-era year sent as Gregorian.
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
BUDDHIST_ERA_OFFSET = 543


def _not_future(value):
    now = dt.datetime.now(dt.UTC)
    if isinstance(value, dt.datetime):
        if value.year > now.year + 100:
            raise ValidationError(
                f"year {value.year} looks like a Buddhist-era year; send the Gregorian year "
                f"({value.year - BUDDHIST_ERA_OFFSET})"
            )
        if value > now + FUTURE_SKEW:
            raise ValidationError("must not be in the future")
        if value < EARLIEST:
            raise ValidationError("must not be before 2000-01-01")
    else:
        if value.year > now.year + 100:
            raise ValidationError(
                f"year {value.year} looks like a Buddhist-era year; send the Gregorian year "
                f"({value.year - BUDDHIST_ERA_OFFSET})"
            )
        if value > (now + FUTURE_SKEW).date():
            raise ValidationError("must not be in the future")
        if value < EARLIEST.date():
            raise ValidationError("must not be before 2000-01-01")


class PastInstant(fields.AwareDateTime):
    """An ISO-8601 instant with a timezone, not in the future, not a Buddhist-era year."""

    def __init__(self, **kwargs):
        super().__init__(format="iso", validate=_not_future, **kwargs)


class PastDate(fields.Date):
    def __init__(self, **kwargs):
        super().__init__(validate=_not_future, **kwargs)


class NationalId(fields.String):
    def __init__(self, **kwargs):
        super().__init__(validate=self._check, **kwargs)

    @staticmethod
    def _check(value):
        if not is_valid_national_id(value):
            raise ValidationError("not a valid Thai national ID (13 digits with a valid check digit)")


def district_code(**kwargs):
    return fields.String(validate=validate.OneOf(DISTRICT_CODES), **kwargs)


def code(max_length=64, **kwargs):
    """An identifier issued by a department system: short, printable, no spaces."""
    return fields.String(
        validate=validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,%d}$" % (max_length - 1)), **kwargs
    )


def text(max_length=200, **kwargs):
    return fields.String(validate=validate.Length(min=1, max=max_length), **kwargs)
