"""One entry point to check an incoming event: envelope, department, type and payload together."""

import functools
import uuid

import orjson
from marshmallow import ValidationError

from . import compiled
from .clinical import clinical_errors
from .envelope import EnvelopeSchema
from .growth.plausibility import implausible_growth
from .registry import EVENT_TYPES, lookup, types_of

_envelope = EnvelopeSchema()


class ContractError(ValueError):
    """An event broke its contract; `errors` maps each dotted field path to what is wrong with it."""

    def __init__(self, errors):
        self.errors = errors
        super().__init__("; ".join(f"{path}: {' '.join(msgs)}" for path, msgs in sorted(errors.items())))


def flatten(messages, prefix=""):
    """marshmallow's nested error dict -> {"payload.domains.gross_motor": ["..."]}."""
    flat = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            path = prefix if key == "_schema" and prefix else (f"{prefix}.{key}" if prefix else str(key))
            for sub_path, sub_msgs in flatten(value, path).items():
                flat.setdefault(sub_path, []).extend(sub_msgs)
    elif isinstance(messages, list):
        if all(isinstance(m, str) for m in messages):
            flat[prefix or "_schema"] = list(messages)
        else:
            for item in messages:
                for sub_path, sub_msgs in flatten(item, prefix).items():
                    flat.setdefault(sub_path, []).extend(sub_msgs)
    else:
        flat[prefix or "_schema"] = [str(messages)]
    return flat


def _type_errors(department, type_, version):
    if lookup(department, type_, version):
        return {}
    owners = sorted({t.department for t in EVENT_TYPES if t.type == type_})
    if type_ in types_of(department):
        known = sorted(t.version for t in EVENT_TYPES if t.department == department and t.type == type_)
        return {"version": [f"unknown version {version} of {type_!r}; known versions: {known}"]}
    if owners:
        return {"type": [f"{type_!r} is a {'/'.join(owners)} event; the {department} department may not send it"]}
    return {"type": [f"unknown event type {type_!r}; {department} sends: {', '.join(types_of(department))}"]}


def _has_lone_surrogate(text):
    # UTF-8 can encode every code point but a surrogate, so the (C-speed) encode is the test
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


@functools.cache
def _schema(event_type):
    """One schema instance per event type, reused: building a marshmallow schema costs more than
    loading an event with it (schemas keep no state between loads and dumps)."""
    return event_type.schema()


def _surely_valid_unicode(value):
    """True when every string and key in `value` is valid Unicode, by one C-speed encode of the whole.

    orjson refuses a lone surrogate anywhere; it also refuses what it does not plainly know (a key
    not text, a subclass, an int past 64 bits), and then the walk below decides."""
    try:
        orjson.dumps(value, option=orjson.OPT_PASSTHROUGH_SUBCLASS)
    except TypeError:
        return False
    return True


def lone_surrogates(value, path=""):
    """{path: [message]} for every string (or object key) holding a lone UTF-16 surrogate.

    JSON lets "\\ud800" through and Python decodes it, but no UTF-8 text can carry it: accepted, such
    an event could never be stored downstream (the referral's store refuses it; the message is retried,
    then dead-lettered), so it is refused here, where the sender can be told which field. Paths
    escape such keys (ascii()), so the error answer itself stays valid UTF-8."""
    if not path and _surely_valid_unicode(value):
        return {}
    found = {}
    if isinstance(value, str):
        if _has_lone_surrogate(value):
            found[path or "_schema"] = ["contains a lone UTF-16 surrogate (such as \\ud800): not valid Unicode text"]
    elif isinstance(value, dict):
        for key, item in value.items():
            name = str(key)
            if _has_lone_surrogate(name):
                name = ascii(name)[1:-1]
                found[f"{path}.{name}" if path else name] = [
                    "this key contains a lone UTF-16 surrogate: not valid Unicode text"]
            found.update(lone_surrogates(item, f"{path}.{name}" if path else name))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.update(lone_surrogates(item, f"{path}.{index}" if path else str(index)))
    return found


def validate_event(raw, department):
    """Check one event sent by `department`; return it normalised for storage, or raise ContractError."""
    if not isinstance(raw, dict):
        raise ContractError({"_schema": ["an event must be a JSON object"]})
    unencodable = lone_surrogates(raw)
    if unencodable:
        raise ContractError(unencodable)
    errors = {}
    try:
        envelope, envelope_dumped = compiled.check(_envelope, raw)
    except ValidationError as exc:
        errors.update(flatten(exc.messages))
        envelope = envelope_dumped = None
    type_, version = raw.get("type"), raw.get("version")
    source = raw.get("source") if isinstance(raw.get("source"), dict) else {}
    if source.get("department") not in (None, department) and "source.department" not in errors:
        errors["source.department"] = [
            f"this is the {department} department's endpoint; got events from {source.get('department')!r}"
        ]
    event_type = None
    if isinstance(type_, str) and isinstance(version, int) and "type" not in errors:
        type_errors = _type_errors(department, type_, version)
        errors.update(type_errors)
        event_type = None if type_errors else lookup(department, type_, version)
    payload, payload_dumped = raw.get("payload"), None
    if event_type is not None and isinstance(payload, dict):
        try:
            payload, payload_dumped = compiled.check(_schema(event_type), payload)
        except ValidationError as exc:
            errors.update(flatten(exc.messages, "payload"))
        subject = raw.get("subject") if isinstance(raw.get("subject"), dict) else {}
        kinds = event_type.subject_kinds
        if not any(kind in subject for kind in kinds) and "subject" not in errors:
            wanted = " or ".join(f"subject.{kind}" for kind in kinds)
            errors["subject"] = [f"{type_!r} is about a {' or '.join(kinds)}; give {wanted}"]
    if event_type is not None and event_type.type == "event.retracted" and not raw.get("supersedes"):
        errors["supersedes"] = ["a retraction must name the event it retracts"]
    if raw.get("supersedes") and raw.get("supersedes") == raw.get("event_id"):
        errors["supersedes"] = ["an event cannot supersede itself"]
    if not errors and envelope is not None:
        errors.update(clinical_errors({**envelope, "payload": payload}))
    if not errors:
        errors.update(implausible_growth(department, event_type.type, envelope, payload))
    if errors:
        raise ContractError(errors)
    if envelope_dumped is not None and payload_dumped is not None:  # both in one pass: dumped already
        normalised = envelope_dumped
        normalised["payload"] = _envelope.fields["payload"].serialize("payload", {"payload": payload_dumped})
    else:
        envelope["payload"] = compiled.dump(_schema(event_type), payload)
        normalised = compiled.dump(_envelope, envelope)
    normalised.setdefault("correlation_id", normalised["event_id"])
    return normalised


def new_event_id():
    return str(uuid.uuid4())
