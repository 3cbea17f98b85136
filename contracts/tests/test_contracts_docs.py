import copy
import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from childlink_contracts import (
    EVENT_TYPES,
    REGISTRY,
    ContractError,
    amqp,
    docs,
    validate_event,
)
from marshmallow import Schema, fields, validate

KEYS = [t.key for t in EVENT_TYPES]
IDS = [f"{d}.{t}.v{v}" for d, t, v in KEYS]
GENERATED = Path(docs.__file__).resolve().parent.parent / "generated"

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
FORMATS = copy.deepcopy(jsonschema.Draft202012Validator.FORMAT_CHECKER)


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value):
    # jsonschema checks date-time only with an optional extra installed; this is enough for the samples
    if not isinstance(value, str):
        return True
    return bool(_RFC3339.match(value)) and dt.datetime.fromisoformat(value) is not None


def validator_for(key):
    schema = docs.event_json_schema(REGISTRY[key])
    return jsonschema.Draft202012Validator(schema, format_checker=FORMATS)


def schema_errors(key, event):
    return sorted(".".join(map(str, e.absolute_path)) or "<root>" for e in validator_for(key).iter_errors(event))


# -- the JSON Schemas ----------------------------------------------------------------------------


@pytest.mark.parametrize("key", KEYS, ids=IDS)
def test_json_schema_is_a_valid_2020_12_schema(key):
    schema = docs.event_json_schema(REGISTRY[key])
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("key", KEYS, ids=IDS)
def test_json_schema_accepts_the_sample_event(key, make_event):
    event = make_event(key)
    validate_event(event, key[0])  # the sample is valid by the marshmallow contract...
    assert schema_errors(key, event) == []  # ...and by the published JSON Schema


@pytest.mark.parametrize("key", KEYS, ids=IDS)
def test_json_schema_accepts_the_normalised_event(key, make_event):
    normalised = validate_event(make_event(key), key[0])
    assert schema_errors(key, json.loads(json.dumps(normalised))) == []


def test_json_schema_accepts_a_centre_retraction_from_social(make_event):
    key = ("social", "event.retracted", 1)
    event = make_event(key, subject_kind="centre")
    validate_event(event, "social")
    assert schema_errors(key, event) == []


def _set(event, path, value):
    *parents, last = path.split(".")
    for part in parents:
        event = event[part]
    if value is _DELETE:
        del event[last]
    else:
        event[last] = value


_DELETE = object()

# (event type, path, new value or _DELETE): both the marshmallow contract and the JSON Schema reject it
AGREED_REJECTIONS = [
    (("health", "child.screened", 1), "payload.domains", _DELETE),
    (("health", "child.screened", 1), "payload.domains.gross_motor", "fine"),
    (("health", "child.screened", 1), "payload.domains.walking", "normal"),
    (("health", "child.screened", 1), "payload.age_band_months", 12),
    (("health", "child.screened", 1), "payload.age_band_months", "18"),
    (("health", "child.screened", 1), "payload.rescreen", "yes"),
    (("health", "child.screened", 1), "payload.extra", 1),
    (("health", "child.immunised", 1), "payload.dose", 0),
    (("health", "child.immunised", 1), "payload.dose", 6),
    (("health", "child.growth_measured", 1), "payload.weight_kg", 0.1),
    (("health", "child.growth_measured", 1), "payload.weight_kg", "12.4"),
    (("social", "centre.registered", 1), "payload.capacity", True),
    (("social", "centre.registered", 1), "payload.name", ""),
    (("social", "household.risk_assessed", 1), "payload.factors", ["aliens"]),
    (("education", "child.readiness_assessed", 1), "payload.scores", {}),
    (("education", "child.readiness_assessed", 1), "payload.scores.physical", 101),
    (("education", "child.special_needs_flagged", 1), "payload.note", "x" * 501),
    (("medical", "child.diagnosed", 1), "payload.icd10", "U07.1"),
    (("medical", "child.diagnosed", 1), "payload.icd10", "f84.0"),
    (("medical", "event.retracted", 1), "supersedes", _DELETE),
    (("health", "child.screened", 1), "type", "child.immunised"),
    (("health", "child.screened", 1), "version", 2),
    (("health", "child.screened", 1), "version", "1"),
    (("health", "child.screened", 1), "event_id", 42),
    (("health", "child.screened", 1), "occurred_at", "2024-06-15"),
    (("health", "child.screened", 1), "source.department", "education"),
    (("health", "child.screened", 1), "source.facility.district_code", "9999"),
    (("health", "child.screened", 1), "source.system", "has space"),
    (("health", "child.screened", 1), "subject.child.sex", "unknown"),
    (("health", "child.screened", 1), "subject.child.national_id", "12345"),
    (("health", "child.screened", 1), "subject.child.guardian.phone", "812345678"),
    (("health", "child.screened", 1), "subject.child.local_id", _DELETE),
    (("health", "child.screened", 1), "subject.centre", {"centre_id": "C1", "district_code": "1001"}),
    (("health", "child.screened", 1), "correlation_id", "x" * 101),
    (("health", "child.screened", 1), "colour", "blue"),
    (("social", "centre.assessed", 1), "subject.child", {"local_id": "X", "birth_date": "2021-01-01",
                                                         "sex": "male"}),
    (("social", "centre.assessed", 1), "payload.level", "ok"),
]


