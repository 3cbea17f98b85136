"""`make bench`: how fast childlink is on this machine, against a floor measured in the same run.

    .venv/bin/python bench/run.py                       # the full run (~6-9 minutes), report to stdout
    .venv/bin/python bench/run.py --report docs/benchmark-report.md
    .venv/bin/python bench/run.py --quick               # small sizes, to try the harness (~2 minutes)

Everything runs on the real local RabbitMQ, each phase in a throwaway vhost created and deleted
through the management API, with the embedded SQLite store, and the real services as processes
(exactly as `make run` starts them). The machine is shared, so every figure carries the load
average (1/5/15 min) seen beside it, and the floor is measured in the same run.

Phases:
 1. floor: bare kombu publisher + consumer, the referral's store writes per event, no framework
    (once without and once with the contract check the referral service also does);
 2. end to end: department ingest APIs -> outbox -> relay -> broker -> referral -> timeline stored,
    events sent as fast as the APIs take them, sustained events/s and its ratio to the floor;
 3. latency: one event per request at a steady 200 events/s, ingest to committed in the timeline
    store (every event), and to read back through the timeline API (a sample);
 4. reads: the timeline of a child with 500 events; a referral inbox page with 10,000 open referrals
    (when the referral service has `list_referrals`);
 5. peak memory (RSS) of each service through phases 2-4;
 6. growth: store-level costs with 10,000 and 300,000 children pre-loaded directly into the SQLite
    store, then an end-to-end slice on top of the 300,000-children store, and from the two
    end-to-end rates an estimate of the first load (1,000,000 events over 300,000 children);
 7. the city's figures (bench/insights.py, also `make bench-insights`): 300,000 children taken by the
    insights aggregator, the overview and district pages through gateway HTTP -> RPC -> insights, a rebuild.
"""

import argparse
import itertools
import json
import math
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import inbox
from childlink_common.testing.services import STAFF_KEY, System, api_key
from childlink_referral.identity import keys_for
from childlink_referral.queries import timeline_view
from childlink_referral.store.sqlite_store import SqliteTimelineStore
from childlink_referral.timeline import entry_from_event
from childlink_tools.client import IngestClient
from childlink_tools.sending import Outgoing, make_batches
from common import (
    CpuMeter,
    KeepAlivePoster,
    RssSampler,
    ThrowawayVhost,
    broker_pid,
    loadavg,
    machine,
    summary_ms,
)
from storework import StoreWatch, preload, store_write
from synth import Templates, child_id_for, first_load, interleave, stamp

DEPARTMENTS = ("social", "education", "health", "medical")
FIRST_LOAD_EVENTS, FIRST_LOAD_CHILDREN = 1_000_000, 300_000
# synthetic child index ranges per phase, so no two phases share a child
FLOOR_BASE, E2E_BASE, LATENCY_BASE, READS_BASE, GROWTH_BASE, SLICE_BASE = (
    10_000_000, 20_000_000, 30_000_000, 40_000_000, 0, 50_000_000)

SIZES = {  # seconds are measuring windows; children are what is generated to fill them
    "full": {"floor_s": 30, "floor_children": 15_000, "e2e_s": 60, "e2e_children": 45_000, "warm_s": 10,
             "latency_s": 20, "reads": 300, "growth": (10_000, 300_000), "slice_s": 30,
             "growth_samples": 2_000},
    "quick": {"floor_s": 10, "floor_children": 4_000, "e2e_s": 20, "e2e_children": 9_000, "warm_s": 4,
              "latency_s": 8, "reads": 100, "growth": (2_000, 20_000), "slice_s": 15, "growth_samples": 500},
    # the smoke test `make test` runs (tests/bench): every phase once at sizes that only prove it works,
    # but the end-to-end slice on the big store (slice_s 0: a second start of the services)
    "smoke": {"floor_s": 2, "floor_children": 300, "e2e_s": 4, "e2e_children": 600, "warm_s": 1,
              "latency_s": 3, "reads": 10, "growth": (200, 600), "slice_s": 0, "growth_samples": 40,
              "inbox": 200},
}

