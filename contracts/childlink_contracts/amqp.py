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
