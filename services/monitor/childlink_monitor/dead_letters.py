"""Dead letters as records: what failed, where, why and how often; and what a replay sends back.

A dead letter arrives on `childlink.dead_letters` carrying the original body and headers beside the
`x-childlink-*` failure headers (childlink_common.dead_letters). The monitor keeps all of it (the raw
body too, so a replay sends exactly what failed) in its store, and shows operators a redacted view.

Statuses: open -> replayed (sent back to its queue, confirmed by the broker) | replay_failed (the
broker refused: stays replayable) | discarded (with a reason). A replayed message that fails again
comes back as a new dead letter, linked to the first by event_id.
"""

import base64
import datetime as dt
import hashlib
import json
import re

from . import redaction

FAILURE_HEADERS = (
    "x-childlink-reason", "x-childlink-error", "x-childlink-error-fields", "x-childlink-traceback",
    "x-childlink-queue", "x-childlink-exchange", "x-childlink-routing-key", "x-childlink-attempts",
    "x-childlink-first-failure", "x-childlink-last-failure",
)
# set by the broker on delivery and dead-lettering; a replay must start counting afresh, or the
# consumer would take the first new attempt for the last one
BROKER_HEADERS = ("x-delivery-count", "x-death", "x-first-death-exchange", "x-first-death-queue",
                  "x-first-death-reason", "x-last-death-exchange", "x-last-death-queue", "x-last-death-reason")
REPLAY_ID = "x-childlink-replay-id"
REPLAYED_AT = "x-childlink-replayed-at"
REPLAYS = "x-childlink-replays"
REPLAY_MARKERS = (REPLAY_ID, REPLAYED_AT, REPLAYS)
QUEUE_DEPARTMENT = re.compile(r"^referral\.([a-z_]+)\.events$")
STATUSES = ("open", "replayed", "replay_failed", "discarded")
REPLAYABLE = ("open", "replay_failed")
FILTER_FIELDS = ("department", "type", "reason", "queue", "status", "event_id")


