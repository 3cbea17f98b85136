"""A stand-in for the department ingest APIs: one small HTTP server on 127.0.0.1, in a thread.

It answers as the API is specified: `POST /<department>/v1/events` with `X-API-Key: dev-<department>-key`
-> 202 with a status per event, 422 with field errors by index (nothing stored), 401, 400. Events are
checked with the real contracts. A test can queue canned answers (`answer_next`) to play a failing server.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from childlink_contracts import ContractError, validate_event


class FakeIngest:
    def __init__(self):
        self.stored = {}  # (department, event_id) -> event
        self.requests = []  # (department, headers, body) as received
        self.canned = []  # (status, body) answered before any real handling
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, department):
        return f"http://127.0.0.1:{self.server.server_port}/{department}"

    def answer_next(self, status, body):
        self.canned.append((status, body))

    def handle(self, department, headers, raw):
        with self.lock:
            self.requests.append((department, dict(headers), raw))
            if self.canned:
                return self.canned.pop(0)
            if headers.get("X-API-Key") != f"dev-{department}-key":
                return 401, {"error": "unauthorised", "detail": "missing or wrong X-API-Key"}
            try:
                document = json.loads(raw)
            except ValueError as exc:
                return 400, {"error": "malformed_json", "detail": str(exc)}
            events = document if isinstance(document, list) else [document]
            errors, seen = {}, set()
            for index, event in enumerate(events):
                try:
                    validate_event(event, department)
                except ContractError as exc:
                    errors[str(index)] = exc.errors
                    continue
                if event["event_id"] in seen:
                    errors[str(index)] = {"event_id": ["appears twice in this batch"]}
                seen.add(event["event_id"])
            if errors:
                return 422, {"error": "invalid_events", "detail": "nothing was stored", "errors": errors}
            accepted = []
            for event in events:
                key = (department, event["event_id"])
                accepted.append({"event_id": event["event_id"],
                                 "status": "duplicate" if key in self.stored else "accepted"})
                self.stored.setdefault(key, event)
            return 202, {"accepted": accepted}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                department, _, path = self.path.strip("/").partition("/")
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if path != "v1/events":
                    status, body = 404, {"error": "not_found"}
                else:
                    status, body = fake.handle(department, self.headers, raw)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        return Handler


@pytest.fixture
def fake_ingest():
    fake = FakeIngest()
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()
