"""RabbitMQ's management HTTP API, read only: queue depth, rates and consumers of one vhost.

MANAGEMENT_URL (default http://guest:guest@127.0.0.1:15672) with the credentials in it; the vhost is
the one in AMQP_URI. The `monitoring` tag is enough for everything read here.
"""

import os
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import requests

DEFAULT_URL = "http://guest:guest@127.0.0.1:15672"
COLUMNS = ("name,type,durable,auto_delete,exclusive,messages,messages_ready,messages_unacknowledged,"
           "consumers,arguments,message_stats")


class ManagementUnavailable(RuntimeError):
    pass


def vhost_of(amqp_uri):
    path = urlsplit(amqp_uri).path
    if not path or path == "/":
        return "/"
    return unquote(path[1:])


def management_url():
    return os.environ.get("MANAGEMENT_URL", DEFAULT_URL).rstrip("/")


def _rate(stats, name):
    details = (stats or {}).get(f"{name}_details") or {}
    return float(details.get("rate") or 0.0)


def queue_view(raw):
    stats = raw.get("message_stats") or {}
    return {
        "name": raw.get("name"),
        "type": raw.get("type"),
        "durable": bool(raw.get("durable")),
        "auto_delete": bool(raw.get("auto_delete")),
        "exclusive": bool(raw.get("exclusive")),
        "messages": int(raw.get("messages") or 0),
        "ready": int(raw.get("messages_ready") or 0),
        "unacked": int(raw.get("messages_unacknowledged") or 0),
        "consumers": int(raw.get("consumers") or 0),
        "publish_rate": _rate(stats, "publish"),
        "deliver_rate": _rate(stats, "deliver_get"),
        "ack_rate": _rate(stats, "ack"),
        "redeliver_rate": _rate(stats, "redeliver"),
        "max_length": (raw.get("arguments") or {}).get("x-max-length"),
    }


class Management:
    def __init__(self, url, vhost, timeout_s=3.0, session=None):
        parts = urlsplit(url)
        self.auth = (unquote(parts.username or "guest"), unquote(parts.password or "guest"))
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        self.base = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
        self.vhost = vhost
        self.timeout_s = timeout_s
        self.session = session or requests.Session()

    @classmethod
    def from_env(cls, amqp_uri):
        return cls(management_url(), vhost_of(amqp_uri))

    def _get(self, path, params=None):
        try:
            response = self.session.get(f"{self.base}{path}", params=params, auth=self.auth, timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise ManagementUnavailable(f"{type(exc).__name__}") from exc
        if response.status_code != 200:
            raise ManagementUnavailable(f"HTTP {response.status_code} on {path}")
        return response.json()

    def queues(self):
        raw = self._get(f"/api/queues/{quote(self.vhost, safe='')}", {"columns": COLUMNS})
        return sorted((queue_view(q) for q in raw), key=lambda q: q["name"])

    def overview(self):
        raw = self._get("/api/overview", {"columns": "rabbitmq_version,cluster_name,object_totals"})
        return {"version": raw.get("rabbitmq_version"), "cluster": raw.get("cluster_name"),
                "totals": raw.get("object_totals") or {}}
