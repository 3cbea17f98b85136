"""Generate the published contract docs from the marshmallow schemas.

    python -m childlink_contracts.docs [--check] [--out DIR]

writes, under DIR (default: contracts/generated beside this package),

* ``jsonschema/<department>.<type>.v<version>.json``: one JSON Schema (draft 2020-12) per
  registered event type and version, the envelope with that type's payload inlined and the
  subject narrowed to the type's subject kind;
* ``asyncapi.yaml``: one AsyncAPI 3.0.0 document with a channel per department and event type (its
  address the routing key, its AMQP binding the department's exchange), a message per event type
  and version (headers, properties, an example, its payload a reference to the JSON Schema above),
  a send operation per channel and a receive operation per channel for the referral service. It
  also states the event identity rule (childlink_contracts.content) and how to publish blind.

With ``--check`` nothing is written: it exits 1 and names each file that differs from what it would
write (or is missing, or should not be there). Output is deterministic: keys sorted, lists in
registry order, LF line endings, one trailing newline.

The converter below understands exactly the marshmallow fields and validators the contracts use and
raises on anything else, so a new field type or validator cannot silently drop out of the docs.
"""

import argparse
import copy
import json
import re
import sys
from pathlib import Path

import yaml
from marshmallow import RAISE, fields, missing, validate

from . import amqp
from . import fields as contract_fields
from .envelope import EnvelopeSchema
from .examples import example_event
from .registry import EVENT_TYPES, EventType

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
# AsyncAPI 3.0.0 names no media type for JSON Schema 2020-12 (only draft-07, which tools MUST support);
# it allows any other schemaFormat string, and this is the one the JSON Schema project's media type
# with a version parameter spells.
PAYLOAD_SCHEMA_FORMAT = "application/schema+json;version=draft-2020-12"
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "generated"
ASYNCAPI_FILE = "asyncapi.yaml"
JSONSCHEMA_DIR = "jsonschema"

_NOT_FUTURE = (
    "Not in the future (five minutes of clock skew allowed) and not before 2000-01-01; a year such as "
    "2569 is taken for a Buddhist-era year and rejected: send the Gregorian year."
)
_NATIONAL_ID = "A Thai national ID: 13 digits, the last a mod-11 check digit over the first twelve."


class UnsupportedField(TypeError):
    """The converter met a marshmallow field or validator it cannot express; extend it first."""


# -- marshmallow -> JSON Schema ------------------------------------------------------------------


def _doc(schema_cls):
    doc = schema_cls.__dict__.get("__doc__")
    return " ".join(doc.split()) if doc else None


def _base_type(field):
    """The JSON Schema for the field's type alone, without its validators."""
    if isinstance(field, fields.Nested):
        nested = field.schema
        body = object_schema(nested)
        return {"type": "array", "items": body} if field.many else body
    if isinstance(field, fields.List):
        return {"type": "array", "items": field_schema(field.inner)}
    if isinstance(field, fields.Dict):
        body = {"type": "object"}
        if field.key_field is not None:
            keys = field_schema(field.key_field)
            keys.pop("type", None)  # JSON object keys are always strings
            if keys:
                body["propertyNames"] = keys
        body["additionalProperties"] = field_schema(field.value_field) if field.value_field else True
        return body
    if isinstance(field, fields.UUID):
        return {"type": "string", "format": "uuid"}
    if isinstance(field, fields.DateTime):  # AwareDateTime and NaiveDateTime too
        if field.format not in (None, "iso", "iso8601"):
            raise UnsupportedField(f"DateTime format {field.format!r} has no JSON Schema format")
        return {"type": "string", "format": "date-time"}
    if isinstance(field, fields.Date):
        if field.format not in (None, "iso", "iso8601"):
            raise UnsupportedField(f"Date format {field.format!r} has no JSON Schema format")
        return {"type": "string", "format": "date"}
    if isinstance(field, fields.Integer):
        return {"type": "integer"}
    if isinstance(field, fields.Float):
        return {"type": "number"}
    if isinstance(field, fields.Boolean):
        return {"type": "boolean"}
    if isinstance(field, fields.String):
        return {"type": "string"}
    raise UnsupportedField(f"no JSON Schema for marshmallow field {type(field).__name__}")


