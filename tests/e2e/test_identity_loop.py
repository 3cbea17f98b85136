"""Identity resolution end to end: real health, social and referral services as processes on the real
RabbitMQ (a throwaway vhost).

- the same child, registered without a national ID at a health centre and at a child development centre,
  ends as one child with one timeline; `child.linked` is published on referral.events;
- twins (same birth date, family name and mother) stay two children, and the pair waits for a person in
  the review queue (HTTP API);
- a registrar undoes the link over HTTP: both timelines are back as they were, `child.unlinked` is
  published, and a later event for the health centre's record still lands on its own child.
"""

import json
from urllib.parse import urlparse

import pytest
import requests
from childlink_common.testing.events import child, event
from childlink_common.testing.services import System, identity_headers, wait_until
from kombu import Connection, Exchange, Queue

pytestmark = pytest.mark.e2e

WATCH_QUEUE = "e2e.identity.events.watch"
MOTHER = {"national_id": "3100701443816", "phone": "0812345678", "relation": "mother"}
REGISTRAR = identity_headers({"user_id": "reg.suda", "role": "registrar", "department": "health"})


@pytest.fixture(scope="module")
def amqp_uri(request, vhost_pipeline):
    parts = urlparse(request.config.getoption("RABBIT_AMQP_URI"))
    with vhost_pipeline.get() as vhost:
        yield f"{parts.scheme}://{parts.netloc}/{vhost}"


@pytest.fixture(scope="module")
def published(amqp_uri):
    with Connection(amqp_uri) as connection:
        exchange = Exchange("referral.events", type="topic", durable=True)
        Queue(WATCH_QUEUE, exchange=exchange, routing_key="child.#", durable=False)(connection.channel()).declare()
    seen = []

    def read():
        with Connection(amqp_uri) as connection:
            channel = connection.channel()
            while (message := channel.basic_get(queue=WATCH_QUEUE, no_ack=True)) is not None:
                seen.append(json.loads(message.body))
        return seen

    return read


@pytest.fixture(scope="module")
def system(amqp_uri, published, tmp_path_factory):
    running = System(amqp_uri, tmp_path_factory.mktemp("identity-loop"), services=("health", "social", "referral"))
    running.start()
    yield running
    running.stop()
    for name, process in running.processes.items():  # shown by pytest only when a test failed
        print(f"----- {name} log (tail) -----\n{process.logs()[-4000:]}")


def subject(local_id, given_name="สมใจ", **kw):
    return child(local_id=local_id, national_id=None, **{"given_name": given_name, "family_name": "รักไทย",
                                                         "birth_date": "2023-08-09", "guardian": MOTHER, **kw})


def entries(system, child_id):
    return [{k: v for k, v in e.items() if k != "duplicates"} for e in system.timeline(child_id)["entries"]]


def test_one_child_in_two_departments_is_linked_and_the_link_can_be_undone(system, published):
    health = [event("health", "child.registered", subject=subject("HN-ID-1", given_name="ด.ญ. สมใจ"),
                    occurred_days_ago=400),
              event("health", "child.immunised", subject=subject("HN-ID-1"), occurred_days_ago=300)]
    assert system.post("health", health).status_code == 202
    health_child = wait_until(lambda: system.find_child(department="health", facility="HC-1001-01",
                                                        local_id="HN-ID-1"), message="health record stored")
    wait_until(lambda: len(system.timeline(health_child)["entries"]) == 2, message="both health events")
    before = entries(system, health_child)

    social = event("social", "child.enrolled", subject=subject("CDC-ID-1", given_name="สมใจ"), occurred_days_ago=100)
    assert system.post("social", [social]).status_code == 202
    wait_until(lambda: len(system.timeline(health_child)["entries"]) == 3, message="the centre's record linked")
    assert system.find_child(department="social", facility="CDC-1001-01", local_id="CDC-ID-1") == health_child
    [linked] = wait_until(lambda: [e for e in published() if e["type"] == "child.linked"], message="child.linked")
    assert linked["payload"]["kept_id"] == health_child and linked["payload"]["how"] == "automatic"
    merged_child = linked["payload"]["merged_id"]
    assert system.timeline(merged_child)["merged_into"] == health_child

    undo = requests.post(f"{system['referral'].url}/v1/identity/merges/{linked['payload']['merge_id']}/undo",
                         json={"reason": "two children after all", "expected_version": 1}, headers=REGISTRAR,
                         timeout=10)
    assert undo.status_code == 200, undo.text
    assert entries(system, health_child) == before
    assert [e["event_id"] for e in system.timeline(merged_child)["entries"]] == [social["event_id"]]
    wait_until(lambda: any(e["type"] == "child.unlinked" for e in published()), message="child.unlinked")
    again = requests.post(f"{system['referral'].url}/v1/identity/merges/{linked['payload']['merge_id']}/undo",
                          json={"reason": "twice", "expected_version": 2}, headers=REGISTRAR, timeout=10)
    assert again.status_code == 409
    nurse = requests.post(f"{system['referral'].url}/v1/identity/merges/{linked['payload']['merge_id']}/undo",
                          json={"reason": "x", "expected_version": 2},
                          headers={**REGISTRAR, "X-Childlink-Role": "health_centre_staff"}, timeout=10)
    assert nurse.status_code == 403


