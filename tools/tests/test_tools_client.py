"""IngestClient against a local HTTP server: what it sends, and how it reads each answer."""

import json
import socket

import pytest
from childlink_tools.client import (
    ConflictingEvents,
    IngestClient,
    IngestUnavailable,
    InvalidEvents,
    MalformedRequest,
    PayloadTooLarge,
    Unauthorised,
)
from childlink_tools.simulator import generate


@pytest.fixture(scope="module")
def health_events():
    return [event for department, event in generate(5, seed=11) if department == "health"]


def client_for(fake, department="health", key=None, sleeps=None):
    return IngestClient(fake.url(department), key or f"dev-{department}-key", timeout=5,
                        sleep=(sleeps.append if sleeps is not None else lambda seconds: None))


def test_a_batch_is_posted_as_json_with_the_key_and_comes_back_accepted(fake_ingest, health_events):
    batch = health_events[:3]
    answer = client_for(fake_ingest).send(batch)
    assert answer == {"accepted": [{"event_id": e["event_id"], "status": "accepted"} for e in batch]}
    department, headers, raw = fake_ingest.requests[0]
    assert department == "health" and headers["X-API-Key"] == "dev-health-key"
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(raw) == batch


def test_a_single_event_is_posted_as_an_object_and_a_resend_is_a_duplicate(fake_ingest, health_events):
    client = client_for(fake_ingest)
    assert client.send(health_events[0])["accepted"][0]["status"] == "accepted"
    assert isinstance(json.loads(fake_ingest.requests[0][2]), dict)
    assert client.send([health_events[0]])["accepted"][0]["status"] == "duplicate"


def test_422_raises_invalid_events_with_field_errors_by_index(fake_ingest, health_events):
    broken = json.loads(json.dumps(health_events[1]))
    broken["subject"]["child"]["national_id"] = "1234567890122"  # wrong check digit
    with pytest.raises(InvalidEvents) as raised:
        client_for(fake_ingest).send([health_events[0], broken])
    error = raised.value
    assert error.status == 422
    assert list(error.errors_by_index()) == [1]
    assert "subject.child.national_id" in error.errors_by_index()[1]
    assert "subject.child.national_id" in str(error)
    assert fake_ingest.stored == {}  # all or nothing


def test_409_raises_conflicting_events_naming_the_event_id_by_index(fake_ingest, health_events):
    fake_ingest.answer_next(409, {"error": "conflict", "detail": "nothing was stored",
                                  "errors": {"1": {"event_id": ["already accepted with other content"]}}})
    with pytest.raises(ConflictingEvents) as raised:
        client_for(fake_ingest).send(health_events[:2])
    assert raised.value.status == 409 and isinstance(raised.value, InvalidEvents)
    assert raised.value.errors_by_index() == {1: {"event_id": ["already accepted with other content"]}}


def test_401_raises_unauthorised(fake_ingest, health_events):
    with pytest.raises(Unauthorised) as raised:
        client_for(fake_ingest, key="wrong-key").send(health_events[:1])
    assert raised.value.status == 401
    assert raised.value.body["error"] == "unauthorised"


def test_400_and_413_raise_their_own_errors_without_retrying(fake_ingest, health_events):
    sleeps = []
    fake_ingest.answer_next(400, {"error": "malformed_json", "detail": "bad"})
    with pytest.raises(MalformedRequest):
        client_for(fake_ingest, sleeps=sleeps).send(health_events[:1])
    fake_ingest.answer_next(413, {"error": "too_large", "detail": "at most 1000 events per request"})
    with pytest.raises(PayloadTooLarge) as raised:
        client_for(fake_ingest, sleeps=sleeps).send(health_events[:1])
    assert "1000 events" in str(raised.value)
    assert sleeps == [] and len(fake_ingest.requests) == 2


def test_5xx_is_retried_with_growing_bounded_backoff_then_succeeds(fake_ingest, health_events):
    sleeps = []
    for _ in range(3):
        fake_ingest.answer_next(503, {"error": "unavailable"})
    answer = client_for(fake_ingest, sleeps=sleeps).send(health_events[:2])
    assert [entry["status"] for entry in answer["accepted"]] == ["accepted", "accepted"]
    assert len(sleeps) == 3 and sleeps[0] < sleeps[2] <= 8.0
    assert len(fake_ingest.requests) == 4


def test_5xx_that_outlasts_the_retries_raises_unavailable(fake_ingest, health_events):
    for _ in range(5):
        fake_ingest.answer_next(500, {"error": "internal"})
    with pytest.raises(IngestUnavailable) as raised:
        client_for(fake_ingest).send(health_events[:1])
    assert raised.value.status == 500 and len(fake_ingest.requests) == 5


def test_nothing_listening_raises_unavailable_after_the_retries(health_events):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleeps = []
    client = IngestClient(f"http://127.0.0.1:{port}", "dev-health-key", timeout=2, retries=2,
                          sleep=sleeps.append)
    with pytest.raises(IngestUnavailable) as raised:
        client.send(health_events[:1])
    assert raised.value.status is None and len(sleeps) == 2