# The services as `make run` starts them, with the settings this benchmark was tuned with spelled
# out (they are the defaults; set them to other values to compare).
SERVICE_ENV = {
    "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "INFO"),
    # Scored identity matching off, as for a first load of history (then `make dedup`); its own cost is
    # measured by `make bench-identity`. BENCH_REFERRAL_MATCHING=1 measures the flow with it on.
    "REFERRAL_MATCHING": os.environ.get("BENCH_REFERRAL_MATCHING", "0"),
}


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')} load {loadavg()}] {message}", file=sys.stderr, flush=True)


# --- phase 1: the floor -------------------------------------------------------------------------


def window_rate(samples, warm):
    """Events/s over [first sample + warm, last sample] of (time, cumulative count) samples."""
    if not samples:
        return 0.0
    start = samples[0][0] + warm
    first = next(((t, n) for t, n in samples if t >= start), samples[0])
    last = samples[-1]
    if last[0] <= first[0]:
        return last[1] / max(last[0] - samples[0][0], 1e-9)
    return (last[1] - first[1]) / (last[0] - first[0])


def run_floor(events, work, mode, batch, seconds, warm):
    with ThrowawayVhost(f"floor_{mode}") as vhost:
        events_path = work / f"floor-{mode}.jsonl"
        with open(events_path, "w") as handle:
            handle.writelines(json.dumps([department, event], separators=(",", ":")) + "\n" for department, event in events)
        script = [sys.executable, str(BENCH_DIR / "floor.py")]
        consumer_out, publisher_out = work / f"floor-{mode}-consumer.json", work / f"floor-{mode}-publisher.json"
        with open(work / f"floor-{mode}.log", "w") as log_file:
            consumer = subprocess.Popen(
                script + ["consume", "--amqp", vhost.amqp_uri, "--db", str(work / f"floor-{mode}.sqlite3"),
                          "--expected", str(len(events)), "--out", str(consumer_out), "--batch", str(batch),
                          "--prefetch", str(2 * batch), "--mode", mode, "--seconds", str(seconds)],
                stdout=subprocess.PIPE, stderr=log_file, text=True)
            if consumer.stdout.readline().strip() != "ready":
                raise RuntimeError(f"floor consumer did not start: see {work / f'floor-{mode}.log'}")
            load_before = loadavg()
            meter = CpuMeter({"rabbitmq (whole node)": broker_pid()}).start()
            publisher = subprocess.Popen(script + ["publish", "--amqp", vhost.amqp_uri, "--events", str(events_path),
                                                  "--out", str(publisher_out)], stderr=log_file)
            if consumer.wait(timeout=seconds + 600) != 0:
                raise RuntimeError(f"floor consumer failed: see {work / f'floor-{mode}.log'}")
            if publisher.poll() is None:
                publisher.terminate()
            publisher.wait()
            broker_cpu = meter.stop()["rabbitmq (whole node)"]
        consumed = json.loads(consumer_out.read_text())
        published = json.loads(publisher_out.read_text())
    samples = consumed["samples"]
    return {"mode": mode, "events": consumed["consumed"], "seconds": samples[-1][0] - samples[0][0],
            "rate": window_rate(samples, warm), "batch": consumed["consumed"] / max(consumed["batches"], 1),
            "load": f"{load_before} -> {loadavg()}",
            "cpu_ms_per_event": {"consumer": 1000 * consumed["cpu_per_event"],
                                 "publisher": 1000 * published["cpu_per_event"],
                                 "rabbitmq (whole node)": 1000 * (broker_cpu or 0) / max(published["published"], 1)}}


# --- phase 2: end to end ------------------------------------------------------------------------


def endpoints(system):
    return {d: (system[d].url, api_key(d)) for d in DEPARTMENTS}


def system_pids(system):
    return {**{name: p.process.pid for name, p in system.processes.items()},
            "load generator (this process)": os.getpid(), "rabbitmq (whole node)": broker_pid()}


