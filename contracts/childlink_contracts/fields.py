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


class FullMatch(validate.Regexp):
    """`validate.Regexp`, but the whole value must match.

    `Regexp` uses `re.match`, where `$` also matches before a trailing newline, so `^...$`
    let "C-001\\n" through; `fullmatch` does not. The pattern stays plain `^...$`, which means
    the same thing in the generated JSON Schemas (ECMA-262 `$` is end of input).
    """

    def __call__(self, value):
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


class StrictFloat(fields.Float):
    """A JSON number only: `fields.Float` would also take "12.4" (and the JSON Schema says number)."""

    def _validated(self, value):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


class StrictBoolean(fields.Boolean):
    """JSON true or false only: `fields.Boolean` would also take "yes", "on", "t" and 1."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


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
        validate=FullMatch(rf"^[A-Za-z0-9][A-Za-z0-9._:/-]{{0,{max_length - 1}}}$"), **kwargs
    )


def text(max_length=200, **kwargs):
    return fields.String(validate=validate.Length(min=1, max=max_length), **kwargs)
