"""Run the real childlink services as processes, the way `make run` does, for end-to-end tests and benchmarks."""

import time
from pathlib import Path

import requests

from ..processes import ServiceProcess

DEPARTMENTS = ("social", "education", "health", "medical")
SERVICES = (*DEPARTMENTS, "referral")
WITH_GATEWAY = (*SERVICES, "gateway")  # the staff web pages too: System(..., services=WITH_GATEWAY)
STAFF_KEY = "test-staff-key"
ASSERTION_KEY = "test-identity-assertion-key"  # signs who calls the identity API (childlink_common.assertions)


def api_key(department):
    return f"test-{department}-key"


TEST_KEYS = {**{f"{d.upper()}_API_KEYS": api_key(d) for d in DEPARTMENTS}, "REFERRAL_API_KEYS": STAFF_KEY,
             "INSIGHTS_API_KEYS": STAFF_KEY,
             "GATEWAY_SECRET_KEY": "test-gateway-session-key", "IDENTITY_ASSERTION_KEYS": ASSERTION_KEY}


def identity_headers(viewer, ttl_s=3600):
    """Headers for the referral identity API as `viewer` (a system's signed-in user): key + signed assertion."""
    from ..assertions import HEADER, sign

    return {"X-API-Key": STAFF_KEY, HEADER: sign(viewer, ASSERTION_KEY, ttl_s=ttl_s)}


class System:
    """The whole system on one vhost and one data folder: four departments and the referral service."""

    def __init__(self, amqp_uri, work_dir, services=SERVICES, env=None, amqp_uris=None):
        work_dir = Path(work_dir)
        self.processes = {
            name: ServiceProcess(name, amqp_uri=(amqp_uris or {}).get(name, amqp_uri),
                                 data_dir=work_dir / "data", log_dir=work_dir / "logs",
                                 env={**TEST_KEYS, **(env or {}).get(name, {})})
            for name in services
        }
        if "monitor" in self.processes:  # it polls the others' /health for their outbox backlogs
            urls = ",".join(f"{n}={p.url}" for n, p in self.processes.items() if n in (*DEPARTMENTS, "referral"))
            self.processes["monitor"].env.setdefault("MONITOR_HEALTH_URLS", urls)

    def __getitem__(self, name):
        return self.processes[name]

    def start(self):
        for process in self.processes.values():
            process.start()
        for process in self.processes.values():
            process.wait_healthy()
        return self

    def stop(self):
        for process in self.processes.values():
            process.stop()

    def post(self, department, events, key=None):
        return requests.post(f"{self[department].url}/v1/events", json=events,
                             headers={"X-API-Key": key or api_key(department)}, timeout=30)

    def find_child(self, **query):
        response = requests.post(f"{self['referral'].url}/v1/children/search", json=query,
                                 headers={"X-API-Key": STAFF_KEY}, timeout=10)
        return response.json()["child_id"] if response.status_code == 200 else None

    def timeline(self, child_id):
        response = requests.get(f"{self['referral'].url}/v1/children/{child_id}/timeline",
                                headers={"X-API-Key": STAFF_KEY}, timeout=10)
        return response.json() if response.status_code == 200 else None

    def referral_health(self):
        return requests.get(f"{self['referral'].url}/health", timeout=10).json()

    def outbox_backlog(self, department):
        return requests.get(f"{self[department].url}/health", timeout=10).json()["outbox_backlog"]


def wait_until(predicate, timeout=60, interval=0.2, message="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise TimeoutError(f"{message} not met after {timeout}s (last: {last!r})")
