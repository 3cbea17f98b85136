"""A faster `schema.load` / `schema.dump` for the contracts' marshmallow schemas, made from them.

marshmallow stays the one source: each field is still loaded and dumped by its own marshmallow
field object (`field.deserialize`, `field.serialize`, the field's validators, the schema's
`@validates_schema` hooks); what is replaced is the Schema machinery around them (error store,
partial and hook dispatch, per-call option resolution), which was most of the contract check's cost
(~0.6 ms of an event's ~1 ms, profiled on the first-load mix).

It is an accept-only fast path. `load(schema, data)` walks the compiled plan; the moment anything is
not plainly valid (a field error, a missing required field, an unknown key, a null, a type it does
not know) it gives up and returns `schema.load(data)`, so every refusal, and its error messages, is
marshmallow's own. A schema using anything the plan does not cover (pre/post hooks, field-level
`@validates`, data_key, partial, only/exclude, many) is not compiled at all: marshmallow loads it.
So a schema someone extends later is at worst loaded the slow way, never differently.

CONTRACTS_COMPILED=0 turns the fast path off (the tests compare both on every simulated event).
"""

import os

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields
from marshmallow.decorators import (
    POST_DUMP,
    POST_LOAD,
    PRE_DUMP,
    PRE_LOAD,
    VALIDATES,
    VALIDATES_SCHEMA,
)
from marshmallow.utils import missing

ENABLED = os.environ.get("CONTRACTS_COMPILED", "1") not in ("0", "false", "no")


class _GiveUp(Exception):
    """Not plainly valid: marshmallow decides (and words the errors)."""


class _Plan:
    def __init__(self, schema):
        self.schema = schema
        self.unknown = schema.unknown
        self.load_fields = []  # (name, field, nested plan or None, plain text field)
        for name, field in schema.load_fields.items():
            self.load_fields.append((name, field, _nested_plan(field), _plain_text(field)))
        self.known = {name for name, _field, _nested, _text in self.load_fields}
        self.dump_fields = [(name, field, _nested_plan(field), _plain_text(field))
                            for name, field in schema.dump_fields.items()]
        self.schema_validators = [(getattr(schema, attr), kwargs.get("pass_original", False))
                                  for attr, _many, kwargs in schema._hooks[VALIDATES_SCHEMA]]

    def load(self, data):
        if type(data) is not dict:
            raise _GiveUp
        result = {}
        for name, field, nested, text in self.load_fields:
            raw = data.get(name, missing)
            if raw is None:
                raise _GiveUp  # null: allow_none and its load_default are marshmallow's to settle
            if text and type(raw) is str:  # what String.deserialize does with text: validate it
                try:
                    field._validate(raw)
                except ValidationError as exc:
                    raise _GiveUp from exc
                result[name] = raw
                continue
            if nested is not None:
                if raw is missing:
                    if field.required or field.load_default is not missing:
                        raise _GiveUp
                    continue
                value = nested.load(raw)
                if field.validators:
                    try:
                        field._validate(value)
                    except ValidationError as exc:
                        raise _GiveUp from exc
            else:
                try:
                    value = field.deserialize(raw, name, data)
                except ValidationError as exc:
                    raise _GiveUp from exc
            if value is not missing:
                result[name] = value
        if self.unknown == RAISE and not self.known.issuperset(data):
            raise _GiveUp
        for validator, pass_original in self.schema_validators:
            try:
                if pass_original:
                    validator(result, data, partial=None, many=False, unknown=self.unknown)
                else:
                    validator(result, partial=None, many=False, unknown=self.unknown)
            except ValidationError as exc:
                raise _GiveUp from exc
        return result

    def dump(self, obj):
        result = {}
        for name, field, nested, text in self.dump_fields:
            if text:
                value = obj.get(name, missing)
                if type(value) is str:  # String.serialize of text is the text
                    result[name] = value
                    continue
            if nested is not None:
                value = obj.get(name, missing)
                if value is missing:
                    if field.dump_default is not missing:
                        raise _GiveUp
                    continue
                result[name] = None if value is None else nested.dump(value)
                continue
            value = field.serialize(name, obj)
            if value is not missing:
                result[name] = value
        return result


def _plain_text(field):
    """A fields.String whose load and dump are String's own, no field-level pre/post functions."""
    kind = type(field)
    return (isinstance(field, fields.String) and kind.deserialize is fields.Field.deserialize
            and kind._deserialize is fields.String._deserialize and kind._validate is fields.Field._validate
            and kind.serialize is fields.Field.serialize and kind._serialize is fields.String._serialize
            and not getattr(field, "pre_load", None) and not getattr(field, "post_load", None))


def _nested_plan(field):
    """The plan of a plain Nested field's schema; None for any other field (loaded by the field)."""
    if not isinstance(field, fields.Nested):
        return None
    if field.many or field.only is not None or field.exclude or field.unknown is not None:
        raise _NotCompilable
    return _plan_of(field.schema)


class _NotCompilable(Exception):
    pass


def _compilable(schema):
    if schema.many or schema.partial or schema.only is not None or schema.exclude:
        return False
    if schema.unknown not in (RAISE, EXCLUDE):  # INCLUDE: marshmallow adds unknown keys in set order
        return False
    hooks = schema._hooks
    if any(hooks[tag] for tag in (PRE_LOAD, POST_LOAD, PRE_DUMP, POST_DUMP, VALIDATES)):
        return False
    if any(many for _attr, many, _kwargs in hooks[VALIDATES_SCHEMA]):
        return False
    for name, field in schema.fields.items():
        if field.data_key is not None or (field.attribute not in (None, name)):
            return False
        if field.load_only or field.dump_only:
            return False
    return True


_PLANS = {}  # id(schema) -> (schema, its plan or None when it is not compilable)


def _plan_of(schema):
    key = id(schema)
    if key not in _PLANS:
        plan = None
        if isinstance(schema, Schema) and _compilable(schema):
            try:
                plan = _Plan(schema)
            except _NotCompilable:  # a nested schema is not
                plan = None
        _PLANS[key] = (schema, plan)  # the schema is kept, so its id is not reused
    plan = _PLANS[key][1]
    if plan is None:
        raise _NotCompilable
    return plan


def _compiled(schema):
    try:
        return _plan_of(schema)
    except _NotCompilable:
        return None


def load(schema, data):
    """`schema.load(data)`, faster when `data` is plainly valid; marshmallow's own answer otherwise."""
    plan = _compiled(schema) if ENABLED else None
    if plan is not None:
        try:
            return plan.load(data)
        except _GiveUp:
            pass
    return schema.load(data)


def dump(schema, obj):
    """`schema.dump(obj)` of what `load` returned."""
    plan = _compiled(schema) if ENABLED else None
    if plan is not None and type(obj) is dict:
        try:
            return plan.dump(obj)
        except _GiveUp:
            pass
    return schema.dump(obj)
