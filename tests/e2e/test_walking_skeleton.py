"""The first slice end to end: real services as processes, the real local RabbitMQ, the embedded store."""

import json

import pytest
from childlink_common import topology
from childlink_common.testing.events import child, event
from childlink_common.testing.services import wait_until
from kombu import Connection, Exchange, Producer

pytestmark = pytest.mark.e2e


def dead_letters(amqp_uri):
    found = []
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        while (message := channel.basic_get(queue="childlink.dead_letters", no_ack=True)) is not None:
            found.append(message)
    return found


def test_two_departments_out_of_order_with_a_duplicate_make_one_ordered_timeline(system):
    mali = child(local_id="HN-77", national_id="1234567890121")
    registered = event("health", "child.registered", subject=mali, occurred_days_ago=300)
    measured = event("health", "child.growth_measured", subject=mali, occurred_days_ago=120)
    screened = event("health", "child.screened", subject=mali, occurred_days_ago=30)
    # the centre knows her by its own number, with the same national ID
    enrolled = event("social", "child.enrolled", subject=child(local_id="S-9", national_id="1234567890121"),
                     occurred_days_ago=200)

    assert system.post("health", [screened, measured]).status_code == 202
    assert system.post("social", enrolled).status_code == 202
    assert system.post("health", registered).status_code == 202
    again = system.post("health", measured)  # a department system resends what it already sent
    assert again.status_code == 202
    assert again.json()["accepted"] == [{"event_id": measured["event_id"], "status": "duplicate"}]

    child_id = wait_until(lambda: system.find_child(national_id="1234567890121"), message="child known")
    timeline = wait_until(lambda: (t := system.timeline(child_id)) and len(t["entries"]) == 4 and t,
                          message="four entries")
    assert [e["event_id"] for e in timeline["entries"]] == [
        registered["event_id"], enrolled["event_id"], measured["event_id"], screened["event_id"]]
    assert {e["department"] for e in timeline["entries"]} == {"health", "social"}
    # the social local id now leads to the same child
    assert system.find_child(department="social", facility="CDC-1001-01", local_id="S-9") == child_id

    # PDPA: the logs carry ids to follow an event, never who the child is
    for name, process in system.processes.items():
        logs = process.logs()
        assert "1234567890121" not in logs and "สมใจ" not in logs and "ใจดี" not in logs, name
    assert screened["event_id"] in system["referral"].logs()


def test_a_duplicate_delivered_by_the_broker_is_counted_not_applied(system, rabbit_config):
    screened = event("health", "child.screened", subject=child(local_id="HN-5", national_id=None))
    assert system.post("health", screened).status_code == 202
    child_id = wait_until(lambda: system.find_child(department="health", facility="HC-1001-01",
                                                    local_id="HN-5"), message="child known")
    # the same event published a second time, as a relay that crashed before marking it would
    with Connection(rabbit_config["AMQP_URI"]) as connection:
        Producer(connection.channel()).publish(
            json.dumps(screened), exchange=Exchange("health.events", type="topic"),
            routing_key="child.screened", content_type="application/json", message_id=screened["event_id"])
    wait_until(lambda: system.referral_health()["duplicates"] == 1, message="duplicate counted")
    entries = system.timeline(child_id)["entries"]
    assert [e["event_id"] for e in entries] == [screened["event_id"]]
    assert entries[0]["duplicates"] == 1


def test_a_poison_message_is_dead_lettered_with_its_reason_while_later_events_arrive(system, rabbit_config):
    with Connection(rabbit_config["AMQP_URI"]) as connection:
        channel = connection.channel()
        # /health answers before nameko's consumers have declared their queues: wait for the layout
        topology.declare_all(channel)
        producer = Producer(channel)
        exchange = Exchange("health.events", type="topic")
        producer.publish(b"{not json", exchange=exchange, routing_key="child.screened",
                         content_type="application/json", headers={"origin": "rogue-system"})
        broken = event("health", "child.screened", payload={"age_band_months": 7, "domains": {}})
        producer.publish(json.dumps(broken), exchange=exchange, routing_key="child.screened",
                         content_type="application/json", message_id=broken["event_id"],
                         headers={"origin": "rogue-system"})
    later = event("health", "child.immunised", subject=child(local_id="HN-8", national_id=None))
    assert system.post("health", later).status_code == 202

    child_id = wait_until(lambda: system.find_child(department="health", facility="HC-1001-01",
                                                    local_id="HN-8"), message="later event arrived")
    assert [e["event_id"] for e in system.timeline(child_id)["entries"]] == [later["event_id"]]

    letters = []  # each read takes what is there, so gather across reads
    wait_until(lambda: letters.extend(dead_letters(rabbit_config["AMQP_URI"])) or len(letters) >= 2,
               message="two dead letters")
    assert len(letters) == 2
    by_reason = {m.headers["x-childlink-reason"]: m for m in letters}
    assert set(by_reason) == {"undecodable", "invalid"}
    invalid = by_reason["invalid"]
    assert invalid.headers["origin"] == "rogue-system"
    assert invalid.headers["x-childlink-queue"] == "referral.health.events"
    assert "payload.age_band_months" in invalid.headers["x-childlink-error-fields"]
    assert json.loads(invalid.body)["event_id"] == broken["event_id"]


def test_a_batch_with_one_invalid_event_is_refused_whole_naming_the_field(system):
    good = event("health", "child.immunised", subject=child(local_id="HN-1", national_id=None))
    bad = event("health", "child.growth_measured", subject=child(local_id="HN-1", national_id=None),
                payload={"weight_kg": "heavy", "height_cm": 80})
    response = system.post("health", [good, bad])
    assert response.status_code == 422
    assert response.json()["errors"] == {"1": {"payload.weight_kg": ["Not a valid number."]}}
    assert system.outbox_backlog("health") == 0
    status = system.post("health", []).status_code
    assert status == 422
    # nothing of the batch was stored: the good event is unknown to the department and to the timeline
    key = {"X-API-Key": "test-health-key"}
    import requests
    assert requests.get(f"{system['health'].url}/v1/events/{good['event_id']}", headers=key).status_code == 404
    assert system.find_child(department="health", facility="HC-1001-01", local_id="HN-1") is None


def test_ingest_refuses_a_wrong_api_key_and_another_departments_event(system):
    screened = event("health", "child.screened")
    assert system.post("health", screened, key="wrong").status_code == 401
    response = system.post("social", screened)
    assert response.status_code == 422
    errors = response.json()["errors"]["0"]
    assert "type" in errors and "source.department" in errors