def _length_keys(body):
    kind = body.get("type")
    if kind == "string":
        return "minLength", "maxLength"
    if kind == "array":
        return "minItems", "maxItems"
    if kind == "object":
        return "minProperties", "maxProperties"
    raise UnsupportedField(f"Length on a field of JSON type {kind!r}")


def _describe(body, text):
    body["description"] = f"{body['description']} {text}" if "description" in body else text


def _apply_validator(body, validator):
    if isinstance(validator, validate.OneOf):
        body["enum"] = list(validator.choices)
    elif isinstance(validator, validate.Range):
        if validator.min is not None:
            body["minimum" if validator.min_inclusive else "exclusiveMinimum"] = validator.min
        if validator.max is not None:
            body["maximum" if validator.max_inclusive else "exclusiveMaximum"] = validator.max
    elif isinstance(validator, validate.Length):
        low, high = _length_keys(body)
        if validator.equal is not None:
            body[low] = body[high] = validator.equal
        else:
            if validator.min is not None:
                body[low] = validator.min
            if validator.max is not None:
                body[high] = validator.max
    elif isinstance(validator, validate.Regexp):
        if validator.regex.flags & ~re.UNICODE:  # implied for str patterns
            raise UnsupportedField(f"regex flags {validator.regex.flags} on {validator.regex.pattern!r}")
        body["pattern"] = validator.regex.pattern
    elif validator is contract_fields._not_future:
        _describe(body, _NOT_FUTURE)
    elif validator is contract_fields.NationalId._check:
        body["pattern"] = "^[0-9]{13}$"
        _describe(body, _NATIONAL_ID)
    else:
        raise UnsupportedField(f"no JSON Schema for validator {validator!r}")


def field_schema(field):
    """One marshmallow field as a JSON Schema (draft 2020-12)."""
    body = _base_type(field)
    for validator in field.validators:
        _apply_validator(body, validator)
    if field.load_default is not None and field.load_default is not missing:
        default = field.load_default() if callable(field.load_default) else field.load_default
        body["default"] = json.loads(json.dumps(default))
    if field.allow_none:
        body = {"anyOf": [body, {"type": "null"}]}
    return body


def object_schema(schema):
    """A marshmallow Schema (class or instance) as a JSON Schema object."""
    instance = schema() if isinstance(schema, type) else schema
    properties, required = {}, []
    for name, field in instance.load_fields.items():
        key = field.data_key or name
        properties[key] = field_schema(field)
        if field.required:
            required.append(key)
    body = {"type": "object", "properties": properties}
    if required:
        body["required"] = sorted(required)
    body["additionalProperties"] = instance.unknown != RAISE
    doc = _doc(type(instance))
    if doc:
        body["description"] = doc
    return body


# -- one JSON Schema per event type ---------------------------------------------------------------


def message_name(event_type: EventType):
    return f"{event_type.department}.{event_type.type}.v{event_type.version}"


def schema_file(event_type: EventType):
    return f"{JSONSCHEMA_DIR}/{message_name(event_type)}.json"


def event_json_schema(event_type: EventType):
    """The envelope with this type's payload inlined: what the department sends, as JSON Schema."""
    body = object_schema(EnvelopeSchema)
    props = body["properties"]
    props["type"] = {"type": "string", "const": event_type.type}
    props["version"] = {"type": "integer", "const": event_type.version}
    source = copy.deepcopy(props["source"])
    source["properties"]["department"] = {"type": "string", "const": event_type.department}
    props["source"] = source
    subject = props["subject"]
    kinds = event_type.subject_kinds
    props["subject"] = {
        "type": "object",
        "properties": {kind: subject["properties"][kind] for kind in kinds},
        "additionalProperties": False,
        "description": f"What the event is about: a {' or a '.join(kinds)}.",
    }
    if len(kinds) == 1:
        props["subject"]["required"] = list(kinds)
    else:  # exactly one of them, as SubjectSchema insists
        props["subject"]["oneOf"] = [{"required": [kind]} for kind in kinds]
    payload = object_schema(event_type.schema)
    payload.setdefault("description", event_type.summary)
    props["payload"] = payload
    props["event_id"] = dict(props["event_id"], description=IDENTITY_RULE)
    if event_type.type == "event.retracted":
        body["required"] = sorted({*body["required"], "supersedes"})
        props["supersedes"] = dict(props["supersedes"], description="The event_id this event retracts.")
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": f"urn:childlink:event:{message_name(event_type)}",
        "title": message_name(event_type),
        **{k: v for k, v in body.items() if k != "description"},
        "description": (
            f"{event_type.summary} Sent by the {event_type.department} department. "
            "An event must not supersede itself (supersedes != event_id)."
        ),
    }