def now_iso(at=None):
    moment = dt.datetime.fromtimestamp(at, dt.UTC) if at is not None else dt.datetime.now(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _plain(value):
    """Header values as JSON-safe values (AMQP tables may hold bytes, datetimes, decimals)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


def dead_letter_id(raw, headers):
    """Stable for one dead-lettering of one message, so a redelivered dead letter is stored once."""
    digest = hashlib.sha256()
    for part in (headers.get("x-childlink-queue"), headers.get("x-childlink-last-failure"),
                 headers.get("event_id"), headers.get(REPLAY_ID)):
        digest.update(str(part).encode() + b"\0")
    digest.update(raw or b"")
    return "dl-" + digest.hexdigest()[:24]


def department_of(headers, queue, exchange, body):
    if headers.get("department"):
        return str(headers["department"])
    match = QUEUE_DEPARTMENT.match(queue or "")
    if match:
        return match.group(1)
    if isinstance(body, dict) and isinstance(body.get("source"), dict) and body["source"].get("department"):
        return str(body["source"]["department"])
    if exchange and exchange.endswith(".events"):
        return exchange[: -len(".events")]
    return None


def record_from_message(raw, headers, properties, delivery_info, received_at):
    """The stored record of one dead letter (raw body base64, headers and properties as they came)."""
    headers = _plain(dict(headers or {}))
    properties = _plain(dict(properties or {}))
    if isinstance(raw, str):  # py-amqp hands over a body with a content_encoding already decoded
        raw = raw.encode(properties.get("content_encoding") or "utf-8", "surrogateescape")
    body, _ = redaction.decode_body(raw, properties.get("content_encoding"))
    queue = headers.get("x-childlink-queue") or (delivery_info or {}).get("routing_key")
    exchange = headers.get("x-childlink-exchange")
    event_id = headers.get("event_id") or properties.get("message_id") or (
        body.get("event_id") if isinstance(body, dict) and isinstance(body.get("event_id"), str) else None)
    type_ = headers.get("type") or (body.get("type") if isinstance(body, dict) else None) or headers.get(
        "x-childlink-routing-key")
    try:
        attempts = int(headers.get("x-childlink-attempts") or 0)
    except (TypeError, ValueError):
        attempts = 0
    reason = headers.get("x-childlink-reason")
    if reason is None and headers.get("x-first-death-reason"):  # dead-lettered by the broker itself
        reason = f"broker:{headers['x-first-death-reason']}"
    return {
        "dl_id": dead_letter_id(raw, headers),
        "event_id": event_id,
        "correlation_id": headers.get("correlation_id") or properties.get("correlation_id"),
        "department": department_of(headers, queue, exchange, body),
        "type": type_ if isinstance(type_, str) else None,
        "reason": reason or "unknown",
        "error": redaction.mask_text(headers.get("x-childlink-error")),
        "error_fields": headers.get("x-childlink-error-fields"),
        "queue": queue,
        "exchange": exchange,
        "routing_key": headers.get("x-childlink-routing-key"),
        "attempts": attempts,
        "first_failure": headers.get("x-childlink-first-failure"),
        "last_failure": headers.get("x-childlink-last-failure"),
        "received_at": now_iso(received_at),
        "status": "open",
        "replays": 0,
        "replay_of": headers.get(REPLAY_ID),
        "body_b64": base64.b64encode(raw or b"").decode("ascii"),
        "size": len(raw or b""),
        "headers": headers,
        "properties": {k: properties.get(k) for k in (
            "content_type", "content_encoding", "message_id", "correlation_id", "delivery_mode", "priority",
            "timestamp", "type", "app_id") if properties.get(k) is not None},
        "history": [],
    }


def raw_body(record):
    return base64.b64decode(record.get("body_b64") or "")


def replay_headers(headers, replay_id, at_iso, replays):
    """The original headers minus the failure and broker ones, plus the replay marker."""
    kept = {k: v for k, v in (headers or {}).items()
            if k not in FAILURE_HEADERS and k not in BROKER_HEADERS and k not in REPLAY_MARKERS}
    kept[REPLAY_ID] = replay_id
    kept[REPLAYED_AT] = at_iso
    kept[REPLAYS] = replays
    return kept


def summary(record):
    """The list view: no body, no headers, no traceback; the error masked, field errors masked."""
    return {
        "dl_id": record["dl_id"], "event_id": record.get("event_id"), "department": record.get("department"),
        "type": record.get("type"), "reason": record.get("reason"), "error": redaction.mask_text(record.get("error"), 300),
        "queue": record.get("queue"), "attempts": record.get("attempts"), "first_failure": record.get("first_failure"),
        "last_failure": record.get("last_failure"), "received_at": record.get("received_at"),
        "status": record.get("status"), "replays": record.get("replays", 0), "size": record.get("size"),
        "correlation_id": record.get("correlation_id"), "replay_of": record.get("replay_of"),
    }


def detail(record, raw=False):
    """One dead letter: redacted body and field errors, or (raw=True, authorised) the message as it came."""
    out = summary(record)
    out["error_fields"] = redaction.redact_error_fields(record.get("error_fields"))
    out["history"] = record.get("history") or []
    out["exchange"], out["routing_key"] = record.get("exchange"), record.get("routing_key")
    safe_headers = {k: v for k, v in (record.get("headers") or {}).items() if k != "x-childlink-traceback"}
    encoding = (record.get("properties") or {}).get("content_encoding")
    if raw:
        body, text = redaction.decode_body(raw_body(record), encoding)
        out["raw"] = {"body": body, "text": None if body is not None else text, "headers": record.get("headers"),
                      "properties": record.get("properties"),
                      "traceback": (record.get("headers") or {}).get("x-childlink-traceback")}
    else:
        out["body"] = redaction.redacted_view(raw_body(record), encoding)
        out["headers"] = {k: (redaction.mask_text(v, 300) if isinstance(v, str) else
                              v if isinstance(v, (int, float, bool)) or v is None else redaction._shape(v))
                          for k, v in safe_headers.items() if k != "x-childlink-error-fields"}
    return out


def normalise_filters(filters):
    """Only known fields, as short strings; empty values dropped."""
    out = {}
    for key in FILTER_FIELDS:
        value = (filters or {}).get(key)
        if value is None or value == "":
            continue
        out[key] = str(value)[:200]
    if out.get("status") not in (*STATUSES, None):
        out.pop("status")
    return out


def matches(record, filters):
    return all(record.get(key) == value for key, value in normalise_filters(filters).items())


def json_size(value):
    return len(json.dumps(value, default=str))
