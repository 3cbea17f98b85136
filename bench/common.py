"""Benchmark plumbing: a throwaway vhost, the machine's description, percentiles, RSS sampling."""

import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import uuid
from urllib.parse import quote

import psutil
import requests

MANAGEMENT = os.environ.get("RABBITMQ_MANAGEMENT_URL", "http://guest:guest@127.0.0.1:15672")
AMQP_BASE = os.environ.get("BENCH_AMQP_BASE", "pyamqp://guest:guest@127.0.0.1:5672")


class ThrowawayVhost:
    """A vhost of its own for one benchmark phase, created and deleted through the management API,
    as nameko's `rabbit_config` fixture does for each test."""

    def __init__(self, label):
        self.name = f"childlink_bench_{label}_{uuid.uuid4().hex[:8]}"
        self.amqp_uri = f"{AMQP_BASE}/{quote(self.name, safe='')}"

    def __enter__(self):
        api = f"{MANAGEMENT}/api"
        requests.put(f"{api}/vhosts/{quote(self.name, safe='')}", timeout=10).raise_for_status()
        requests.put(f"{api}/permissions/{quote(self.name, safe='')}/guest",
                     json={"configure": ".*", "write": ".*", "read": ".*"}, timeout=10).raise_for_status()
        return self

    def __exit__(self, *exc):
        requests.delete(f"{MANAGEMENT}/api/vhosts/{quote(self.name, safe='')}", timeout=30)

    def queues(self):
        response = requests.get(f"{MANAGEMENT}/api/queues/{quote(self.name, safe='')}", timeout=10)
        return {q["name"]: q.get("messages", 0) for q in response.json()}


def loadavg():
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def machine():
    with open("/proc/cpuinfo") as cpuinfo:
        cpu_model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")),
                         platform.processor() or "unknown")
    try:
        overview = requests.get(f"{MANAGEMENT}/api/overview", timeout=10).json()
        rabbit = f"{overview.get('rabbitmq_version')} (Erlang {overview.get('erlang_version')})"
    except requests.RequestException as exc:
        rabbit = f"unknown ({exc})"
    try:
        sqlite_version = subprocess.run([sys.executable, "-c", "import sqlite3; print(sqlite3.sqlite_version)"],
                                        capture_output=True, text=True, timeout=10, check=False).stdout.strip()
    except Exception:  # noqa: BLE001 - informational
        sqlite_version = "unknown"
    return {
        "nproc": os.cpu_count(),
        "memory": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "cpu": cpu_model,
        "python": platform.python_version(),
        "rabbitmq": rabbit,
        "sqlite": sqlite_version,
        "kernel": platform.release(),
        "disk": _disk_of("."),
    }


def _disk_of(path):
    try:
        usage = psutil.disk_usage(path)
        return f"{usage.free / 2**30:.0f} GiB free of {usage.total / 2**30:.0f} GiB"
    except OSError:
        return "unknown"


def percentile(values, p):
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary_ms(seconds):
    ms = [s * 1000 for s in seconds]
    return {"n": len(ms), "p50": percentile(ms, 50), "p95": percentile(ms, 95), "p99": percentile(ms, 99),
            "max": max(ms), "mean": statistics.fmean(ms)}


class RssSampler:
    """Peak resident memory of each service process, sampled every `interval` s."""

    def __init__(self, pids, interval=0.5):
        self.pids = dict(pids)
        self.peak = {name: 0 for name in self.pids}
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def _run(self):
        processes = {name: psutil.Process(pid) for name, pid in self.pids.items()}
        while not self._stop.is_set():
            for name, process in processes.items():
                try:  # (the services start no child processes; listing children would scan all of /proc)
                    rss = process.memory_info().rss
                except psutil.Error:
                    continue
                self.peak[name] = max(self.peak[name], rss)
            self._stop.wait(self.interval)

    def stop(self):
        self._stop.set()
        self._thread.join()
        return {name: peak / 2**20 for name, peak in self.peak.items()}


def broker_pid(port=5672):
    """The RabbitMQ node listening on the AMQP port (other engineers' private nodes use other ports)."""
    try:
        for connection in psutil.net_connections(kind="tcp"):
            if connection.laddr and connection.laddr.port == port and connection.status == "LISTEN":
                return connection.pid
    except psutil.Error:
        pass
    return None


class KeepAlivePoster:
    """POSTs JSON bytes on one kept-alive connection (http.client): the latency phase's senders. The
    load generator shares the machine's two cores with the system it measures; requests' per-call
    machinery cost it ~1.4 ms of CPU an event, which the services then waited for."""

    def __init__(self, base_url, timeout=30):
        from urllib.parse import urlsplit

        parts = urlsplit(base_url)
        self.host, self.port, self.timeout = parts.hostname, parts.port, timeout
        self.conn = None

    def post(self, path, body, headers):
        import http.client

        for attempt in (0, 1):  # a kept-alive connection the server closed meanwhile: once more, anew
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request("POST", path, body=body, headers={"Content-Type": "application/json", **headers})
                response = self.conn.getresponse()
                response.read()
                return response.status
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        return None


class CpuMeter:
    """CPU seconds (user + system) each process spent between start() and stop(), children included.
    Unlike wall time, it does not grow when other engineers' work takes the CPU (much)."""

    def __init__(self, pids):
        self.processes = {name: psutil.Process(pid) for name, pid in pids.items() if pid}
        self.before = {}

    @staticmethod
    def _cpu(process):
        times = process.cpu_times()
        return times.user + times.system + times.children_user + times.children_system

    def start(self):
        self.before = {name: self._cpu(p) for name, p in self.processes.items()}
        return self

    def stop(self):
        spent = {}
        for name, process in self.processes.items():
            try:
                spent[name] = self._cpu(process) - self.before[name]
            except psutil.Error:
                spent[name] = None
        return spent


class Stopwatch:
    def __init__(self):
        self.started = time.perf_counter()

    def __call__(self):
        return time.perf_counter() - self.started
