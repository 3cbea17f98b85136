"""How an event travels over AMQP: exchange, routing key, properties and headers.

The department relay publishes so (childlink_common.relay, held to this by its tests), the AsyncAPI
document says so (docs.py renders it from here), and the referral's consumer accepts what it says.
"""

CONTENT_TYPE = "application/json"
CONTENT_ENCODING = "utf-8"
PERSISTENT = 2  # AMQP delivery_mode: written to disk by the broker
HEADERS = ("event_id", "correlation_id", "department", "type", "version")


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
