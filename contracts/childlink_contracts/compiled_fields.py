"""What each marshmallow field of the contracts does to a plainly valid JSON value, as one function.

`converter(field)` returns `convert(raw) -> (loaded, dumped)`: the value `field.deserialize` would
return and the value the field's `_serialize` would then write, in one step, the field's own validators
run on the loaded value (the validator objects themselves, so "not in the future" keeps its clock and
tolerance, and a message would be theirs). Anything not plainly valid raises GiveUp: the caller then
lets marshmallow load the whole schema, so refusals stay marshmallow's. A field class it does not know
(or a subclass of one it knows) gets None: the caller loads and dumps that field with the field itself.

Each converter copies one marshmallow 4 method; the differential test (contracts/tests/
test_contracts_compiled.py) holds them to marshmallow's answers on every simulated event and thousands
of broken ones.
"""

import datetime as dt
import math
import uuid

from marshmallow import ValidationError, fields
from marshmallow.validate import Validator

from .fields import PastDate, PastInstant, StrictBoolean, StrictFloat


class GiveUp(Exception):
    """Not plainly valid: marshmallow decides (and words the errors)."""


def _validator(field):
    """The field's validators as one check (marshmallow's And: a plain function returning False fails)."""
    validators = list(field.validators)
    if not validators:
        return None
    if len(validators) == 1 and isinstance(validators[0], Validator):  # the usual case, one call less
        validate = validators[0]

        def check_one(value):
            try:
                validate(value)
            except ValidationError as exc:
                raise GiveUp from exc

        return check_one

    def check(value):
        for validate in validators:
            try:
                result = validate(value)
            except ValidationError as exc:
                raise GiveUp from exc
            if result is False and not isinstance(validate, Validator):
                raise GiveUp

    return check


def _plain(field, kind):
    """`field` is exactly `kind`, validated by Field's own _validate, no pre/post-load functions."""
    return (type(field) is kind and type(field)._validate is fields.Field._validate
            and not field.pre_load and not field.post_load)


def plain_text(field):
    """A fields.String whose load and dump are String's own (a subclass adding validators only)."""
    kind = type(field)
    return (isinstance(field, fields.String) and kind.deserialize is fields.Field.deserialize
            and kind._deserialize is fields.String._deserialize and kind._validate is fields.Field._validate
            and kind.serialize is fields.Field.serialize and kind._serialize is fields.String._serialize
            and not field.pre_load and not field.post_load)


def text_check(field):
    """(True, the validators' check or None) for a plain text field; (False, None) for any other."""
    if plain_text(field):
        return True, _validator(field)
    return False, None


def _checked(check, convert):
    if check is None:
        return convert

    def convert_and_check(raw):
        loaded, dumped = convert(raw)
        check(loaded)
        return loaded, dumped

    return convert_and_check


def _text(raw):
    if type(raw) is not str:
        raise GiveUp
    return raw, raw


def _integer(raw):
    if type(raw) is not int:  # int(raw) is raw itself, strict or not; a bool is not an int here
        raise GiveUp
    return raw, raw


def _float(allow_nan):
    def convert(raw):
        kind = type(raw)
        if kind is int:
            try:
                raw = float(raw)
            except OverflowError as exc:
                raise GiveUp from exc
        elif kind is not float:
            raise GiveUp
        if not allow_nan and not math.isfinite(raw):
            raise GiveUp
        return raw, raw

    return convert


def _boolean(raw):
    if type(raw) is not bool:
        raise GiveUp
    return raw, raw


def _uuid(raw):
    if type(raw) is not str:
        raise GiveUp
    try:
        value = uuid.UUID(raw)
    except (ValueError, AttributeError, TypeError) as exc:
        raise GiveUp from exc
    return value, str(value)


def _aware_instant(raw):
    if type(raw) is not str:
        raise GiveUp
    try:
        value = dt.datetime.fromisoformat(raw)
    except (TypeError, AttributeError, ValueError) as exc:
        raise GiveUp from exc
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:  # utils.is_aware
        raise GiveUp
    return value, value.isoformat()


def _date(raw):
    if type(raw) is not str:
        raise GiveUp
    try:
        value = dt.date.fromisoformat(raw)
    except (TypeError, AttributeError, ValueError) as exc:
        raise GiveUp from exc
    return value, value.isoformat()


def _iso(field):
    return field.format in ("iso", "iso8601")


def _list(inner):
    def convert(raw):
        if type(raw) is not list:
            raise GiveUp
        loaded, dumped = [], []
        for item in raw:
            if item is None:
                raise GiveUp
            one, written = inner(item)
            loaded.append(one)
            dumped.append(written)
        return loaded, dumped

    return convert


def _mapping(key, value):
    def convert(raw):
        if type(raw) is not dict:
            raise GiveUp
        if key is None and value is None:  # Mapping: mapping_type(value) on load and again on dump
            loaded = dict(raw)
            return loaded, dict(loaded)
        loaded, dumped = {}, {}
        for name, item in raw.items():
            if key is not None:
                key(name)  # a plain text key: loaded and written as it came
            if value is None:
                loaded[name] = dumped[name] = item
                continue
            if item is None:
                raise GiveUp
            loaded[name], dumped[name] = value(item)
        return loaded, dumped

    return convert


def converter(field, nested_plan):
    """`convert(raw) -> (loaded, dumped)` for `field`, or None when the field is not one known here.

    `nested_plan(field)` gives a Nested field's schema plan (an object with `check`), or raises."""
    check = _validator(field)
    if field.pre_load or field.post_load:
        return None
    if plain_text(field):
        return _checked(check, _text)
    if isinstance(field, fields.Nested) and type(field) is fields.Nested:
        plan = nested_plan(field)

        def nested(raw):
            if type(raw) is not dict:
                raise GiveUp
            return plan.check(raw)

        return _checked(check, nested)
    if getattr(field, "as_string", False):
        return None
    simple = None
    if _plain(field, fields.Integer):
        simple = _integer
    elif _plain(field, fields.Float) or _plain(field, StrictFloat):
        simple = _float(field.allow_nan)
    elif _plain(field, StrictBoolean):
        simple = _boolean
    elif _plain(field, fields.UUID):
        simple = _uuid
    elif (_plain(field, PastInstant) or _plain(field, fields.AwareDateTime)) and _iso(field) \
            and field.default_timezone is None:
        simple = _aware_instant
    elif (_plain(field, PastDate) or _plain(field, fields.Date)) and _iso(field):
        simple = _date
    elif _plain(field, fields.List):
        inner = converter(field.inner, nested_plan)
        simple = None if inner is None else _list(inner)
    elif _plain(field, fields.Dict):
        key = value = None
        if field.key_field is not None:
            if not plain_text(field.key_field):
                return None
            key = converter(field.key_field, nested_plan)
        if field.value_field is not None:
            value = converter(field.value_field, nested_plan)
            if value is None:
                return None
        simple = _mapping(key, value)
    return None if simple is None else _checked(check, simple)
