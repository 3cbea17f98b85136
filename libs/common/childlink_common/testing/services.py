"""Run the real childlink services as processes, the way `make run` does, for end-to-end tests and benchmarks."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parents[4]
NAMEKO_CONFIG = Path(os.environ.get("CHILDLINK_NAMEKO_CONFIG", REPO_ROOT / "deploy" / "nameko" / "config.yaml"))
DEPARTMENTS = ("social", "education", "health", "medical")
SERVICES = (*DEPARTMENTS, "referral")
STAFF_KEY = "test-staff-key"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def api_key(department):
    return f"test-{department}-key"


class ServiceProcess:
    def __init__(self, service, *, amqp_uri, data_dir, log_dir, port=None, env=None):
        self.service = service
        self.port = port or free_port()
        self.log_path = Path(log_dir) / f"{service}.log"
        self.env = {
            **os.environ,
            "AMQP_URI": amqp_uri,
            "CHILDLINK_DATA_DIR": str(data_dir),
            "WEB_SERVER_ADDRESS": f"127.0.0.1:{self.port}",
            "PYTHONUNBUFFERED": "1",
            **{f"{d.upper()}_API_KEYS": api_key(d) for d in DEPARTMENTS},
            "REFERRAL_API_KEYS": STAFF_KEY,
            **(env or {}),
        }
        self.process = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "nameko", "run", "--config", str(NAMEKO_CONFIG),
             f"childlink_{self.service}.service"],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=str(REPO_ROOT),
        )
        log.close()
        return self

    def wait_healthy(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.service} exited with {self.process.returncode}:\n{self.logs()[-3000:]}")
            try:
                if requests.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{self.service} not healthy after {timeout}s:\n{self.logs()[-3000:]}")

    def stop(self, timeout=15):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def logs(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class System:
    """The whole system on one vhost and one data folder: four departments and the referral service."""

    def __init__(self, amqp_uri, work_dir, services=SERVICES, env=None, amqp_uris=None):
        work_dir = Path(work_dir)
        self.processes = {
            name: ServiceProcess(name, amqp_uri=(amqp_uris or {}).get(name, amqp_uri),
                                 data_dir=work_dir / "data", log_dir=work_dir / "logs",
                                 env=(env or {}).get(name))
            for name in services
        }

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


def wait_until(predicate, timeout=30, interval=0.2, message="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise TimeoutError(f"{message} not met after {timeout}s (last: {last!r})")
