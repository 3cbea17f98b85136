"""Does the monitor slow the flow? The referral service's throughput with and without the monitor running.

    .venv/bin/python bench/monitor_overhead.py                 # 3 phases x 2000 events
    .venv/bin/python bench/monitor_overhead.py --events 5000 --rounds 2

Each phase runs the real services as processes (health ingest, referral, and in the last phase the
monitor) on a throwaway vhost of its own, posts the same number of events to the health ingest API in
batches of 500, and times how long until the referral service has them all in its timelines:

- baseline:  health + referral, the referral's `timeline.stored` notices off (FLOW_NOTICES_ENABLED=0)
- notices:   health + referral as deployed (notices on), nobody tapping
- monitor:   health + referral + monitor (its tap queues bound to every exchange, dead letters,
             management API and outbox polls every 5 s)

It prints figures only (events/s end to end, ingest time, CPU seconds per process, what the monitor
saw); there are no timing asserts: the machine is shared and its load is printed beside them.
"""

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import psutil
import requests
from childlink_common.testing.events import child, event
from childlink_common.testing.services import System

MANAGEMENT = os.environ.get("MANAGEMENT_URL", "http://guest:guest@127.0.0.1:15672").rstrip("/")
AMQP_BASE = os.environ.get("BENCH_AMQP_BASE", "pyamqp://guest:guest@127.0.0.1:5672")
BATCH = 500
PHASES = {
    "baseline": (("health", "referral"), {"referral": {"FLOW_NOTICES_ENABLED": "0"}}),
    "notices": (("health", "referral"), {}),
    "monitor": (("health", "referral", "monitor"), {}),
}


class Vhost:
    def __init__(self, label):
        self.name = f"childlink_monbench_{label}_{uuid.uuid4().hex[:8]}"
        self.amqp_uri = f"{AMQP_BASE}/{quote(self.name, safe='')}"

    def __enter__(self):
        path = f"{MANAGEMENT}/api/vhosts/{quote(self.name, safe='')}"
        requests.put(path, timeout=10).raise_for_status()
        requests.put(f"{MANAGEMENT}/api/permissions/{quote(self.name, safe='')}/guest",
                     json={"configure": ".*", "write": ".*", "read": ".*"}, timeout=10).raise_for_status()
        return self

    def __exit__(self, *exc):
        requests.delete(f"{MANAGEMENT}/api/vhosts/{quote(self.name, safe='')}", timeout=30)


def events(count, label):
    kinds = (("child.registered", None), ("child.growth_measured", None), ("child.immunised", None))
    out = []
    for n in range(count):
        type_, payload = kinds[n % len(kinds)]
        out.append(event("health", type_, subject=child(local_id=f"{label}-{n // 3}", national_id=None),
                         occurred_days_ago=30 + n % 300, payload=payload))
    return out


def stored(system):
    return requests.get(f"{system['referral'].url}/health", timeout=10).json()["events"]


def cpu_seconds(system):
    out = {}
    for name, process in system.processes.items():
        times = psutil.Process(process.process.pid).cpu_times()
        out[name] = times.user + times.system
    return out


def wait_for(system, target, timeout_s):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if stored(system) >= target:
            return True
        time.sleep(0.05)
    return False


def run_phase(label, services, env, count, work):
    with Vhost(label) as vhost:
        system = System(vhost.amqp_uri, Path(work) / label, services=services, env=env)
        system.start()
        try:
            if "monitor" in services:
                deadline = time.monotonic() + 60
                while not requests.get(f"{system['monitor'].url}/health", timeout=5).json().get("tapping"):
                    if time.monotonic() > deadline:
                        raise TimeoutError("monitor not tapping")
                    time.sleep(0.2)
            warm = events(60, f"warm-{label}")
            system.post("health", warm)
            if not wait_for(system, len(warm), 120):
                raise TimeoutError("warm-up did not reach the timeline")
            payload = events(count, label)
            before_cpu, before = cpu_seconds(system), stored(system)
            started = time.perf_counter()
            for i in range(0, count, BATCH):
                response = system.post("health", payload[i:i + BATCH])
                if response.status_code != 202:
                    raise RuntimeError(f"ingest answered {response.status_code}: {response.text[:300]}")
            ingested = time.perf_counter() - started
            if not wait_for(system, before + count, 600):
                raise TimeoutError(f"{label}: only {stored(system) - before} of {count} reached the timeline")
            elapsed = time.perf_counter() - started
            after_cpu = cpu_seconds(system)
            result = {"phase": label, "events": count, "seconds": elapsed, "ingest_seconds": ingested,
                      "per_second": count / elapsed,
                      "cpu": {name: after_cpu[name] - before_cpu[name] for name in after_cpu}}
            if "monitor" in services:
                time.sleep(2.5)  # one flush and one poll, so the monitor's counts are complete
                view = requests.get(f"{system['monitor'].url}/v1/overview", timeout=30).json()
                health = next(d for d in view["departments"] if d["name"] == "health")
                result["monitor_saw"] = {"seen_24h": health["seen_24h"], "stored_24h": health["stored_24h"],
                                         "lag": health["lag"], "alerts": [a["kind"] for a in view["alerts"]]}
            return result
        finally:
            system.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=1, help="run the three phases this many times, interleaved")
    parser.add_argument("--phases", default=",".join(PHASES))
    args = parser.parse_args(argv)
    phases = [p for p in args.phases.split(",") if p in PHASES]
    print(f"monitor overhead: {args.events} events per phase, {args.rounds} round(s); "
          f"{psutil.cpu_count()} CPUs, load {'/'.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="childlink-monbench-") as work:
        for round_no in range(args.rounds):
            for phase in phases:
                services, env = PHASES[phase]
                result = run_phase(f"{phase}{round_no}", services, env, args.events, work)
                result["phase"] = phase
                results.append(result)
                cpu = ", ".join(f"{k} {v:.1f}s" for k, v in result["cpu"].items())
                print(f"  {phase:9} {result['per_second']:7.1f} events/s end to end "
                      f"({result['seconds']:.1f}s; ingest {result['ingest_seconds']:.1f}s)  CPU: {cpu}", flush=True)
                if "monitor_saw" in result:
                    print(f"            monitor saw {result['monitor_saw']}", flush=True)
    print("summary (mean events/s per phase):")
    base = None
    for phase in phases:
        rates = [r["per_second"] for r in results if r["phase"] == phase]
        mean = sum(rates) / len(rates)
        base = base or mean
        print(f"  {phase:9} {mean:7.1f}  ({(mean / base - 1) * 100:+.1f}% vs {phases[0]})  "
              f"load now {'/'.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
