"""Event identity through the real services: department + event_id, told apart by content
(childlink_contracts.content); and chunked request bodies read with the same limit."""

import http.client
import json
from urllib.parse import urlsplit

import pytest
import requests
from childlink_common.ingest import MAX_BODY_BYTES
from childlink_common.testing.events import child, event
from childlink_common.testing.services import api_key, wait_until

pytestmark = pytest.mark.e2e


def post_chunked(url, body, key, piece=4096):
    """POST with Transfer-Encoding: chunked (no Content-Length), as a streaming client sends it."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.request("POST", "/v1/events", body=(body[i:i + piece] for i in range(0, len(body), piece)),
                           headers={"X-API-Key": key, "Content-Type": "application/json"}, encode_chunked=True)
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        connection.close()


def test_event_ids_are_scoped_by_department_and_content_is_checked(system):
    health = event("health", "child.growth_measured", subject=child("HN-1", national_id="1234567890121"))
    social = event("social", "child.enrolled", event_id=health["event_id"],
                   subject=child("CDC-9", national_id="3101700000016", given_name="ดวงใจ"))
    for department, body in (("health", health), ("social", social)):
        answer = system.post(department, body)
        assert answer.status_code == 202 and answer.json()["accepted"][0]["status"] == "accepted"
    # before: the social event was taken for a duplicate of the health one and never reached its child
    for department, facility, local_id, type_ in (("health", "HC-1001-01", "HN-1", "child.growth_measured"),
                                                  ("social", "CDC-1001-01", "CDC-9", "child.enrolled")):
        query = {"department": department, "facility": facility, "local_id": local_id}
        child_id = wait_until(lambda q=query: system.find_child(**q), message=f"the {department} child")
        entries = wait_until(lambda c=child_id: (system.timeline(c) or {}).get("entries"),
                             message=f"the {department} timeline")
        assert [(e["department"], e["event_id"], e["type"]) for e in entries] == [
            (department, health["event_id"], type_)]

    # the same event_id with other content: 409 naming event_id, and nothing of the batch is stored
    changed = {**health, "payload": {"weight_kg": 10.2, "height_cm": 76.1}}
    fresh = event("health", "child.immunised", subject=child("HN-1", national_id="1234567890121"))
    answer = system.post("health", [fresh, changed])
    assert answer.status_code == 409
    assert answer.json()["error"] == "conflict" and list(answer.json()["errors"]) == ["1"]
    assert list(answer.json()["errors"]["1"]) == ["event_id"]
    lookup = requests.get(f"{system['health'].url}/v1/events/{fresh['event_id']}",  # the outbox's own record
                          headers={"X-API-Key": api_key("health")}, timeout=10)
    assert lookup.status_code == 404
    # the same content again (a new recorded_at is no new content) stays a duplicate
    again = {**health, "recorded_at": event("health", "child.registered", occurred_days_ago=1)["recorded_at"]}
    answer = system.post("health", again)
    assert answer.status_code == 202 and answer.json()["accepted"][0]["status"] == "duplicate"


def test_a_chunked_body_is_read_with_the_same_limit(system):
    body = event("health", "child.registered", subject=child("HN-7"))
    status, answer = post_chunked(system["health"].url, json.dumps(body).encode(), api_key("health"))
    # before: 400 malformed_json, the chunked body never read
    assert status == 202 and answer["accepted"] == [{"event_id": body["event_id"], "status": "accepted"}]
    wait_until(lambda: system.find_child(department="health", facility="HC-1001-01", local_id="HN-7"),
               message="the chunked event in the timeline")
    too_big = b"[" + b" " * MAX_BODY_BYTES + b"]"
    status, answer = post_chunked(system["health"].url, too_big, api_key("health"), piece=1 << 20)
    assert status == 413 and answer["error"] == "too_large"
