"""A small client for a department's ingest API: `POST {base_url}/v1/events` with the system's API key.

The service answers 202 with a status per event ("accepted" or "duplicate"), or rejects the whole
request: 422 with field errors per event index, 409 when an event_id was accepted before with other
content, 401 for a wrong key, 400 for malformed JSON, 413 when too large. Those raise an `IngestError`
subclass carrying the status and the errors.

Connection failures, timeouts and 5xx answers are retried with bounded exponential backoff. Resending
is safe because the service is idempotent by `event_id`: an event that did arrive the first time comes
back as "duplicate" the second.

A client holds one HTTP session; use one client per thread.
"""

import json
import random
import time

import requests

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


class IngestError(Exception):
    """The service did not take the request. `status` is the HTTP status (None when it never answered);
    `errors` holds the service's field errors for a 422, keyed by event index as a string."""

    def __init__(self, status, message, errors=None, body=None):
        self.status = status
        self.errors = errors or {}
        self.body = body
        super().__init__(message)


class InvalidEvents(IngestError):
    """422: at least one event broke its contract; nothing in the request was stored."""

    def errors_by_index(self):
        """{event index in the request: {dotted field: [messages]}}; batch-level errors are left out."""
        return {int(key): fields for key, fields in self.errors.items() if key.isdigit()}


class ConflictingEvents(InvalidEvents):
    """409: an event reuses an event_id this department accepted before with other content (each named
    by its index, field `event_id`); nothing in the request was stored. Send the event as it was
    accepted, or a new event that names it in `supersedes`."""


class Unauthorised(IngestError):
    """401: missing or wrong X-API-Key."""


class MalformedRequest(IngestError):
    """400: the body was not JSON the service could read."""


class PayloadTooLarge(IngestError):
    """413: too many bytes or too many events in one request; send smaller batches."""


class IngestUnavailable(IngestError):
    """No answer (connection refused, timeout) or a server error that outlasted the retries."""


_BY_STATUS = {400: MalformedRequest, 401: Unauthorised, 409: ConflictingEvents, 413: PayloadTooLarge,
              422: InvalidEvents}


def _describe(status, body):
    if not isinstance(body, dict):
        return f"HTTP {status}"
    text = f"HTTP {status} {body.get('error', '')}: {body.get('detail', '')}".rstrip(": ")
    errors = body.get("errors") or {}
    shown = []
    for index, fields in list(errors.items())[:3]:
        if isinstance(fields, dict):
            shown += [f"event {index} {path}: {' '.join(map(str, msgs))}" for path, msgs in fields.items()]
        else:
            shown.append(f"{index}: {fields}")
    if shown:
        text += " (" + "; ".join(shown[:5]) + (" ..." if len(errors) > 3 or len(shown) > 5 else "") + ")"
    return text


class IngestClient:
    def __init__(self, base_url, api_key, timeout=10.0, retries=4, backoff=0.5, max_backoff=8.0,
                 sleep=time.sleep, session=None):
        self.url = base_url.rstrip("/") + "/v1/events"
        self.api_key = api_key
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._sleep = sleep
        self._session = session or requests.Session()
        self._jitter = random.Random()

    def send(self, events):
        """POST one event (a dict) or a batch (a list); return the 202 body, or raise IngestError."""
        body = json.dumps(events, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8", "X-API-Key": self.api_key}
        attempt = 0
        while True:
            try:
                response = self._session.post(self.url, data=body, headers=headers, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if attempt >= self.retries:
                    raise IngestUnavailable(None, f"no answer from {self.url} after {attempt + 1} tries: {exc}")
                self._pause(attempt, None)
                attempt += 1
                continue
            if response.status_code == 202:
                return response.json()
            answer = self._json(response)
            if response.status_code in RETRYABLE_STATUSES and attempt < self.retries:
                self._pause(attempt, response.headers.get("Retry-After"))
                attempt += 1
                continue
            raise self._error(response.status_code, answer)

    def _pause(self, attempt, retry_after):
        delay = min(self.max_backoff, self.backoff * 2 ** attempt)
        delay *= 0.5 + self._jitter.random() / 2  # spread retries of parallel senders apart
        if retry_after and retry_after.isdigit():
            delay = min(self.max_backoff, max(delay, float(retry_after)))
        self._sleep(delay)

    @staticmethod
    def _json(response):
        try:
            return response.json()
        except ValueError:
            return {"detail": response.text[:200]}

    @staticmethod
    def _error(status, body):
        cls = _BY_STATUS.get(status, IngestUnavailable if status >= 500 else IngestError)
        errors = body.get("errors") if isinstance(body, dict) else None
        return cls(status, _describe(status, body), errors=errors, body=body)

    def close(self):
        self._session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
