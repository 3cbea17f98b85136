"""R referral replicas partitioned by child (childlink_common.partitions) on a vhost of their own, for the
replica tests (tests/deploy/test_deploy_partitions.py) and `make bench-replicas` (bench/replicas.py).

The four departments run once each on SQLite; the referral runs as `replicas` processes, replica i
with REFERRAL_REPLICA_INDEX=i, on MongoDB when `mongo_uri` is given (else all on one SQLite file).
What each replica applied is read back from its log (`timeline.appended` names every event it
applied, with the child).
"""

import json
import os
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import requests
from kombu import Connection

from ..partitions import partition_key
from ..processes import ServiceProcess
from .services import DEPARTMENTS, TEST_KEYS, api_key

MANAGEMENT = os.environ.get("MANAGEMENT_URL", "http://guest:guest@127.0.0.1:15672").rstrip("/")
AMQP_BASE = os.environ.get("BENCH_AMQP_BASE", "pyamqp://guest:guest@127.0.0.1:5672")


class Vhost:
    """A throwaway vhost with guest's rights, deleted on exit."""

    def __init__(self, label):
        self.name = f"childlink_replicas_{label}_{uuid.uuid4().hex[:8]}"
        self.amqp_uri = f"{AMQP_BASE}/{quote(self.name, safe='')}"

    def __enter__(self):
        path = quote(self.name, safe="")
        requests.put(f"{MANAGEMENT}/api/vhosts/{path}", timeout=10).raise_for_status()
        requests.put(f"{MANAGEMENT}/api/permissions/{path}/guest",
                     json={"configure": ".*", "write": ".*", "read": ".*"}, timeout=10).raise_for_status()
        return self

    def __exit__(self, *exc):
        requests.delete(f"{MANAGEMENT}/api/vhosts/{quote(self.name, safe='')}", timeout=30)


class ReplicaRun:
    def __init__(self, amqp_uri, work_dir, replicas, partitions, mongo_uri=None, env=None, departments=DEPARTMENTS):
        work_dir = Path(work_dir)
        self.amqp_uri = amqp_uri
        self.partitions = partitions
        common = {**TEST_KEYS, "REFERRAL_PARTITIONS": str(partitions), **(env or {})}
        self.departments = {
            name: ServiceProcess(name, amqp_uri=amqp_uri, data_dir=work_dir / "data", log_dir=work_dir / "logs",
                                 env=common)
            for name in departments}
        referral_env = {**common, "REFERRAL_REPLICAS": str(replicas)}
        if mongo_uri:
            referral_env["MONGO_URI"] = mongo_uri
        self.referrals = [
            ServiceProcess("referral", amqp_uri=amqp_uri, data_dir=work_dir / "data",
                           log_dir=work_dir / f"logs-referral-{i}", env={**referral_env, "REFERRAL_REPLICA_INDEX": str(i)})
            for i in range(replicas)]

    def start(self):
        every = [*self.departments.values(), *self.referrals]
        for process in every:
            process.start()
        for process in every:
            process.wait_healthy(timeout=120)
        return self

    def stop(self):
        for process in [*self.referrals, *self.departments.values()]:
            process.stop()

    def post_each(self, events):
        """Post (department, event) one request each, as systems that send as they go; {event_id: status}.
        One at a time, so that an event the simulator made invalid on purpose refuses only itself."""
        answers = {}
        with requests.Session() as session:
            for department, event in events:
                response = session.post(f"{self.departments[department].url}/v1/events", json=[event],
                                        headers={"X-API-Key": api_key(department)}, timeout=60)
                answers[event["event_id"]] = response.status_code
        return answers

    def post_batches(self, department, events, size=500):
        for start in range(0, len(events), size):
            response = requests.post(f"{self.departments[department].url}/v1/events", json=events[start:start + size],
                                     headers={"X-API-Key": api_key(department)}, timeout=120)
            response.raise_for_status()

    def health(self):
        for process in self.referrals:
            if process.process.poll() is None:
                try:
                    return requests.get(f"{process.url}/health", timeout=30).json()
                except requests.RequestException:
                    continue
        return {}

    def waiting(self):
        """Messages ready in the referral's consumer queues (a passive declare: exact, not the
        management API's sampled figures)."""
        from ..topology import referral_consumer_queues

        old = os.environ.get("REFERRAL_PARTITIONS")
        os.environ["REFERRAL_PARTITIONS"] = str(self.partitions)
        try:
            queues = referral_consumer_queues()
        finally:
            if old is None:
                os.environ.pop("REFERRAL_PARTITIONS")
            else:
                os.environ["REFERRAL_PARTITIONS"] = old
        with Connection(self.amqp_uri, connect_timeout=10) as connection:
            channel = connection.channel()
            return sum(channel.queue_declare(queue.name, passive=True).message_count for queue in queues)

    def backlogs(self):
        return sum(requests.get(f"{p.url}/health", timeout=30).json()["outbox_backlog"]
                   for p in self.departments.values())

    def wait_settled(self, timeout=600, quiet_s=3.0):
        """Until the outboxes are drained, nothing waits in a referral queue and the timeline count has
        not moved for `quiet_s`; the referral's /health then."""
        deadline = time.monotonic() + timeout
        last, since = None, time.monotonic()
        while time.monotonic() < deadline:
            try:
                stats = self.health()
                settled = self.backlogs() == 0 and self.waiting() == 0
            except requests.RequestException:
                time.sleep(0.5)
                continue
            now = (stats.get("events"), stats.get("duplicates"))
            if now != last or not settled:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet_s:
                return stats
            time.sleep(0.3)
        raise TimeoutError(f"not settled after {timeout}s: {self.health()}")

    def applied(self):
        """[(replica index, event_id, child_id)] for every `timeline.appended` entry of every replica's log."""
        found = []
        for index, process in enumerate(self.referrals):
            for line in process.logs().splitlines():
                if '"timeline.appended"' not in line:
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                found.extend((index, event_id, child_id) for event_id, child_id, _ in record.get("events", []))
        return found

    def logs_tail(self, chars=3000):
        return "\n".join(f"----- {p.log_path} -----\n{p.logs()[-chars:]}"
                         for p in [*self.referrals, *self.departments.values()])


def replicas_by_key(applied, events):
    """{partition key: {replica indexes}}: which replicas applied the events of each key."""
    key_of = {event["event_id"]: partition_key(event) for _department, event in events}
    out = {}
    for index, event_id, _child_id in applied:
        out.setdefault(key_of.get(event_id), set()).add(index)
    return out
