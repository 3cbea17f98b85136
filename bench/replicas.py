"""`make bench-replicas`: the referral partitioned by child, 1 replica against 2, with the floor in the same run.

    .venv/bin/python bench/replicas.py                          # SQLite, 4000 events a phase
    .venv/bin/python bench/replicas.py --store mongoeco --events 300
    .venv/bin/python bench/replicas.py --events 200 --floor-seconds 2     # the tiny run tests/bench does

Each phase runs the health ingest service and the referral service as `R` replicas
(REFERRAL_PARTITIONS=8, REFERRAL_REPLICAS=R) on a throwaway vhost of its own, posts the same number of
health events (one child per four events, no national IDs: the keys spread over the partitions) in
batches of 500, and times how long until the referral's timeline holds them all. Printed: events/s
end to end, CPU milliseconds per event summed over the referral replicas (user + sys: the figure a
shared machine spoils least), each replica's share, and the load average beside them. The floor is
bench/floor.py's bare kombu consumer running the referral's whole handler on SQLite (no nameko, no
HTTP), measured first in the same run.

On SQLite every replica writes the one file `referral.sqlite3`, and SQLite lets one writer at a time
hold the file's write lock: two replicas take turns at the lock instead of writing side by side, so
2 replicas on SQLite show what partitioning costs, not what it gains (that is why `make run` runs
one). On `--store mongoeco` the replicas share one MongoDB-wire server, a slow in-memory stand-in
(each insert scans its collection) whose figures say only that the replicas work together, not
what a MongoDB replica set would do.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import psutil

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from childlink_common.testing.events import child, event
from childlink_common.testing.mongoeco_server import start_mongoeco
from childlink_common.testing.replicas import ReplicaRun, Vhost

PARTITIONS = 8
BATCH = 500


def loadavg():
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def events(count, label):
    kinds = ("child.registered", "child.growth_measured", "child.immunised", "child.growth_measured")
    out = [event("health", kinds[n % len(kinds)], subject=child(local_id=f"{label}-{n // 4}", national_id=None),
                 occurred_days_ago=30 + n % 300) for n in range(count)]
    for body in out:  # bench/floor.py's publisher sends it as the relay does
        body.setdefault("correlation_id", body["event_id"])
    return out


def stored(run):
    return run.health().get("events", 0)


def wait_for(run, target, timeout_s):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if stored(run) >= target:
            return True
        time.sleep(0.05)
    return False


def cpu_seconds(processes):
    out = []
    for process in processes:
        times = psutil.Process(process.process.pid).cpu_times()
        out.append(times.user + times.system)
    return out


def run_phase(replicas, count, work, store, timeout_s):
    label = f"r{replicas}"
    mongo_uri, stop_mongo = start_mongoeco() if store == "mongoeco" else (None, lambda: None)
    try:
        with Vhost(label) as vhost:
            run = ReplicaRun(vhost.amqp_uri, Path(work) / label, replicas, PARTITIONS, mongo_uri=mongo_uri,
                             departments=("health",), env={"REFERRAL_STANDBY_DELAY_S": "3"})
            run.start()
            try:
                time.sleep(3.5)  # past the standby delay: every replica subscribed, as in steady state
                warm = events(40, f"warm-{label}")
                run.post_batches("health", warm)
                if not wait_for(run, len(warm), timeout_s):
                    raise TimeoutError(f"{label}: warm-up did not reach the timeline")
                payload = events(count, label)
                load_before, cpu_before, before = loadavg(), cpu_seconds(run.referrals), stored(run)
                started = time.perf_counter()
                run.post_batches("health", payload, BATCH)
                if not wait_for(run, before + count, timeout_s):
                    raise TimeoutError(f"{label}: only {stored(run) - before} of {count} reached the timeline")
                elapsed = time.perf_counter() - started
                cpu = [after - b for after, b in zip(cpu_seconds(run.referrals), cpu_before, strict=True)]
                shares = [0] * replicas
                for index, _event_id, _child_id in run.applied():
                    shares[index] += 1
                return {"replicas": replicas, "events": count, "seconds": elapsed, "rate": count / elapsed,
                        "cpu_ms_per_event": 1000 * sum(cpu) / count, "cpu_s": cpu, "applied_per_replica": shares,
                        "load": f"{load_before} -> {loadavg()}"}
            finally:
                run.stop()
    finally:
        stop_mongo()


def floor(count, work, seconds):
    """bench/floor.py in handler mode: the referral's whole handler on SQLite behind a bare kombu consumer."""
    import run as bench_run  # bench/run.py: the same floor `make bench` measures

    os.environ.pop("REFERRAL_PARTITIONS", None)  # the floor consumes the per-department queues
    payload = [("health", e) for e in events(count, "floor")]
    return bench_run.run_floor(payload, Path(work), "handler", 100, seconds, warm=min(1.0, seconds / 4))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=4000, help="events per phase")
    parser.add_argument("--store", choices=("sqlite", "mongoeco"), default="sqlite")
    parser.add_argument("--floor-seconds", type=float, default=10.0)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds a phase may take to drain")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args(argv)
    print(f"referral replicas, partitioned by child ({PARTITIONS} partitions), store {args.store}: "
          f"{args.events} events a phase; {psutil.cpu_count()} CPUs, load {loadavg()}", flush=True)
    results = {"store": args.store, "partitions": PARTITIONS}
    with tempfile.TemporaryDirectory(prefix="childlink-replicas-") as work:
        f = floor(max(args.events, 2000), work, args.floor_seconds)
        results["floor"] = f
        print(f"  floor      {f['rate']:8.1f} events/s (bare kombu + the referral handler on SQLite; "
              f"consumer {f['cpu_ms_per_event']['consumer']:.2f} ms CPU/event; load {f['load']})", flush=True)
        for replicas in (1, 2):
            r = run_phase(replicas, args.events, work, args.store, args.timeout)
            results[f"replicas_{replicas}"] = r
            print(f"  {replicas} replica{'s' if replicas > 1 else ' '} {r['rate']:8.1f} events/s end to end "
                  f"({r['seconds']:.1f}s, {r['rate'] / f['rate']:.2f} of the floor); "
                  f"{r['cpu_ms_per_event']:.2f} ms CPU/event over the replicas; applied per replica "
                  f"{r['applied_per_replica']}; load {r['load']}", flush=True)
    one, two = results["replicas_1"], results["replicas_2"]
    results["speedup"] = two["rate"] / one["rate"]
    results["cpu_ratio"] = two["cpu_ms_per_event"] / one["cpu_ms_per_event"]
    print(f"  2 replicas / 1 replica: {results['speedup']:.2f}x events/s, "
          f"{results['cpu_ratio']:.2f}x CPU per event", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