@pytest.mark.parametrize("key, path, value", AGREED_REJECTIONS,
                         ids=[f"{p}={'<deleted>' if v is _DELETE else v!r}"[:60] for _, p, v in AGREED_REJECTIONS])
def test_json_schema_and_contract_reject_the_same_event(key, path, value, make_event):
    event = make_event(key)
    _set(event, path, value)
    with pytest.raises(ContractError):
        validate_event(event, key[0])
    assert schema_errors(key, event), f"the JSON Schema accepted {path}={value!r}"


def test_json_schema_restricts_each_type_to_its_subject_kind():
    by_name = {docs.message_name(t): docs.event_json_schema(t) for t in EVENT_TYPES}
    assert by_name["social.centre.assessed.v1"]["properties"]["subject"]["required"] == ["centre"]
    assert by_name["health.child.screened.v1"]["properties"]["subject"]["required"] == ["child"]
    social_retraction = by_name["social.event.retracted.v1"]["properties"]["subject"]
    assert set(social_retraction["properties"]) == {"child", "centre"}
    assert "supersedes" in by_name["health.event.retracted.v1"]["required"]
    assert "supersedes" not in by_name["health.child.screened.v1"]["required"]


# -- the converter -------------------------------------------------------------------------------


class _Everything(Schema):
    """Every field and validator the converter knows."""

    name = fields.String(required=True, validate=validate.Length(min=2, max=5))
    code = fields.String(validate=validate.Regexp(r"^[A-Z]+$"))
    count = fields.Integer(strict=True, validate=validate.Range(min=0, max=10, max_inclusive=False))
    ratio = fields.Float(validate=validate.Range(min=0, min_inclusive=False))
    flag = fields.Boolean(load_default=True)
    id = fields.UUID()
    day = fields.Date()
    at = fields.AwareDateTime(format="iso")
    tags = fields.List(fields.String(validate=validate.OneOf(("a", "b"))), load_default=list,
                       validate=validate.Length(equal=2))
    scores = fields.Dict(keys=fields.String(validate=validate.OneOf(("x", "y"))), values=fields.Integer(strict=True))
    anything = fields.Dict()
    nested = fields.Nested(lambda: _Inner(), many=True)
    maybe = fields.String(allow_none=True)
    renamed = fields.String(data_key="Renamed")


class _Inner(Schema):
    level = fields.String(required=True, validate=validate.OneOf(("low", "high")))