def end_to_end(system, watch, events, seconds, warm, max_backlog=2_000, batch_size=200, senders=4,
               batches=None):
    """Send `events` through the ingest APIs as fast as they take them (at most `max_backlog` sent and
    not yet in the timeline) for `seconds`; the rate is what reached the timeline store per second
    over the run after its first `warm` seconds. Then wait for what was sent to arrive.
    `batches` (an iterator of sending.Batch) instead of `events`: made as they are sent (first load)."""
    base = watch.high_water()
    if batches is None:
        batches = make_batches([Outgoing(d, e, f"event {n}") for n, (d, e) in enumerate(events)], batch_size)
    batches = iter(batches)
    state = {"sent": 0, "stored": 0}
    lock = threading.Lock()
    started = time.time()
    stop_at = started + seconds
    samples, errors = [], []

    def sender():
        clients = {d: IngestClient(*endpoints(system)[d], timeout=60) for d in DEPARTMENTS}
        try:
            while time.time() < stop_at:
                with lock:
                    if state["sent"] - state["stored"] > max_backlog:
                        batch = None
                    else:
                        batch = next(batches, None)
                        if batch is None:
                            return
                if batch is None:
                    time.sleep(0.05)
                    continue
                try:
                    clients[batch.department].send([item.event for item in batch.items])
                except Exception as exc:  # noqa: BLE001 - reported, and the run fails below
                    errors.append(repr(exc))
                    return
                with lock:
                    state["sent"] += len(batch.items)
        finally:
            for client in clients.values():
                client.close()

    load_before = loadavg()
    meter = CpuMeter(system_pids(system)).start()
    threads = [threading.Thread(target=sender, daemon=True) for _ in range(senders)]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        state["stored"] = watch.high_water() - base
        samples.append((time.time(), state["stored"]))
        time.sleep(0.25)
    if errors:
        raise RuntimeError(f"ingest failed: {errors[:3]}")
    sent_at_stop = state["sent"]
    rate = window_rate([(t, n) for t, n in samples if t <= stop_at], warm)
    load_after = loadavg()
    drained = None
    try:
        drained = wait_stored(watch, base + sent_at_stop, timeout=600) - stop_at
    except TimeoutError:
        pass
    cpu = meter.stop()
    return {"events": sent_at_stop, "seconds": seconds, "rate": rate, "started": started,
            "all_stored_at": None if drained is None else stop_at + drained,
            "stored_in_window": next((n for t, n in reversed(samples) if t <= stop_at), 0),
            "drain_s": drained, "load": f"{load_before} -> {load_after}",
            "cpu_ms_per_event": {name: 1000 * spent / max(sent_at_stop, 1) for name, spent in cpu.items()
                                 if spent is not None} if drained is not None else None}