# -- AsyncAPI ------------------------------------------------------------------------------------

AMQP_BINDING_VERSION = "0.3.0"

IDENTITY_RULE = (
    "An event is named by its department and its event_id together (`source.department` + `event_id`): "
    "departments choose their UUIDs independently, and one department's event is never taken for "
    "another's. Its content is the event as the contracts normalise it (defaults filled in), without "
    "`recorded_at`, as JSON with sorted keys, no whitespace, UTF-8; compared by its SHA-256 "
    "(childlink_contracts.content). The same department and event_id with the same content is a "
    "duplicate: answered 202 `duplicate` at ingest, counted and not applied again downstream. With "
    "other content it is a conflict: answered 409 `conflict` naming `event_id` at ingest (a batch "
    "holding one stores nothing), and dead-lettered with reason `conflict` by the referral service if "
    "it comes straight over AMQP, never applied and never dropped. A change to an event is a new event "
    "(a new event_id) that names the old one in `supersedes`."
)

PUBLISHING_RULES = (
    "How to publish an event over AMQP (what the departments' relays do): to the department's topic "
    "exchange `<department>.events`, with the routing key exactly the event's `type`; the body is the "
    "event as JSON in UTF-8. Properties: `content_type` `application/json` (the default: a message "
    "without one is read as JSON; any other content type is dead-lettered as `undecodable`), "
    "`content_encoding` `utf-8` (the default), `delivery_mode` 2 (persistent; 1 may be lost in a broker "
    "restart), `message_id` the event_id and `correlation_id` the event's correlation_id (both optional, "
    "and when given equal to the body's). Headers: `event_id`, `correlation_id`, `department`, `type`, "
    "`version`, each a copy of the body's field; all optional (the referral service reads the body), "
    "and when given equal to the body's: a header or property that contradicts the body is "
    "dead-lettered as `invalid`, naming it. Publish with `mandatory` and publisher confirms so that an "
    "event no queue took comes back to you. The referral service's queue `referral.<department>.events` "
    "is bound with `#`, so it also takes an event whose routing key is not its type (a replayed dead "
    "letter comes through the default exchange); other consumers bind by type: send the type. An event "
    "that breaks its contract (JSON Schema under `payload`) is dead-lettered with reason `invalid` and "
    "its field errors."
)


def _channel_id(event_type: EventType):
    return f"{event_type.department}.{event_type.type}"


def _header_schema(event_type: EventType):
    copy_of = "Optional; when given, equal to the body's"
    return {
        "type": "object",
        "description": "Application headers; each optional, and when given a copy of the body's field.",
        "properties": {
            "event_id": {"type": "string", "format": "uuid", "description": f"{copy_of} `event_id`."},
            "correlation_id": {"type": "string", "description": f"{copy_of} `correlation_id` "
                                                                "(the event_id when the body gives none)."},
            "department": {"type": "string", "const": event_type.department,
                           "description": f"{copy_of} `source.department`."},
            "type": {"type": "string", "const": event_type.type, "description": f"{copy_of} `type`."},
            "version": {"type": "integer", "const": event_type.version, "description": f"{copy_of} `version`."},
            amqp.PARTITION_HEADER: {
                "type": "string", "pattern": "^[0-9a-f]{8}$",
                "description": (
                    "Optional; the childlink relay sets it. The child this event is about, hashed: the first 8 "
                    "hex digits of SHA-256 over `nid:<national id>` when `subject.child.national_id` is a valid "
                    "Thai national ID, else over `local:<source.department>:<source.facility.code>:"
                    "<subject.child.local_id>`, `centre:<subject.centre.centre_id>` for a centre's event, "
                    "`event:<event_id>` when the event names neither (UTF-8 before hashing). When the "
                    "referral runs partitioned by child (REFERRAL_PARTITIONS), RabbitMQ's consistent-hash "
                    "exchange spreads events over the partitions by this value: every event of one child "
                    "must carry the same value, so one replica at a time handles that child. Events without "
                    "it are still delivered, all to one partition. It never carries a national ID in clear."),
            },
        },
        "additionalProperties": True,
    }


