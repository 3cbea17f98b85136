"""`make bench-first-load`: a first load of history, measured end to end, then its deduplication.

    .venv/bin/python bench/first_load.py                                # 1,000,000 events, 300,000 children
    .venv/bin/python bench/first_load.py --events 30000 --children 9000 # a reduced run, extrapolated

The five services as `make run` starts them (scored matching off, as for a first load; then
`python -m childlink_referral.dedup`), on a throwaway vhost and a fresh embedded store. The events are
the first-load mix (bench/synth.py: ~3.3 a child) made a chunk of children at a time as they are sent
(a million events held at once would take gigabytes), shuffled within each chunk, and posted in batches
of 200 to the four ingest APIs by four senders, with at most `--backlog` sent and not yet stored. The
time is from the first POST to the last event committed in the referral timeline: the live path, with
every contract check and rule, not a bulk import around them.

`--bulk` measures the documented bulk entry instead (docs/first-load.md): the same mix written to a JSON
Lines file first (timed apart), then `python -m childlink_referral.bulk_load FILE --with-insights` (as
`make first-load` runs it: the file read and checked once by a checked feed, the referral's and the
insights loads in processes of their own), timed from its start until it exited, with the same contract
check and domain code as the live consumers; then dedup as above.

A reduced run is extrapolated to 1,000,000 events at its own rate, and says so: the rate falls slowly
as the store grows (see the growth section of docs/benchmark-report.md), so that is a lower bound.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from childlink_tools.eventfiles import write_events
from childlink_tools.sending import Outgoing, make_batches
from common import CpuMeter, ThrowawayVhost, loadavg, machine
from run import end_to_end, start_system, system_pids
from storework import StoreWatch
from synth import Templates, first_load, interleave

TARGET_EVENTS, TARGET_CHILDREN, TARGET_S = 1_000_000, 300_000, 600
BASE = 70_000_000
CHUNK_CHILDREN = 5_000


def mix(templates, events, children):
    """The first-load mix for `children` children, cut at `events`: a shuffled chunk of children at a time."""
    sent = 0
    for first in range(0, children, CHUNK_CHILDREN):
        chunk = interleave(first_load(templates, BASE + first, min(CHUNK_CHILDREN, children - first)),
                           seed=first)
        chunk = chunk[: events - sent]
        sent += len(chunk)
        yield chunk
        if sent >= events:
            return


def batches(templates, events, children, batch_size=200):
    """The mix as the senders post it, made a chunk at a time."""
    for chunk in mix(templates, events, children):
        yield from make_batches([Outgoing(d, e, f"event {n}") for n, (d, e) in enumerate(chunk)], batch_size)


def write_history(path, templates, events, children):
    """The first-load mix as the bulk load reads it; (events written, seconds)."""
    started, written = time.time(), 0
    with open(path, "w", encoding="utf-8") as handle:
        for chunk in mix(templates, events, children):
            write_events(handle, chunk)
            written += len(chunk)
    return written, time.time() - started


SAID_CPU = {  # each process's own summary line: its wall seconds and its CPU seconds
    "referral": re.compile(r"^referral: .* in ([\d.]+) s \(CPU ([\d.]+) s\)", re.MULTILINE),
    "checked feed": re.compile(r"^checked feed: .* in ([\d.]+) s \(CPU ([\d.]+) s\)", re.MULTILINE),
    "insights": re.compile(r"^insights: .* in ([\d.]+) s \(CPU ([\d.]+) s\)", re.MULTILINE),
}


def bulk_load(work, events, children):
    """`make first-load`'s load over one file (the referral's, with the insights load and the checked feed
    in processes of their own); the figures of the run."""
    history = work / "history.jsonl"
    written, writing_s = write_history(history, Templates(), events, children)
    env = {**os.environ, "CHILDLINK_DATA_DIR": str(work / "data"), "REFERRAL_MATCHING": "0"}
    started, load_before = time.time(), loadavg()
    with open(work / "bulk.log", "w+", encoding="utf-8") as said:
        proc = subprocess.Popen([sys.executable, "-m", "childlink_referral.bulk_load", str(history), "--with-insights",
                                 "--no-progress"], env=env, stdout=said, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        took = time.time() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        said.seek(0)
        text = said.read()
    if proc.returncode != 0:
        raise RuntimeError(f"bulk load exited {proc.returncode}: {text[-1500:]}")
    figures = {name: pattern.search(text) for name, pattern in SAID_CPU.items()}
    missing = [name for name, found in figures.items() if found is None]
    if missing:
        raise RuntimeError(f"bulk load said nothing of {missing}: {text[-1500:]}")
    cpu = {name: float(found.group(2)) for name, found in figures.items()}
    return {"events": written, "writing_file_s": writing_s, "seconds": took, "rate": written / took,
            "seconds_each": {name: float(found.group(1)) for name, found in figures.items()},
            "load": f"{load_before} -> {loadavg()}",
            "cpu_ms_per_event": {name: round(1000 * spent / written, 3) for name, spent in cpu.items()},
            # the whole tree as the kernel counted it, beside the sum of what each process said
            "cpu_s_all": round(usage.ru_utime + usage.ru_stime, 1),
            "cpu_s_said": round(sum(cpu.values()), 1)}


def dedup(work):
    env = {**os.environ, "CHILDLINK_DATA_DIR": str(work / "data"), "REFERRAL_MATCHING": "1"}
    report = work / "dedup.json"
    started, load_before = time.time(), loadavg()
    done = subprocess.run([sys.executable, "-m", "childlink_referral.dedup", "--no-progress", "--report", str(report)],
                          env=env, capture_output=True, text=True, timeout=7200, check=False)
    took = time.time() - started
    if done.returncode != 0:
        return {"ok": False, "seconds": took, "error": done.stderr[-1500:]}
    return {"ok": True, "seconds": took, "load": f"{load_before} -> {loadavg()}",
            "report": json.loads(report.read_text()) if report.exists() else None}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=TARGET_EVENTS)
    parser.add_argument("--children", type=int, default=TARGET_CHILDREN)
    parser.add_argument("--backlog", type=int, default=6_000, help="events sent and not yet stored, at most")
    parser.add_argument("--skip-dedup", action="store_true")
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--bulk", action="store_true",
                        help="the bulk entry (childlink_referral/insights.bulk_load) instead of the live path")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="childlink-first-load-", dir=os.environ.get("BENCH_WORK_DIR")))
    result = {"events_asked": args.events, "children": args.children, "load_at_start": loadavg(),
              "machine": machine()}
    try:
        if args.bulk:
            result.update({"mode": "bulk", **bulk_load(work, args.events, args.children)})
        else:
            result.update({"mode": "live", **live_load(work, args)})
        if result["events"] < TARGET_EVENTS:
            result["extrapolated_s"] = TARGET_EVENTS / result["rate"]
        if not args.skip_dedup:
            result["dedup"] = dedup(work)
    finally:
        result["load_at_end"] = loadavg()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(render(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, default=str))
    return 0


def live_load(work, args):
    """The five services, the events posted to the ingest APIs; the figures of the run."""
    templates = Templates()
    with ThrowawayVhost("first_load") as vhost:
        system = start_system(work, vhost.amqp_uri)
        try:
            watch = StoreWatch(work / "data" / "referral.sqlite3")
            meter = CpuMeter(system_pids(system)).start()
            e2e = end_to_end(system, watch, None, seconds=6 * 3600, warm=5, max_backlog=args.backlog,
                             batches=batches(templates, args.events, args.children))
            cpu = meter.stop()
            watch.close()
        finally:
            system.stop()
    if e2e["all_stored_at"] is None:
        raise RuntimeError("not every event reached the timeline")
    took = e2e["all_stored_at"] - e2e["started"]
    return {"events": e2e["events"], "seconds": took, "rate": e2e["events"] / took, "load": e2e["load"],
            "cpu_ms_per_event": {name: round(1000 * spent / e2e["events"], 3)
                                 for name, spent in cpu.items() if spent is not None}}


def render(r):
    lines = [(f"first load ({r['mode']}): {r['events']:,} events over {r['children']:,} children end to end in "
              f"{r['seconds']:.0f} s ({r['rate']:,.0f} events/s); load {r['load']}")]
    if "extrapolated_s" in r:
        lines.append(f"  extrapolated to {TARGET_EVENTS:,} events at that rate: {r['extrapolated_s'] / 60:.1f} min "
                     f"(target < {TARGET_S // 60} min; a lower bound: the rate falls as the store grows)")
    else:
        lines.append(f"  target < {TARGET_S // 60} min: {'met' if r['seconds'] < TARGET_S else 'not met'}")
    if r["mode"] == "bulk":
        lines.append(f"  (the JSONL file written beforehand in {r['writing_file_s']:.0f} s, not timed; each finished "
                     f"after: {r['seconds_each']})")
    lines.append("  CPU ms an event: " + ", ".join(f"{k} {v}" for k, v in sorted(
        r["cpu_ms_per_event"].items(), key=lambda item: -item[1])))
    if r.get("dedup"):
        d = r["dedup"]
        lines.append(f"  dedup afterwards: {d['seconds']:.0f} s" + ("" if d["ok"] else f" FAILED: {d['error'][-300:]}"))
    lines.append(f"  load average at start {r['load_at_start']}, at end {r['load_at_end']}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
