"""A faster `schema.load` / `schema.dump` for the contracts' marshmallow schemas, made from them.

marshmallow stays the one source: the plan is made from the schema's fields, once. A field of a kind
compiled_fields knows (text, integers, floats, booleans, UUIDs, ISO instants and dates, lists, dicts,
nested schemas) is loaded and dumped in one step by a function copying what its marshmallow class
does, its own validator objects run on the loaded value; any other field by the field object itself
(`field.deserialize`, `field.serialize`); the schema's `@validates_schema` hooks as they are. What is
replaced is the Schema and Field machinery around them (error store, hook dispatch, per-call option
resolution, a new `And` per validated value), and the second walk `dump` made over what `load` made:
`check` returns both forms in one pass.

It is an accept-only fast path. `check(schema, data)` walks the compiled plan; the moment anything is
not plainly valid (a field error, a missing required field, an unknown key, a null, a type it does
not know) it gives up and returns `schema.load(data)` (and no dumped form), so every refusal, and its error messages, is
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

from .compiled_fields import GiveUp, converter, plain_text, text_check

ENABLED = os.environ.get("CONTRACTS_COMPILED", "1") not in ("0", "false", "no")


_GiveUp = GiveUp
_DEFERRED = object()  # dumped by the field itself once the loaded result is whole (it may read all of it)


class _Plan:
    def __init__(self, schema):
        self.schema = schema
        self.unknown = schema.unknown
        # (name, field, converter or None: loaded and dumped by the field itself, plain text, its check):
        # text fields, most of an event, are checked inline, a string loaded and dumped as it came
        self.load_fields = [(name, field, converter(field, _nested_plan), *text_check(field))
                            for name, field in schema.load_fields.items()]
        self.known = {name for name, *_rest in self.load_fields}
        self.dump_fields = [(name, field, _nested_plan(field), plain_text(field))
                            for name, field in schema.dump_fields.items()]
        self.schema_validators = [(getattr(schema, attr), kwargs.get("pass_original", False))
                                  for attr, _many, kwargs in schema._hooks[VALIDATES_SCHEMA]]

    def check(self, data):
        """(`schema.load(data)`, `schema.dump` of it) in one pass, or _GiveUp."""
        if type(data) is not dict:
            raise _GiveUp
        result, dumped, deferred = {}, {}, False
        for name, field, convert, text, check in self.load_fields:
            raw = data.get(name, missing)
            if text and type(raw) is str:
                if check is not None:
                    check(raw)
                result[name] = dumped[name] = raw
                continue
            if raw is None:
                raise _GiveUp  # null: allow_none and its load_default are marshmallow's to settle
            if raw is missing:
                if field.required:
                    raise _GiveUp
                if field.load_default is not missing:
                    default = field.load_default
                    result[name] = default() if callable(default) else default
                elif field.dump_default is missing:
                    continue
                dumped[name], deferred = _DEFERRED, True
                continue
            if convert is None:
                try:
                    result[name] = field.deserialize(raw, name, data)
                except ValidationError as exc:
                    raise _GiveUp from exc
                dumped[name], deferred = _DEFERRED, True
                continue
            result[name], dumped[name] = convert(raw)
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
        if deferred:
            for name, field, *_rest in self.load_fields:
                if dumped.get(name) is _DEFERRED:
                    value = field.serialize(name, result)
                    if value is missing:
                        del dumped[name]
                    else:
                        dumped[name] = value
        return result, dumped

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


def check(schema, data):
    """(`schema.load(data)`, `schema.dump` of what it loaded) when `data` is plainly valid, in one pass;
    (marshmallow's `schema.load(data)`, None) otherwise (raising its ValidationError if it refuses)."""
    plan = _compiled(schema) if ENABLED else None
    if plan is not None:
        try:
            return plan.check(data)
        except _GiveUp:
            pass
    return schema.load(data), None


def load(schema, data):
    """`schema.load(data)`, faster when `data` is plainly valid; marshmallow's own answer otherwise."""
    return check(schema, data)[0]


def dump(schema, obj):
    """`schema.dump(obj)` of what `load` returned."""
    plan = _compiled(schema) if ENABLED else None
    if plan is not None and type(obj) is dict:
        try:
            return plan.dump(obj)
        except _GiveUp:
            pass
    return schema.dump(obj)
