"""Several replicas, as the Deployments run them: two referral consumers competing on the same
queues, and two health services whose relays drain one outbox (SQLite, the local case: two
processes on one file; the outbox hands each event to one relay at a time through leases).

Everything posted reaches the timeline exactly once, and both referral replicas and both relays
take part.
"""

import time
from urllib.parse import quote

import pytest
import requests

from childlink_common.processes import ServiceProcess
from childlink_common.testing.events import child, event
from childlink_common.testing.services import STAFF_KEY, TEST_KEYS, api_key, wait_until

pytestmark = pytest.mark.e2e

CHILDREN = 40
EVENTS_PER_CHILD = 4


@pytest.fixture
def replicas(rabbit_config, tmp_path):
    def replica(service, n):
        return ServiceProcess(service, amqp_uri=rabbit_config["AMQP_URI"], data_dir=tmp_path / "data",
                              log_dir=tmp_path / f"logs-{service}-{n}", env=TEST_KEYS)

    running = {"referral": [replica("referral", 1), replica("referral", 2)],
               "health": [replica("health", 1), replica("health", 2)]}
    every = [p for group in running.values() for p in group]
    try:
        for process in every:
            process.start()
        for process in every:
            process.wait_healthy()
        yield running
    finally:
        for process in every:
            process.stop()
        for process in every:  # shown by pytest only when the test failed
            print(f"----- {process.log_path} (tail) -----\n{process.logs()[-3000:]}")


def publishing_channels(vhost):
    """Channels on the test vhost that have published: the relays (nothing else publishes here)."""
    response = requests.get(f"http://127.0.0.1:15672/api/vhosts/{quote(vhost, safe='')}/channels",
                            auth=("guest", "guest"), timeout=10)
    response.raise_for_status()
    return [c for c in response.json() if (c.get("message_stats") or {}).get("publish", 0) > 0]


def test_two_referral_replicas_and_two_relays_apply_every_event_exactly_once(replicas, rabbit_config):
    health_a, health_b = replicas["health"]
    sent = {}
    for n in range(CHILDREN):
        subject = child(local_id=f"HN-R{n}", national_id=None)
        events = [event("health", "child.growth_measured", subject=subject, occurred_days_ago=100 - d)
                  for d in range(EVENTS_PER_CHILD)]
        sent[subject["local_id"]] = {e["event_id"] for e in events}
        target = health_a if n % 2 == 0 else health_b  # as a load balancer spreads requests
        answer = requests.post(f"{target.url}/v1/events", json=events,
                               headers={"X-API-Key": api_key("health")}, timeout=30)
        assert answer.status_code == 202, answer.text
    total = CHILDREN * EVENTS_PER_CHILD

    referral = replicas["referral"][0]

    def stats():
        return requests.get(f"{referral.url}/health", timeout=10).json()

    wait_until(lambda: stats()["events"] == total, timeout=90, message=f"{total} events on the timeline")
    time.sleep(1)  # anything sent twice would show up now
    assert stats()["events"] == total
    assert stats()["duplicates"] == 0, "an event was published (or applied) twice"
    for process in replicas["health"]:
        assert requests.get(f"{process.url}/health", timeout=10).json()["outbox_backlog"] == 0

    for local_id, event_ids in sent.items():
        found = requests.post(f"{referral.url}/v1/children/search", headers={"X-API-Key": STAFF_KEY},
                              json={"department": "health", "facility": "HC-1001-01", "local_id": local_id},
                              timeout=10)
        assert found.status_code == 200, local_id
        timeline = requests.get(f"{referral.url}/v1/children/{found.json()['child_id']}/timeline",
                                headers={"X-API-Key": STAFF_KEY}, timeout=10).json()
        ids = [entry["event_id"] for entry in timeline["entries"]]
        assert sorted(ids) == sorted(event_ids), local_id  # each once, none missing, none foreign
        assert all(entry["duplicates"] == 0 for entry in timeline["entries"])

    # competing consumers: both referral replicas took a share
    for process in replicas["referral"]:
        assert process.logs().count("timeline.appended") > 0, f"{process.log_path} applied nothing"
    # and both relays published (the broker's per-channel stats arrive every few seconds)
    wait_until(lambda: len(publishing_channels(rabbit_config["vhost"])) == 2, timeout=30,
               message="both relays seen publishing")