def wait_stored(watch, target, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if watch.high_water() >= target:
            return time.time()
        time.sleep(0.1)
    raise TimeoutError(f"only {watch.high_water()} of {target} timeline rows after {timeout}s")


# --- phase 3: latency at a steady rate -----------------------------------------------------------


class Tail(threading.Thread):
    """Notes when each timeline row becomes visible (committed), polling the store every 2 ms."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.watch = StoreWatch(path)
        self.last = self.watch.high_water()
        self.seen = {}
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            rows = self.watch.since(self.last)
            now = time.time()
            for rowid, event_id in rows:
                self.seen[event_id] = now
                self.last = rowid
            time.sleep(0.002)

    def stop(self):
        self.stopping.set()
        self.join()
        self.watch.close()


def steady_latency(system, referral_db, events, rate, sample_every=20):
    tail = Tail(referral_db)
    tail.start()
    sent_at, answered_at, api_latency, errors = {}, {}, [], []
    local = threading.local()
    staff = {"X-API-Key": STAFF_KEY}

    def session():
        if not hasattr(local, "session"):
            local.session = requests.Session()
        return local.session

    def poster(department):
        if not hasattr(local, "posters"):
            local.posters = {}
        if department not in local.posters:
            local.posters[department] = KeepAlivePoster(system[department].url)
        return local.posters[department]

    bodies = {event["event_id"]: json.dumps(event, ensure_ascii=False).encode() for _, event in events}

    def check_api(event_id, started):
        """Read the event back through the timeline API as soon as the store shows it."""
        deadline = time.time() + 10
        while event_id not in tail.seen and time.time() < deadline:
            time.sleep(0.002)
        child_id = tail.watch.child_of(event_id)
        while child_id and time.time() < deadline:
            answer = session().get(f"{system['referral'].url}/v1/children/{child_id}/timeline",
                                   headers=staff, timeout=10)
            if answer.status_code == 200 and any(e["event_id"] == event_id for e in answer.json()["entries"]):
                api_latency.append(time.time() - started)
                return
        errors.append(f"{event_id} not read back through the API")

    def send(index, department, event, at):
        delay = at - time.time()
        if delay > 0:
            time.sleep(delay)
        started = time.time()
        sent_at[event["event_id"]] = started
        status = poster(department).post("/v1/events", bodies[event["event_id"]],
                                         {"X-API-Key": api_key(department)})
        answered_at[event["event_id"]] = time.time()
        if status != 202:
            errors.append(f"HTTP {status}")
        elif index % sample_every == 0:
            check_api(event["event_id"], started)

    load_before = loadavg()
    meter = CpuMeter(system_pids(system)).start()
    start = time.time() + 0.5
    with ThreadPoolExecutor(max_workers=32) as pool:
        futures = [pool.submit(send, n, d, e, start + n / rate) for n, (d, e) in enumerate(events)]
        for future in futures:
            future.result()
    deadline = time.time() + 30  # what is not committed 30 s after the last send is counted missing
    while len([e for e in sent_at if e in tail.seen]) < len(events) and time.time() < deadline:
        time.sleep(0.05)
    cpu = meter.stop()
    tail.stop()
    warm = 2 * rate  # the first two seconds are left out
    measured = [e["event_id"] for _, e in events[warm:]]
    latencies = [tail.seen[e] - sent_at[e] for e in measured if e in tail.seen]
    missing = len(measured) - len(latencies)
    # not committed within 30 s of the last send: slower than any seen, and counted so in the percentiles
    store = summary_ms(latencies + [float("inf")] * missing)
    return {"rate": rate, "events": len(events), "store": store, "missing": missing,
            "api": summary_ms(api_latency) if api_latency else None, "errors": errors[:5],
            "cpu_ms_per_event": {name: 1000 * spent / len(events) for name, spent in cpu.items()
                                 if spent is not None},
            "stages": latency_stages(referral_db, measured, sent_at, answered_at, tail.seen),
            "achieved_rate": len(events) / (max(sent_at.values()) - min(sent_at.values())),
            "load": f"{load_before} -> {loadavg()}"}


def latency_stages(referral_db, event_ids, sent_at, answered_at, committed_at):
    """Where each event's time went, stage by stage (ms): the ingest answer (HTTP, contract check, outbox
    commit), the relay (published_at in the department's outbox: claimed, published, confirmed), the
    broker and the referral's batching (stored_at: the referral handler taking it in), the commit of
    that handler's batch."""
    data = Path(referral_db).parent
    published = {}
    for department in DEPARTMENTS:
        path = data / f"{department}.sqlite3"
        if not path.exists():
            continue
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            published.update(conn.execute("SELECT event_id, published_at FROM outbox WHERE published_at IS NOT NULL"))
    with sqlite3.connect(f"file:{referral_db}?mode=ro", uri=True) as conn:
        handled = dict(conn.execute("SELECT event_id, json_extract(entry, '$.stored_at') FROM timeline"))
    stages = {"ingest answered": [], "relay: answered -> confirmed": [], "broker + batching: -> handler": [],
              "handler -> committed": []}
    for event_id in event_ids:
        marks = (sent_at.get(event_id), answered_at.get(event_id), published.get(event_id),
                 handled.get(event_id), committed_at.get(event_id))
        if None in marks:
            continue
        for name, (a, b) in zip(stages, itertools.pairwise(marks), strict=True):
            stages[name].append(b - a)
    return {name: summary_ms(values) for name, values in stages.items() if values}


# --- phase 4: reads ------------------------------------------------------------------------------


def wait_drained(system, vhost, timeout=240):
    """Until no outbox holds anything and no referral queue has a message: the reads are measured on a
    system at rest, not behind a backlog the latency phase may have left."""
    started = time.time()
    while time.time() - started < timeout:
        queued = sum(n for name, n in vhost.queues().items() if name.startswith("referral.") and n)
        backlog = sum(system.outbox_backlog(d) for d in DEPARTMENTS)
        if not queued and not backlog:
            return time.time() - started
        time.sleep(1)
    return None



def timeline_reads(system, referral_db, templates, reads, size=500):
    """A child with `size` events written straight into the store, then read through the API."""
    store = SqliteTimelineStore(referral_db)
    child_id = child_id_for(READS_BASE)
    index = READS_BASE
    written = 0
    with store.batch():
        while written < size:
            for department, event in templates.history(index):
                if written >= size:
                    break
                store_write_as(store, event, child_id)
                written += 1
            index += 1
    store.close()
    url = f"{system['referral'].url}/v1/children/{child_id}/timeline"
    session = requests.Session()
    headers = {"X-API-Key": STAFF_KEY}
    first = session.get(url, headers=headers, timeout=10)
    entries = len(first.json()["entries"])
    load_before = loadavg()
    times, parsed = [], []
    for _ in range(reads):
        started = time.perf_counter()
        answer = session.get(url, headers=headers, timeout=10)  # the whole body received
        answer.raise_for_status()
        received = time.perf_counter()
        if len(answer.json()["entries"]) != entries:
            raise RuntimeError("the timeline read back changed")
        times.append(received - started)
        parsed.append(time.perf_counter() - started)
    # the figure is the GET, to its whole body received; the client's own JSON parse of ~260 KiB (~2 ms
    # of Python) is the caller's work, shown beside it
    return {"entries": entries, "bytes": len(first.content), **summary_ms(times),
            "with_client_parse": summary_ms(parsed), "load": f"{load_before} -> {loadavg()}"}


def store_write_as(store, event, child_id):
    store.claim_key(f"bench:{child_id}", child_id)
    store.append_to_timeline(entry_from_event(event, child_id, time.time()))


# --- phase 6: growth ----------------------------------------------------------------------------


def store_costs(path, templates, children, samples):
    """Per-operation costs on a store holding `children` synthetic children (GROWTH_BASE...)."""
    rng = random.Random(5)
    store = SqliteTimelineStore(path)
    picks = [GROWTH_BASE + rng.randrange(children) for _ in range(samples)]
    keys, child_ids = [], []
    for index in picks:
        _department, event = templates.events_for(index)[0]
        keys.append(keys_for(event))
        child_ids.append(child_id_for(index))

    def timed(call, items):
        out = []
        for item in items:
            started = time.perf_counter()
            call(item)
            out.append(time.perf_counter() - started)
        return summary_ms(out)

    result = {
        "identity lookup (children_for_keys)": timed(store.children_for_keys, keys),
        "find_child by key": timed(lambda k: store.find_child(k[0]), keys),
        "timeline read (store.timeline)": timed(store.timeline, child_ids),
        "timeline view (as the API builds it)": timed(lambda c: timeline_view(store, c), child_ids),
    }
    # appends: new events for existing children and for new children, 100 to a transaction
    fresh = []
    for index in picks[: samples // 2]:  # an event of the child's history it does not have yet
        have = set(templates.picks(index))
        history = templates._template(index)
        missing = [k for k in range(len(history)) if k not in have]
        if missing:
            fresh.append(stamp(history[missing[-1]][1], index))
    fresh += [e for i in range(samples // 2 // 3) for _, e in templates.events_for(SLICE_BASE + 9_000_000 + i)]
    per_batch = []
    for start in range(0, len(fresh), 100):
        chunk = fresh[start:start + 100]
        started = time.perf_counter()
        with store.batch():
            for event in chunk:
                store_write(store, event)
        per_batch.append((time.perf_counter() - started) / len(chunk))
    result["store write per event, batched by 100 (identity + profile + append)"] = summary_ms(per_batch)
    started = time.perf_counter()
    store.stats()
    result["stats() (kept counts, served on /health)"] = summary_ms([time.perf_counter() - started])
    store.close()
    size = sum(Path(str(path) + suffix).stat().st_size for suffix in ("", "-wal", "-shm")
               if Path(str(path) + suffix).exists())
    return result, size


def first_load_estimate(rate_start, rate_end, events=FIRST_LOAD_EVENTS):
    """Seconds for `events`, the rate moving linearly (in events stored) from rate_start to rate_end."""
    if abs(rate_start - rate_end) < 1e-9:
        return events / rate_start
    return events * math.log(rate_start / rate_end) / (rate_start - rate_end)


# --- the run ------------------------------------------------------------------------------------


def start_system(work, amqp_uri):
    system = System(amqp_uri, work, env={name: SERVICE_ENV for name in (*DEPARTMENTS, "referral")})
    return system.start()


PHASES = ("floor", "e2e", "latency", "reads", "growth", "city", "first-load")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, to try the harness")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: does every phase still run (make test)")
    parser.add_argument("--report", help="also write the report (markdown) to this file")
    parser.add_argument("--json", help="also write the raw figures (JSON) to this file")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, stores)")
    parser.add_argument("--skip-growth", action="store_true")
    parser.add_argument("--only", help=f"comma-separated phases to run ({', '.join(PHASES)}); default all")
    parser.add_argument("--big", type=int, help="children in the big store (default 300,000; quick 20,000)")
    parser.add_argument("--batch", type=int, default=int(os.environ.get("CONSUMER_BATCH_SIZE", "100")),
                        help="floor consumer's events per transaction (as the referral service's consumer)")
    args = parser.parse_args(argv)
    scale = "smoke" if args.smoke else "quick" if args.quick else "full"
    sizes = dict(SIZES[scale])
    phases = set(args.only.split(",")) if args.only else set(PHASES)
    if args.skip_growth:
        phases.discard("growth")
    if args.big:
        sizes["growth"] = (sizes["growth"][0], args.big)
    work = Path(tempfile.mkdtemp(prefix="childlink-bench-", dir=os.environ.get("BENCH_WORK_DIR")))
    results = {"sizes": sizes, "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "machine": machine(),
               "load_at_start": loadavg(), "batch": args.batch}
    run_started = time.time()
    try:
        log(f"work folder {work}; building templates")
        templates = Templates()

        for n, mode in enumerate(("store", "validate", "handler") if "floor" in phases else ()):
            events = interleave(first_load(templates, FLOOR_BASE + n * 1_000_000, sizes["floor_children"]))
            log(f"phase 1: floor ({mode}) for {sizes['floor_s']}s")
            results[f"floor_{mode}"] = run_floor(events, work, mode, args.batch, sizes["floor_s"], sizes["warm_s"] / 2)
            log(f"  floor ({mode}) {results[f'floor_{mode}']['rate']:.0f} events/s")

        if phases & {"e2e", "latency", "reads"}:
            system_phases(results, work, templates, sizes, phases)

        if "growth" in phases:
            small, big = sizes["growth"]
            results["growth"] = {}
            for children, folder in ((small, work / "growth-small"), (big, work / "slice" / "data")):
                folder.mkdir(parents=True, exist_ok=True)
                path = folder / "referral.sqlite3"
                log(f"phase 6: pre-loading {children} children into {path}")
                started = time.time()
                _, written = preload(path, templates, GROWTH_BASE, children)
                took = time.time() - started
                log(f"  {written} events in {took:.0f}s; measuring store costs")
                costs, size = store_costs(path, templates, children, sizes["growth_samples"])
                results["growth"][children] = {"events": written, "preload_s": took, "costs": costs,
                                               "file_mib": size / 2**20, "load": loadavg()}
            if sizes["slice_s"]:
                end_to_end_on_big_store(results, work, templates, sizes, big)
                if "e2e" in results:
                    results["first_load_s"] = first_load_estimate(results["e2e"]["rate"], results["slice"]["rate"])

        if "city" in phases:
            city_figures(results, scale)

        if "first-load" in phases:
            first_load_measured(results, work, scale)
    finally:
        results["took_s"] = time.time() - run_started
        results["load_at_end"] = loadavg()
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    from report import render
    text = render(results)
    print(text)
    if args.report:
        Path(args.report).write_text(text)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))
    return 0