def test_twins_stay_two_children_and_wait_in_the_review_queue(system):
    first = event("health", "child.registered", subject=subject("HN-TW-1", given_name="ปิติ", sex="male",
                                                                birth_date="2022-02-02"), occurred_days_ago=200)
    second = event("health", "child.registered", subject=subject("HN-TW-2", given_name="ปรีชา", sex="male",
                                                                 birth_date="2022-02-02"), occurred_days_ago=200)
    assert system.post("health", [first, second]).status_code == 202
    ids = [wait_until(lambda local_id=local_id: system.find_child(department="health", facility="HC-1001-01",
                                                                  local_id=local_id), message=local_id)
           for local_id in ("HN-TW-1", "HN-TW-2")]
    assert ids[0] != ids[1]
    queue = wait_until(lambda: [r for r in requests.get(f"{system['referral'].url}/v1/identity/reviews",
                                                        headers=REGISTRAR, timeout=10).json()["items"]
                                if {r["child_id"], r["candidate_id"]} == set(ids)], message="the twins in review")
    detail = requests.get(f"{system['referral'].url}/v1/identity/reviews/{queue[0]['review_id']}",
                          headers=REGISTRAR, timeout=10).json()
    assert {detail["child"]["records"][0]["subject"]["given_name"],
            detail["candidate"]["records"][0]["subject"]["given_name"]} == {"ปิติ", "ปรีชา"}
    refused = requests.post(f"{system['referral'].url}/v1/identity/reviews/{queue[0]['review_id']}/decision",
                            json={"decision": "keep_apart", "expected_version": 1}, headers=REGISTRAR, timeout=10)
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "reason"
    kept = requests.post(f"{system['referral'].url}/v1/identity/reviews/{queue[0]['review_id']}/decision",
                         json={"decision": "keep_apart", "reason": "twins", "expected_version": 1},
                         headers=REGISTRAR, timeout=10)
    assert kept.status_code == 200 and kept.json()["review"]["status"] == "kept_apart"


def test_a_body_that_is_not_a_json_object_is_refused_naming_it(system):
    base = system["referral"].url
    for path in ("/v1/identity/reviews/ir-x/decision", "/v1/identity/merges/m-x/undo"):
        for body in (b"{not json", b"[1, 2]"):
            answer = requests.post(f"{base}{path}", data=body, headers=REGISTRAR, timeout=10)
            assert answer.status_code == 400 and answer.json()["error"] == "malformed_json", (path, body)
    search = requests.post(f"{base}/v1/children/search", data=b"{not json", headers=REGISTRAR, timeout=10)
    assert search.status_code == 400 and search.json()["error"] == "malformed_json"
    listed = requests.post(f"{base}/v1/children/search", data=b"[1, 2]", headers=REGISTRAR, timeout=10)
    assert listed.status_code == 422


def test_a_national_id_arriving_on_a_known_record_links_the_two_children_whole(system, published):
    """Issue 12: health record A without an ID, social with the ID and a spelling slip (วรรณา / วันนา): two
    children and a review; a third health event of A with the ID links them - every event of A with
    it - and neither page is left with a pending review."""
    nid = "1103700012346"
    base = {"given_name": "วรรณา", "family_name": "แสงทอง", "birth_date": "2023-02-11"}

    def subject(local_id, national_id=None, **kw):  # no guardian: nothing but the names to go on
        return child(local_id=local_id, national_id=national_id, **kw)

    first = event("health", "child.registered", subject=subject("HN-NID-A", **base), occurred_days_ago=90)
    assert system.post("health", [first]).status_code == 202
    health_child = wait_until(lambda: system.find_child(department="health", facility="HC-1001-01",
                                                        local_id="HN-NID-A"), message="record A stored")
    social = event("social", "child.enrolled", occurred_days_ago=60,
                   subject=subject("CDC-NID-1", **{**base, "given_name": "วันนา"}, national_id=nid))
    assert system.post("social", [social]).status_code == 202
    social_child = wait_until(lambda: system.find_child(national_id=nid), message="the social record stored")
    assert social_child != health_child
    third = event("health", "child.growth_measured", payload={"weight_kg": 11.2, "height_cm": 84.0},
                  subject=subject("HN-NID-A", **base, national_id=nid), occurred_days_ago=5)
    assert system.post("health", [third]).status_code == 202
    [linked] = wait_until(lambda: [e for e in published() if e["type"] == "child.linked"
                                   and e["payload"]["how"] == "national_id"], message="child.linked by national ID")
    kept = linked["payload"]["kept_id"]
    assert {kept, linked["payload"]["merged_id"]} == {health_child, social_child}
    ids = wait_until(lambda: {e["event_id"] for e in system.timeline(kept)["entries"]} or None)
    assert {first["event_id"], social["event_id"], third["event_id"]} <= ids
    assert system.find_child(department="health", facility="HC-1001-01", local_id="HN-NID-A") == kept
    open_reviews = requests.get(f"{system['referral'].url}/v1/identity/reviews", headers=REGISTRAR,
                                timeout=10).json()["items"]
    assert not [r for r in open_reviews if kept in (r["child_id"], r["candidate_id"])
                or linked["payload"]["merged_id"] in (r["child_id"], r["candidate_id"])]
