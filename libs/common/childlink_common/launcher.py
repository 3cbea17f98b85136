"""`make run` / `make stop`: the whole system as background processes on this machine, embedded store by default.

    python -m childlink_common.launcher up      # start every service, wait until healthy, print URLs
    python -m childlink_common.launcher down    # stop them (SIGTERM, then SIGKILL after a grace period)
    python -m childlink_common.launcher status
"""

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from . import settings
from .processes import REPO_ROOT, ServiceProcess

PORTS = {"social": 8101, "education": 8102, "health": 8103, "medical": 8104, "referral": 8105, "gateway": 8100,
         "monitor": 8106, "insights": 8107}
RUN_DIR = REPO_ROOT / "var" / "run"
LOG_DIR = REPO_ROOT / "var" / "log"


def pid_file(service):
    return RUN_DIR / f"{service}.pid"


def running_pid(service):
    path = pid_file(service)
    if not path.exists():
        return None
    pid = int(path.read_text())
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        path.unlink()
        return None
    return pid


def up():
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    data_dir = Path(os.environ.get("CHILDLINK_DATA_DIR", REPO_ROOT / "var" / "data"))
    started = []
    for service, port in PORTS.items():
        if running_pid(service):
            print(f"{service:10} already running (pid {running_pid(service)})")
            continue
        process = ServiceProcess(service, amqp_uri=settings.amqp_uri(), data_dir=data_dir, log_dir=LOG_DIR,
                                 port=port).start()
        pid_file(service).write_text(str(process.process.pid))
        started.append(process)
    for process in started:
        process.wait_healthy()
        print(f"{process.service:10} up on {process.url} (log: {process.log_path.relative_to(REPO_ROOT)})")
    store = "MongoDB at MONGO_URI" if settings.mongo_uri() else f"embedded SQLite in {data_dir}"
    print(f"store: {store}")
    seed_gateway_users(data_dir)


def seed_gateway_users(data_dir):
    """Demo staff users for the gateway's pages with the local demo password (printed; `make users` again)."""
    env = {**os.environ, "CHILDLINK_DATA_DIR": str(data_dir)}
    subprocess.run([sys.executable, "-m", "childlink_gateway.seed", "--local"], env=env, cwd=str(REPO_ROOT),
                   check=True)
    print(f"staff pages: http://127.0.0.1:{PORTS['gateway']}/")


def down(grace=1.5):
    """SIGTERM to every service at once, then wait for them together, at most `grace` seconds.

    `make stop` took 18 s because the services were stopped one after another and each takes ~2.5-4 s
    to stop on SIGTERM: nameko's queue consumers notice a stop only between kombu's 1-second
    `drain_events` waits (cancel, then end the consumer thread), and the web server waits for the
    monitor's keep-alive /health connections. What is still draining after `grace` is killed: that
    loses nothing (ingest commits to the outbox before answering, the relay marks only confirmed
    publishes, consumers ack after their commit; docs/reliability-report.md's SIGKILL scenario)."""
    stopping = {}
    for service in PORTS:
        pid = running_pid(service)
        if pid:
            os.kill(pid, signal.SIGTERM)
            stopping[service] = pid
    was_running = bool(stopping)
    deadline = time.monotonic() + grace
    while stopping and time.monotonic() < deadline:
        for service in [s for s in stopping if not running_pid(s)]:
            del stopping[service]
            print(f"{service:10} stopped")
        time.sleep(0.05)
    for service, pid in stopping.items():  # still draining after the grace period: nothing acked is lost
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        pid_file(service).unlink(missing_ok=True)
        print(f"{service:10} stopped (killed after {grace:.0f} s of draining)")
    if not was_running:
        print("childlink is not running")


def status():
    """0 when every service answers; 1 when some run but not all; 'not running' (exit 0) when none runs."""
    rows, answering, pids = [], 0, 0
    for service, port in PORTS.items():
        pid = running_pid(service)
        pids += bool(pid)
        try:
            health = requests.get(f"http://127.0.0.1:{port}/health", timeout=2).json()
            answering += 1
        except requests.RequestException:
            health = None
        rows.append(f"{service:10} pid={pid or '-':<8} {health or 'not answering'}")
    if not pids and not answering:
        print("childlink is not running (start it with: make run)")
        return True
    print("\n".join(rows))
    return answering == len(PORTS)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("up", "down", "status"))
    command = parser.parse_args(argv).command
    if command == "up":
        up()
    elif command == "down":
        down()
    else:
        sys.exit(0 if status() else 1)


if __name__ == "__main__":
    main()