def system_phases(results, work, templates, sizes, phases):
    """Phases 2-5 on one running system (the services as `make run` starts them)."""
    with ThrowawayVhost("e2e") as vhost:
        system = start_system(work / "e2e", vhost.amqp_uri)
        referral_db = work / "e2e" / "data" / "referral.sqlite3"
        sampler = RssSampler({name: p.process.pid for name, p in system.processes.items()}).start()
        try:
            watch = StoreWatch(referral_db)
            if "e2e" in phases:
                e2e_events = interleave(first_load(templates, E2E_BASE, sizes["e2e_children"]))
                log(f"phase 2: end to end for {sizes['e2e_s']}s")
                results["e2e"] = end_to_end(system, watch, e2e_events, sizes["e2e_s"], sizes["warm_s"])
                log(f"  end to end {results['e2e']['rate']:.0f} events/s")

            if "latency" in phases:
                latency_events = interleave(first_load(templates, LATENCY_BASE, 200 * sizes["latency_s"] // 3 + 10))
                latency_events = latency_events[: 200 * sizes["latency_s"]]
                log(f"phase 3: latency at 200 events/s for {sizes['latency_s']}s")
                results["latency"] = steady_latency(system, referral_db, latency_events, 200)
                log(f"  p99 committed {results['latency']['store']['p99']:.0f} ms")

            if "reads" in phases:
                log("phase 4: reads, once the pipeline has drained")
                results["drain_before_reads_s"] = wait_drained(system, vhost)
                results["timeline_read"] = timeline_reads(system, referral_db, templates, sizes["reads"])
                log(f"  timeline read p99 {results['timeline_read']['p99']:.1f} ms")
                results["inbox"] = inbox.measure(system, vhost.amqp_uri, referral_db, work, sizes["reads"],
                                                 count=sizes.get("inbox", 10_000))
                if results["inbox"].get("available"):
                    log(f"  inbox page p99 {results['inbox']['p99']:.1f} ms")
            results["referrals_raised"] = count_referrals(referral_db)
            watch.close()
        finally:
            results["memory_mib"] = sampler.stop()
            system.stop()


def end_to_end_on_big_store(results, work, templates, sizes, big):
    with ThrowawayVhost("slice") as vhost:
        system = start_system(work / "slice", vhost.amqp_uri)
        sampler = RssSampler({name: p.process.pid for name, p in system.processes.items()}).start()
        try:
            watch = StoreWatch(work / "slice" / "data" / "referral.sqlite3")
            slice_events = interleave(first_load(templates, SLICE_BASE, sizes["e2e_children"]))
            log(f"phase 6: end to end for {sizes['slice_s']}s on the {big}-children store")
            results["slice"] = end_to_end(system, watch, slice_events, sizes["slice_s"], sizes["warm_s"])
            watch.close()
            log(f"  {results['slice']['rate']:.0f} events/s")
        finally:
            results["slice_memory_mib"] = sampler.stop()
            system.stop()


# phase 7, the city's figures: bench/insights.py (also `make bench-insights`), children and page reads each
INSIGHTS_SIZES = {"full": (300_000, 200), "quick": (20_000, 100), "smoke": (150, 3)}


def city_figures(results, size):
    """Phase 7: the insights service at Bangkok's size - events taken, the city pages in-process and
    through the real gateway -> RPC -> insights path, a rebuild (bench/insights.py)."""
    import insights
    children, pages = INSIGHTS_SIZES[size]
    log(f"phase 7: the city's figures, {children:,} children")
    results["insights"] = insights.run(children, pages)


# phase 8, a first load measured (bench/first_load.py --bulk, also `make bench-first-load`): events, children.
# The full run takes a tenth of the 1,000,000 over 300,000 and extrapolates at its own rate.
FIRST_LOAD_SIZES = {"full": (100_000, 30_000), "quick": (10_000, 3_000), "smoke": (300, 100)}


def first_load_measured(results, work, size):
    """Phase 8: the documented bulk entry (docs/first-load.md) over a JSON Lines file of the first-load
    mix, the referral and insights loads at once, timed to both finished; then dedup over what it stored."""
    import first_load
    events, children = FIRST_LOAD_SIZES[size]
    folder = work / "first-load"
    folder.mkdir(parents=True, exist_ok=True)
    log(f"phase 8: first load through the bulk entry, {events:,} events over {children:,} children")
    measured = first_load.bulk_load(folder, events, children)
    measured["children"] = children
    measured["extrapolated_s"] = first_load.TARGET_EVENTS / measured["rate"]
    log(f"  {measured['rate']:.0f} events/s; dedup")
    measured["dedup"] = first_load.dedup(folder)
    results["first_load_bulk"] = measured


def count_referrals(referral_db):
    watch = StoreWatch(referral_db)
    try:
        rows = watch.conn.execute("SELECT status, COUNT(*) FROM referrals GROUP BY status").fetchall()
        return dict(rows)
    except Exception:  # noqa: BLE001 - informational only
        return {}
    finally:
        watch.close()


if __name__ == "__main__":
    sys.exit(main())
