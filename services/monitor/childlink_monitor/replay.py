"""Sending a dead letter back to the queue it failed from, with publisher confirms.

Published to the default exchange with the queue's name as routing key and `mandatory`, so a queue
that no longer exists is an error (the message comes back), not a silent drop; the broker's confirm
is awaited before the replay counts as done.
"""

import threading

from childlink_common.logs import get_logger
from kombu import Connection, Producer

log = get_logger(__name__)


class ReplayRefused(RuntimeError):
    pass


class Replayer:
    def __init__(self, amqp_uri, ssl=None):
        self.amqp_uri = amqp_uri
        self.ssl = ssl
        self._lock = threading.Lock()
        self._connection = None
        self._producer = None
        self._returned = []

    def _ready(self):
        if self._producer is None:
            connection = Connection(self.amqp_uri, ssl=self.ssl, connect_timeout=5,
                                    transport_options={"confirm_publish": True})
            try:
                connection.ensure_connection(max_retries=1)
                self._producer = Producer(connection.channel(), auto_declare=False,
                                          on_return=lambda exc, exchange, key, message: self._returned.append(key))
            except Exception:
                connection.release()
                raise
            self._connection = connection
        return self._producer

    def publish(self, queue, body, headers, properties):
        """Returns when the broker confirmed it; raises ReplayRefused (no such queue) or the broker's error."""
        with self._lock:
            try:
                self._returned.clear()
                self._ready().publish(
                    body, exchange="", routing_key=queue, mandatory=True, retry=False, delivery_mode=2,
                    content_type=properties.get("content_type") or "application/octet-stream",
                    content_encoding=properties.get("content_encoding") or "binary",
                    message_id=properties.get("message_id"), correlation_id=properties.get("correlation_id"),
                    headers=headers,
                )
                if self._returned:
                    raise ReplayRefused(f"no queue {queue!r}: the broker returned the message")
            except Exception:
                self.close()
                raise

    def close(self):
        connection, self._connection, self._producer = self._connection, None, None
        if connection is not None:
            try:
                connection.release()
            except Exception:  # noqa: BLE001, S110 - already broken
                pass
