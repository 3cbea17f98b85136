"""How an event travels over AMQP: exchange, routing key, properties and headers.

The department relay publishes so (childlink_common.relay, held to this by its tests), the AsyncAPI
document says so (docs.py renders it from here), and the referral's consumer accepts what it says.
"""

import hashlib

from .national_id import is_valid_national_id

CONTENT_TYPE = "application/json"
CONTENT_ENCODING = "utf-8"
PERSISTENT = 2  # AMQP delivery_mode: written to disk by the broker
HEADERS = ("event_id", "correlation_id", "department", "type", "version")
PARTITION_HEADER = "x-childlink-partition-key"
KEY_BITS_HEX = 8  # 32 bits


def exchange_name(department):
    """Each department publishes to its own durable topic exchange."""
    return f"{department}.events"


def routing_key(event):
    """The event's `type`, exactly (e.g. `child.growth_measured`)."""
    return event["type"]


def headers(event):
    """The application headers the relay sends beside the body, each a copy of the body's field."""
    return {
        "event_id": event["event_id"],
        "correlation_id": event.get("correlation_id") or event["event_id"],
        "department": event["source"]["department"],
        "type": event["type"],
        "version": event["version"],
    }


def relay_headers(event):
    """Every header the childlink relay sends: the copies of the body's fields and the child's
    partition key (hashed, never a national ID), which the referral's partitions are spread by when it
    runs partitioned; it costs nothing when it does not."""
    return {**headers(event), PARTITION_HEADER: partition_key(event)}


def properties(event):
    """The AMQP basic properties the relay sets."""
    return {
        "content_type": CONTENT_TYPE,
        "content_encoding": CONTENT_ENCODING,
        "delivery_mode": PERSISTENT,
        "message_id": event["event_id"],
        "correlation_id": event.get("correlation_id") or event["event_id"],
    }


def disagreements(body, message_properties, message_headers):
    """{"headers.<name>" or "properties.<name>": [why]} for each header or property given that is not a
    copy of the body's field. All of them are optional; none may contradict the body (the document says
    so, and dead letters and the monitor would otherwise name another event). A field the body lacks is
    left to the contract check, which names it."""
    if not isinstance(body, dict):
        return {}
    source = body.get("source") if isinstance(body.get("source"), dict) else {}
    expected = {
        "event_id": body.get("event_id"),
        "correlation_id": body.get("correlation_id") or body.get("event_id"),
        "department": source.get("department"),
        "type": body.get("type"),
        "version": body.get("version"),
    }
    found = {}
    for name in HEADERS:
        given = (message_headers or {}).get(name)
        if given is not None and expected[name] is not None and given != expected[name]:
            found[f"headers.{name}"] = [f"{given!r} is not the body's {name} ({expected[name]!r})"]
    for name, field in (("message_id", "event_id"), ("correlation_id", "correlation_id")):
        given = (message_properties or {}).get(name)
        if given is not None and expected[field] is not None and given != expected[field]:
            found[f"properties.{name}"] = [f"{given!r} is not the body's {field} ({expected[field]!r})"]
    return found


def child_key(event):
    """`nid:<national id>` when the event carries a valid one, else `local:<dept>:<facility>:<local id>`;
    `centre:<id>` for a centre event. None when the event has neither (the contract check names why)."""
    try:
        subject = event["subject"]
        if subject.get("centre"):
            return f"centre:{subject['centre'].get('centre_id')}"
        child = subject["child"]
        national_id = child.get("national_id")
        if national_id and is_valid_national_id(national_id):
            return f"nid:{national_id}"
        return f"local:{event['source']['department']}:{event['source']['facility']['code']}:{child['local_id']}"
    except (KeyError, TypeError, AttributeError):
        return None


def partition_key(event):
    """The header value: the child key hashed (SHA-256) and cut to 32 bits, or the event_id's when the
    event names no child (it still has to land in some partition)."""
    key = child_key(event) or f"event:{event.get('event_id') if isinstance(event, dict) else None}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:KEY_BITS_HEX]
