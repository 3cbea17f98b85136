"""Outbox backlog per service: what each accepted and the broker has not yet confirmed.

Each department service (and referral, which publishes its own events through an outbox) reports
`outbox_backlog` on GET /health. The monitor polls them; a backlog that keeps rising means the relay
cannot publish (broker away, relay stopped) while ingest still accepts.

MONITOR_HEALTH_URLS: comma-separated `name=url` pairs; default the local `make run` ports.
"""

import os
from collections import deque

import requests

DEFAULT_URLS = {"social": "http://127.0.0.1:8101", "education": "http://127.0.0.1:8102",
                "health": "http://127.0.0.1:8103", "medical": "http://127.0.0.1:8104",
                "referral": "http://127.0.0.1:8105"}
HISTORY = 60


def health_urls(env=os.environ):
    raw = env.get("MONITOR_HEALTH_URLS")
    if not raw:
        return dict(DEFAULT_URLS)
    urls = {}
    for pair in raw.split(","):
        if "=" in pair:
            name, url = pair.split("=", 1)
            if name.strip() and url.strip():
                urls[name.strip()] = url.strip().rstrip("/")
    return urls


class OutboxWatch:
    """Polls every service's /health and keeps the last HISTORY backlogs of each."""

    def __init__(self, urls, timeout_s=3.0, session=None):
        self.urls = dict(urls)
        self.timeout_s = timeout_s
        self.session = session or requests.Session()
        self.history = {name: deque(maxlen=HISTORY) for name in self.urls}
        self.failures = dict.fromkeys(self.urls, 0)  # consecutive polls without an answer
        self.latest = {name: {"ok": False, "error": "not polled yet", "history": []} for name in self.urls}

    def poll_one(self, name, url, at):
        try:
            response = self.session.get(f"{url}/health", timeout=self.timeout_s)
            body = response.json() if response.status_code == 200 else None
        except (requests.RequestException, ValueError) as exc:
            return {"ok": False, "error": type(exc).__name__, "at": at}
        if not isinstance(body, dict) or "outbox_backlog" not in body:
            return {"ok": False, "error": f"HTTP {response.status_code}", "at": at}
        relay = body.get("relay") if isinstance(body.get("relay"), dict) else {}
        return {"ok": True, "backlog": int(body["outbox_backlog"]), "relay": relay, "at": at}

    def poll(self, at):
        for name, url in self.urls.items():
            result = self.poll_one(name, url, at)
            if result["ok"]:
                self.history[name].append(result["backlog"])
                self.failures[name] = 0
            else:
                self.failures[name] += 1
            result["failures"] = self.failures[name]
            result["history"] = list(self.history[name])
            self.latest[name] = result
        return self.latest