def _amqp_properties():
    """The AMQP basic properties, each with its value, whether it is required, and what stands without it
    (AsyncAPI's AMQP bindings name no place for most of them: an `x-` extension says them exactly)."""
    return {
        "content_type": {"value": amqp.CONTENT_TYPE, "required": False,
                         "absent": "read as application/json; any other value is dead-lettered as undecodable"},
        "content_encoding": {"value": amqp.CONTENT_ENCODING, "required": False, "absent": "read as utf-8"},
        "delivery_mode": {"value": amqp.PERSISTENT, "required": False,
                          "absent": "1 (transient): the broker may lose the message in a restart"},
        "message_id": {"value": "$message.payload#/event_id", "required": False,
                       "absent": "the body's event_id stands for it (dead letters carry it)"},
        "correlation_id": {"value": "$message.payload#/correlation_id", "required": False,
                           "absent": "the body's correlation_id stands for it"},
    }


def _example(event_type: EventType):
    event = example_event(event_type)
    return {"name": "example", "summary": f"A {event_type.type} v{event_type.version} event, as the "
                                          f"{event_type.department} relay publishes it.",
            "headers": amqp.relay_headers(event), "payload": event}


def asyncapi_document():
    channels, operations, messages = {}, {}, {}
    types_by_channel = {}
    for event_type in EVENT_TYPES:
        types_by_channel.setdefault(_channel_id(event_type), []).append(event_type)
    for channel, types in types_by_channel.items():
        first = types[0]
        department, exchange = first.department, amqp.exchange_name(first.department)
        channels[channel] = {
            "address": first.type,
            "title": f"{department} {first.type}",
            "description": (
                f"The {department} department's `{first.type}` events: published to the topic exchange "
                f"`{exchange}` with the routing key exactly `{first.type}`. The referral service "
                f"consumes them from the quorum queue `referral.{department}.events`, bound with `#`."
            ),
            "messages": {message_name(t): {"$ref": f"#/components/messages/{message_name(t)}"} for t in types},
            "bindings": {
                "amqp": {
                    "is": "routingKey",
                    "exchange": {"name": exchange, "type": "topic", "durable": True,
                                 "autoDelete": False, "vhost": "/"},
                    "bindingVersion": AMQP_BINDING_VERSION,
                },
            },
        }
        channel_messages = [{"$ref": f"#/channels/{channel}/messages/{message_name(t)}"} for t in types]
        operations[f"{department}.send.{first.type}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel}"},
            "title": f"{department} publishes {first.type}",
            "summary": f"Publish to `{exchange}` with routing key `{first.type}`, persistent, mandatory.",
            "messages": channel_messages,
            "bindings": {"amqp": {"deliveryMode": amqp.PERSISTENT, "mandatory": True,
                                  "bindingVersion": AMQP_BINDING_VERSION}},
        }
        operations[f"referral.receive.{department}.{first.type}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{channel}"},
            "title": f"referral consumes {department} {first.type}",
            "summary": "The referral service reads these events into each child's timeline.",
            "messages": copy.deepcopy(channel_messages),
            "bindings": {"amqp": {"ack": True, "bindingVersion": AMQP_BINDING_VERSION}},
        }
        for t in types:
            messages[message_name(t)] = {
                "name": message_name(t),
                "title": f"{t.department} {t.type} v{t.version}",
                "summary": t.summary,
                "description": (
                    f"Publish to the exchange `{amqp.exchange_name(t.department)}` with the routing key "
                    f"`{t.type}` exactly; the body is the event as JSON in UTF-8 (the payload schema). "
                    "Properties: `x-amqp-publish`; headers: `headers`; an example: `examples`. All "
                    "optional but the body; the rules are in the document's description."),
                "contentType": amqp.CONTENT_TYPE,
                "headers": _header_schema(t),
                "correlationId": {"location": "$message.header#/correlation_id",
                                  "description": "Also the AMQP correlation_id property and the body's field."},
                "bindings": {"amqp": {"contentEncoding": amqp.CONTENT_ENCODING, "messageType": message_name(t),
                                      "bindingVersion": AMQP_BINDING_VERSION}},
                "x-amqp-publish": {"exchange": amqp.exchange_name(t.department), "routing_key": t.type,
                                   "mandatory": True, "properties": _amqp_properties()},
                "payload": {"schemaFormat": PAYLOAD_SCHEMA_FORMAT, "schema": {"$ref": schema_file(t)}},
                "examples": [_example(t)],
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "childlink events",
            "version": "1.1.0",
            "description": (
                "The events the four Bangkok city departments (social, education, health, medical) "
                "publish about children and child development centres, and that the referral service "
                "consumes. Generated by `python -m childlink_contracts.docs` from the marshmallow "
                "schemas in childlink_contracts: do not edit by hand.\n\n"
                f"Event identity. {IDENTITY_RULE}\n\nPublishing. {PUBLISHING_RULES}"
            ),
        },
        "defaultContentType": amqp.CONTENT_TYPE,
        "servers": {
            "local": {
                "host": "localhost:5672",
                "protocol": "amqp",
                "protocolVersion": "0.9.1",
                "description": ("The broker `make run` uses (vhost `/`, user guest on a local broker only). "
                                "Elsewhere each department has a broker user that may write to its own "
                                "exchange only (deploy/rabbitmq/definitions.json)."),
            },
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


# -- files ---------------------------------------------------------------------------------------


def _json_text(data):
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _yaml_text(data):
    text = yaml.safe_dump(data, sort_keys=True, allow_unicode=True, default_flow_style=False, width=2**16)
    return text if text.endswith("\n") else text + "\n"


def render():
    """{path relative to the output directory: file text}, everything the generator writes."""
    files = {schema_file(t): _json_text(event_json_schema(t)) for t in EVENT_TYPES}
    files[ASYNCAPI_FILE] = _yaml_text(asyncapi_document())
    return dict(sorted(files.items()))


def _existing(out_dir: Path):
    """Generated-looking files already under out_dir (the only ones --check may call extra)."""
    found = set()
    if (out_dir / ASYNCAPI_FILE).is_file():
        found.add(ASYNCAPI_FILE)
    schema_dir = out_dir / JSONSCHEMA_DIR
    if schema_dir.is_dir():
        found.update(f"{JSONSCHEMA_DIR}/{p.name}" for p in schema_dir.glob("*.json"))
    return found


def stale_files(out_dir=DEFAULT_OUT):
    """Relative paths under out_dir that are missing, differ from a fresh generation, or are extra."""
    out_dir = Path(out_dir)
    fresh = render()
    stale = []
    for rel, text in fresh.items():
        path = out_dir / rel
        if not path.is_file() or path.read_bytes() != text.encode("utf-8"):
            stale.append(rel)
    stale.extend(_existing(out_dir) - fresh.keys())
    return sorted(stale)


def write(out_dir=DEFAULT_OUT):
    """Write every generated file under out_dir, remove generated files no longer produced."""
    out_dir = Path(out_dir)
    fresh = render()
    for rel in _existing(out_dir) - fresh.keys():
        (out_dir / rel).unlink()
    for rel, text in fresh.items():
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    return sorted(fresh)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m childlink_contracts.docs",
        description="Generate the JSON Schemas and the AsyncAPI document from the contracts.",
    )
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 naming the files that are stale")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output directory ({DEFAULT_OUT})")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files(args.out)
        if stale:
            print(f"stale generated contract docs in {args.out}:", file=sys.stderr)
            for rel in stale:
                print(f"  {rel}", file=sys.stderr)
            print("regenerate with: python -m childlink_contracts.docs", file=sys.stderr)
            return 1
        print(f"contract docs in {args.out} are up to date")
        return 0
    written = write(args.out)
    print(f"wrote {len(written)} files to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
