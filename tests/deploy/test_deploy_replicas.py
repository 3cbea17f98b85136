"""Several replicas, as the Deployments run them: two referral consumers competing on the same
queues, and two health services whose relays drain one outbox (SQLite, the local case: two
processes on one file; the outbox hands each event to one relay at a time through leases).

Everything posted reaches the timeline exactly once, and both referral replicas and both relays
take part. Publishing is at least once by design (a relay stalled past its lease, e.g. on a busy
machine, lets the other relay send the same event again): any event published twice must have been
counted as a duplicate by the referral service, never applied twice.
"""

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import psutil
import pytest
import requests
from childlink_common.processes import ServiceProcess
from childlink_common.testing.events import child, event
from childlink_common.testing.services import STAFF_KEY, TEST_KEYS, api_key, wait_until
from childlink_tools.names import FAMILY, FEMALE_GIVEN

pytestmark = pytest.mark.e2e

CHILDREN = 30
EVENTS_PER_CHILD = 4


@pytest.fixture
def replicas(rabbit_config, tmp_path):
    def replica(service, n):
        return ServiceProcess(service, amqp_uri=rabbit_config["AMQP_URI"], data_dir=tmp_path / "data",
                              log_dir=tmp_path / f"logs-{service}-{n}",
                              # small claims, so that the two relays take turns on one outbox
                              env={**TEST_KEYS, "RELAY_BATCH_SIZE": "4"})

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


def publishing_channels(vhost, processes):
    """Channels on the test vhost that have published from these processes (the health relays; the
    referral replicas publish too now: their referral transitions on referral.events)."""
    ports = {conn.laddr.port for process in processes
             for conn in psutil.Process(process.process.pid).net_connections(kind="tcp")}
    response = requests.get(f"http://127.0.0.1:15672/api/vhosts/{quote(vhost, safe='')}/channels",
                            auth=("guest", "guest"), timeout=30)
    response.raise_for_status()
    return [c for c in response.json() if (c.get("message_stats") or {}).get("publish", 0) > 0
            and (c.get("connection_details") or {}).get("peer_port") in ports]


def test_two_referral_replicas_and_two_relays_apply_every_event_exactly_once(replicas, rabbit_config):
    health_a, health_b = replicas["health"]
    sent, requests_to_send = {}, []
    for n in range(CHILDREN):
        # distinct children (names and birth dates): look-alikes without national IDs would rightly be linked
        subject = child(local_id=f"HN-R{n}", national_id=None, given_name=FEMALE_GIVEN[n], family_name=FAMILY[n],
                        birth_date=(dt.date(2021, 1, 1) + dt.timedelta(days=40 * n)).isoformat())
        events = [event("health", "child.growth_measured", subject=subject, occurred_days_ago=100 - d)
                  for d in range(EVENTS_PER_CHILD)]
        sent[subject["local_id"]] = {e["event_id"] for e in events}
        requests_to_send.append((health_a if n % 2 == 0 else health_b, events))

    def post(target_and_events):  # as a load balancer spreads concurrent requests
        target, events = target_and_events
        return requests.post(f"{target.url}/v1/events", json=events,
                             headers={"X-API-Key": api_key("health")}, timeout=60)

    with ThreadPoolExecutor(8) as pool:
        for answer in pool.map(post, requests_to_send):
            assert answer.status_code == 202, answer.text
    total = CHILDREN * EVENTS_PER_CHILD

    referral = replicas["referral"][0]

    def stats():
        try:
            return requests.get(f"{referral.url}/health", timeout=30).json()
        except requests.RequestException:
            return {}  # a busy machine: ask again

    def backlog(process):
        try:
            return requests.get(f"{process.url}/health", timeout=30).json()["outbox_backlog"]
        except requests.RequestException:
            return None

    wait_until(lambda: all(backlog(p) == 0 for p in replicas["health"]), timeout=120,
               message="both outboxes drained")
    wait_until(lambda: stats().get("events") == total, timeout=120,
               message=f"{total} events on the timeline")

    for local_id, event_ids in sent.items():
        found = requests.post(f"{referral.url}/v1/children/search", headers={"X-API-Key": STAFF_KEY},
                              json={"department": "health", "facility": "HC-1001-01", "local_id": local_id},
                              timeout=30)
        assert found.status_code == 200, local_id
        timeline = requests.get(f"{referral.url}/v1/children/{found.json()['child_id']}/timeline",
                                headers={"X-API-Key": STAFF_KEY}, timeout=30).json()
        ids = [entry["event_id"] for entry in timeline["entries"]]
        assert sorted(ids) == sorted(event_ids), local_id  # each once, none missing, none foreign

    # competing consumers: both referral replicas took a share
    for process in replicas["referral"]:
        assert process.logs().count("timeline.appended") > 0, f"{process.log_path} applied nothing"
    # and both relays published; whatever they sent beyond one copy of each event was counted as a
    # duplicate, not applied (the broker's per-channel stats arrive every few seconds)
    def relay_publishes():
        counts = [c["message_stats"]["publish"]
                  for c in publishing_channels(rabbit_config["vhost"], replicas["health"])]
        duplicates = stats().get("duplicates")
        return duplicates is not None and sum(counts) == total + duplicates and sorted(counts)

    counts = wait_until(relay_publishes, timeout=60, message="every publish accounted for")
    assert len(counts) == 2, f"one relay published everything: {counts}"