def test_converter_maps_each_field_and_validator():
    body = docs.object_schema(_Everything)
    props = body["properties"]
    assert body["required"] == ["name"]
    assert body["additionalProperties"] is False
    assert body["description"] == "Every field and validator the converter knows."
    assert props["name"] == {"type": "string", "minLength": 2, "maxLength": 5}
    assert props["code"] == {"type": "string", "pattern": "^[A-Z]+$"}
    assert props["count"] == {"type": "integer", "minimum": 0, "exclusiveMaximum": 10}
    assert props["ratio"] == {"type": "number", "exclusiveMinimum": 0}
    assert props["flag"] == {"type": "boolean", "default": True}
    assert props["id"] == {"type": "string", "format": "uuid"}
    assert props["day"] == {"type": "string", "format": "date"}
    assert props["at"] == {"type": "string", "format": "date-time"}
    assert props["tags"] == {"type": "array", "items": {"type": "string", "enum": ["a", "b"]},
                             "minItems": 2, "maxItems": 2, "default": []}
    assert props["scores"] == {"type": "object", "propertyNames": {"enum": ["x", "y"]},
                               "additionalProperties": {"type": "integer"}}
    assert props["anything"] == {"type": "object", "additionalProperties": True}
    assert props["nested"] == {"type": "array", "items": {
        "type": "object", "properties": {"level": {"type": "string", "enum": ["low", "high"]}},
        "required": ["level"], "additionalProperties": False}}
    assert props["maybe"] == {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert "Renamed" in props and "renamed" not in props


def test_converter_refuses_what_it_cannot_express():
    class Odd(Schema):
        blob = fields.Raw()

    with pytest.raises(docs.UnsupportedField):
        docs.object_schema(Odd)

    class CustomCheck(Schema):
        even = fields.Integer(validate=lambda n: n % 2 == 0)

    with pytest.raises(docs.UnsupportedField):
        docs.object_schema(CustomCheck)


# -- the AsyncAPI document -----------------------------------------------------------------------


def _resolve(document, ref):
    assert ref.startswith("#/"), ref
    node = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_asyncapi_document_describes_every_department_and_type():
    files = docs.render()
    document = yaml.safe_load(files[docs.ASYNCAPI_FILE])
    assert document["asyncapi"] == "3.0.0"
    assert document["defaultContentType"] == "application/json"
    assert set(document["channels"]) == {f"{t.department}.{t.type}" for t in EVENT_TYPES}
    assert {op["action"] for op in document["operations"].values()} == {"send", "receive"}
    assert set(document["components"]["messages"]) == {docs.message_name(t) for t in EVENT_TYPES}
    for event_type in EVENT_TYPES:
        name = docs.message_name(event_type)
        channel_id = f"{event_type.department}.{event_type.type}"
        channel = document["channels"][channel_id]
        assert channel["address"] == event_type.type  # the routing key, exactly
        binding = channel["bindings"]["amqp"]
        assert binding["is"] == "routingKey"
        assert binding["exchange"]["name"] == f"{event_type.department}.events"
        assert binding["exchange"]["type"] == "topic" and binding["exchange"]["durable"] is True
        assert name in channel["messages"]
        send = document["operations"][f"{event_type.department}.send.{event_type.type}"]
        assert send["action"] == "send" and send["channel"]["$ref"] == f"#/channels/{channel_id}"
        assert send["bindings"]["amqp"]["deliveryMode"] == 2
        receive = document["operations"][f"referral.receive.{event_type.department}.{event_type.type}"]
        assert receive["action"] == "receive"
        message = document["components"]["messages"][name]
        assert message["name"] == name
        ref = message["payload"]["schema"]["$ref"]
        assert ref == f"jsonschema/{name}.json" and ref in files
        assert json.loads(files[ref])["title"] == name


def test_each_message_says_how_to_publish_it_and_its_example_is_what_the_relay_sends():
    document = yaml.safe_load(docs.render()[docs.ASYNCAPI_FILE])
    for event_type in EVENT_TYPES:
        message = document["components"]["messages"][docs.message_name(event_type)]
        publish = message["x-amqp-publish"]
        assert publish["exchange"] == amqp.exchange_name(event_type.department)
        assert publish["routing_key"] == event_type.type
        props = publish["properties"]
        assert set(props) == {"content_type", "content_encoding", "delivery_mode", "message_id", "correlation_id"}
        assert props["content_type"]["value"] == "application/json" and props["delivery_mode"]["value"] == 2
        assert set(message["headers"]["properties"]) == {*amqp.HEADERS, amqp.PARTITION_HEADER}
        [example] = message["examples"]
        event = example["payload"]
        # valid, already in its normalised form (what a department's relay publishes), and its headers
        # are the ones the relay computes from it
        assert validate_event(event, event_type.department) == event
        assert example["headers"] == amqp.relay_headers(event)
        assert jsonschema.Draft202012Validator(message["headers"]).is_valid(example["headers"])
        assert schema_errors(event_type.key, event) == []


def test_the_identity_rule_is_in_the_docs():
    document = yaml.safe_load(docs.render()[docs.ASYNCAPI_FILE])
    assert docs.IDENTITY_RULE in document["info"]["description"]
    for event_type in EVENT_TYPES:
        assert docs.event_json_schema(event_type)["properties"]["event_id"]["description"] == docs.IDENTITY_RULE


def test_asyncapi_internal_references_resolve():
    document = yaml.safe_load(docs.render()[docs.ASYNCAPI_FILE])

    def refs(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref" and value.startswith("#"):
                    yield value
                else:
                    yield from refs(value)
        elif isinstance(node, list):
            for item in node:
                yield from refs(item)

    found = list(refs(document))
    assert found
    for ref in found:
        _resolve(document, ref)
    for operation in document["operations"].values():
        channel_ref = operation["channel"]["$ref"]
        for message in operation["messages"]:  # an operation's messages must be its channel's
            assert message["$ref"].startswith(channel_ref + "/messages/")


# -- the files and the CLI -----------------------------------------------------------------------


def test_generation_is_deterministic():
    first, second = docs.render(), docs.render()
    assert first == second
    assert list(first) == sorted(first)
    for rel, text in first.items():
        assert text.endswith("\n") and not text.endswith("\n\n"), rel
        assert "\r" not in text, rel


def test_checked_in_docs_are_fresh():
    stale = docs.stale_files(GENERATED)
    assert not stale, (
        f"contracts/generated is stale: {stale}; regenerate with "
        "`.venv/bin/python -m childlink_contracts.docs` and commit the result"
    )


def test_cli_writes_then_checks(tmp_path, capsys):
    assert docs.main(["--check", "--out", str(tmp_path)]) == 1
    assert "asyncapi.yaml" in capsys.readouterr().err
    assert docs.main(["--out", str(tmp_path)]) == 0
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()) == sorted(docs.render())
    assert docs.main(["--check", "--out", str(tmp_path)]) == 0


def test_cli_check_names_changed_missing_and_extra_files(tmp_path, capsys):
    docs.write(tmp_path)
    changed = tmp_path / "jsonschema" / "health.child.screened.v1.json"
    changed.write_text(changed.read_text().replace('"const": "child.screened"', '"const": "child.screen"'))
    (tmp_path / "jsonschema" / "medical.child.diagnosed.v1.json").unlink()
    (tmp_path / "jsonschema" / "health.child.levitated.v1.json").write_text("{}\n")
    capsys.readouterr()
    assert docs.main(["--check", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "jsonschema/health.child.screened.v1.json" in err
    assert "jsonschema/medical.child.diagnosed.v1.json" in err
    assert "jsonschema/health.child.levitated.v1.json" in err
    assert "jsonschema/health.child.immunised.v1.json" not in err
    docs.write(tmp_path)  # regenerating repairs all three
    assert docs.stale_files(tmp_path) == []


def test_cli_runs_as_a_module(tmp_path):
    ran = subprocess.run([sys.executable, "-m", "childlink_contracts.docs", "--check", "--out", str(tmp_path)],
                         check=False, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 1
    assert "stale generated contract docs" in ran.stderr
