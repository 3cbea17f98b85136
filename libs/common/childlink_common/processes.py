"""Run a childlink service as its own process, exactly as `make run` and the tests do."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parents[3]
NAMEKO_CONFIG = Path(os.environ.get("CHILDLINK_NAMEKO_CONFIG", REPO_ROOT / "deploy" / "nameko" / "config.yaml"))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
            **(env or {}),
        }
        self.process = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                [sys.executable, "-m", "nameko", "run", "--config", str(NAMEKO_CONFIG),
                 f"childlink_{self.service}.service"],
                env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=str(REPO_ROOT),
            )
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
        """SIGTERM: nameko finishes the workers it has, then exits."""
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
