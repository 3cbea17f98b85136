"""What a dead letter carries, built from the message that failed: body, headers and why it failed."""

import contextlib
import datetime as dt
import json
import threading
import traceback

from kombu import Connection, Producer

from . import settings, topology


def event_id_of(message):
    """The message's event_id: its message_id property, else its `event_id` header, else the body's own
    `event_id` when the body is a JSON object carrying one as text (a client may send neither property
    nor header), else None."""
    properties = getattr(message, "properties", None) or {}
    headers = getattr(message, "headers", None) or {}
    for found in (properties.get("message_id"), headers.get("event_id")):
        if isinstance(found, str) and found:
            return found
    raw = getattr(message, "body", None)
    try:
        encoding = getattr(message, "content_encoding", None) or "utf-8"
        body = json.loads(raw.decode(encoding) if isinstance(raw, bytes) else raw)
    except (TypeError, ValueError, LookupError, RecursionError):
        return None
    found = body.get("event_id") if isinstance(body, dict) else None
    return found if isinstance(found, str) and found else None


def dead_letter_headers(message, queue_name, reason, exc, attempts):
    """Original headers kept as they were, with the reason, error and origin beside them (and the
    event_id, found wherever the message carries one)."""
    headers = dict(message.headers or {})
    if not headers.get("event_id"):
        headers["event_id"] = event_id_of(message)
    delivery = message.delivery_info or {}
    now = dt.datetime.now(dt.UTC).isoformat()
    headers.update({
        "x-childlink-reason": reason,
        "x-childlink-error": f"{type(exc).__name__}: {exc}"[:2000] if exc else None,
        "x-childlink-error-fields": getattr(exc, "errors", None) or None,
        "x-childlink-traceback": "".join(traceback.format_exception(exc))[-4000:] if exc else None,
        "x-childlink-queue": queue_name,
        "x-childlink-exchange": delivery.get("exchange"),
        "x-childlink-routing-key": delivery.get("routing_key"),
        "x-childlink-attempts": attempts,
        "x-childlink-first-failure": headers.get("x-childlink-first-failure") or now,
        "x-childlink-last-failure": now,
    })
    return {key: value for key, value in headers.items() if value is not None}


class DeadLetterUnroutable(RuntimeError):
    pass


class DeadLetterPublisher:
    """Publishes dead letters with confirms and `mandatory`, so one that reaches no queue is an error."""

    def __init__(self, amqp_uri, ssl=None, topology_mode=None):
        self.amqp_uri = amqp_uri
        self.ssl = ssl
        self.topology_mode = topology_mode or settings.topology_mode()
        self._connection = None
        self._producer = None
        self._returned = []
        # One publish at a time: every worker of a consumer shares this connection, and two waiting
        # for their confirms on one socket at once break it ("Second simultaneous read on fileno").
        self._lock = threading.Lock()

    def _ready_producer(self):
        if self._producer is None:
            self._connection = Connection(self.amqp_uri, ssl=self.ssl,
                                          transport_options={"confirm_publish": True})
            channel = topology.ensure(self._connection, self.topology_mode)
            self._producer = Producer(channel, on_return=lambda *args: self._returned.append(args))
        return self._producer

    def publish(self, message, queue_name, reason, exc, attempts):
        with self._lock:
            try:
                self._returned.clear()
                publish_dead_letter(self._ready_producer(), message, queue_name, reason, exc, attempts)
                if self._returned:
                    raise DeadLetterUnroutable(f"dead letter for {queue_name} reached no queue")
            except Exception:
                self.close()
                raise

    def close(self):
        connection, self._connection, self._producer = self._connection, None, None
        if connection is not None:
            with contextlib.suppress(Exception):  # already broken: nothing to release cleanly
                connection.release()


def publish_dead_letter(producer, message, queue_name, reason, exc, attempts):
    properties = message.properties or {}
    producer.publish(
        message.body,
        exchange=topology.DEAD_LETTER_EXCHANGE,
        routing_key=queue_name,
        content_type=message.content_type,
        content_encoding=message.content_encoding,
        delivery_mode=2,
        message_id=properties.get("message_id") or event_id_of(message),
        correlation_id=properties.get("correlation_id"),
        headers=dead_letter_headers(message, queue_name, reason, exc, attempts),
        mandatory=True,
        retry=False,
    )
