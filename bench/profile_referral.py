"""Where the referral service's time goes per event on the first-load mix, in-process (no broker).

    .venv/bin/python bench/profile_referral.py --children 3000 [--matching [on|off|both]] [--floor]
        [--no-profile] [--html out.html]

Runs the referral service's consumer work as `ReferralService._take_in_batch` does it (take_in, then
the rules for the child, 100 events a transaction, the service's log lines, to stdout) on a fresh SQLite store,
under pyinstrument, and prints CPU ms an event and the profile. With --matching, scored identity
matching is on (KnownRecords + Linking), as the service runs it by default; `both` runs off, then on.
A batch that fails is taken again one event at a time, as the consumer does, and the events that
failed every try are counted. --floor also times the floor's work (the store writes alone, as
bench/floor.py's store mode does them) on the same events, so the ratio comes from one run.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pyinstrument import Profiler
from synth import Templates, first_load, interleave

FLOOR_BASE = 60_000_000


def handler(store, outbox, matching):
    from childlink_referral.identity import KnownRecords
    from childlink_referral.linking import Linking
    from childlink_referral.service import ReferralService
    from childlink_referral.workflow import Referrals

    class Backend:
        pass

    backend = Backend()
    backend.store = store
    backend.referrals = Referrals(store, outbox)
    backend.linking = Linking(store, outbox, backend.referrals)
    backend.known = KnownRecords(store) if matching else None
    service = ReferralService.__new__(ReferralService)
    service.backend = backend
    return service


def take_all(service, events, batch):
    """The events as the consumer hands them over: up to `batch` a call, by department; a batch that
    fails is taken again one event at a time (childlink_common.batching), up to 5 tries each. The
    number of events that failed every try."""
    failed = 0
    by_department = {}
    for start in range(0, len(events), batch):
        by_department.clear()
        for department, event in events[start:start + batch]:
            by_department.setdefault(department, []).append(event)
        for department, bodies in by_department.items():
            try:
                service._take_in_batch(bodies, department)
            except Exception:  # noqa: BLE001 - as the consumer: one at a time, then dead-lettered
                for body in bodies:
                    for _ in range(5):
                        try:
                            service._take_in_batch([body], department)
                            break
                        except Exception:  # noqa: BLE001, S112 - counted below when every try failed
                            continue
                    else:
                        failed += 1
    return failed


def floor(events, batch):
    """The floor's work in-process (bench/floor.py --mode store): the referral's store writes per
    event, `batch` a transaction, on a fresh SQLite store. CPU seconds."""
    from childlink_referral.store.sqlite_store import SqliteTimelineStore
    from storework import store_write

    work = Path(tempfile.mkdtemp(prefix="childlink-floor-"))
    store = SqliteTimelineStore(work / "referral.sqlite3")
    cpu = time.process_time()
    for start in range(0, len(events), batch):
        with store.batch():
            for _, event in events[start:start + batch]:
                store_write(store, event)
    cpu = time.process_time() - cpu
    store.close()
    shutil.rmtree(work, ignore_errors=True)
    return cpu


def load():
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def run(events, args, matching, profiler=None):
    """The handler over `events` on a fresh store: (CPU seconds, wall seconds, events failed)."""
    from childlink_common.outbox.sqlite_store import SqliteOutbox
    from childlink_referral.store.sqlite_store import SqliteTimelineStore

    work = Path(tempfile.mkdtemp(prefix="childlink-profile-"))
    store = SqliteTimelineStore(work / "referral.sqlite3")
    outbox = SqliteOutbox(work / "referral.sqlite3")
    service = handler(store, outbox, matching)
    cpu, wall = time.process_time(), time.perf_counter()
    if profiler:
        profiler.start()
    failed = take_all(service, events, args.batch)
    if profiler:
        profiler.stop()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    store.close()
    outbox.close()
    shutil.rmtree(work, ignore_errors=True)
    return cpu, wall, failed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--children", type=int, default=3000)
    parser.add_argument("--matching", nargs="?", const="on", default="off", choices=("on", "off", "both"),
                        help="scored identity matching: on, off (default) or both, one run after the other")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--html")
    parser.add_argument("--no-profile", action="store_true", help="time only (the profiler adds overhead)")
    parser.add_argument("--floor", action="store_true",
                        help="also time the floor's store writes (bench/floor.py --mode store) in-process")
    parser.add_argument("--log-level", default="INFO", help="the service's LOG_LEVEL (INFO as it runs)")
    args = parser.parse_args(argv)
    os.environ.setdefault("LOG_LEVEL", args.log_level)
    from childlink_common.logs import configure

    configure("referral")
    templates = Templates()
    events = interleave(first_load(templates, FLOOR_BASE, args.children))
    profiler = None if args.no_profile else Profiler(interval=0.0005)
    figures = {}
    for matching in (("off", "on") if args.matching == "both" else (args.matching,)):
        cpu, wall, failed = run(events, args, matching == "on", profiler)
        figures[matching] = cpu
        print(f"{len(events)} events, {args.children} children, matching {matching}: "
              f"{1000 * cpu / len(events):.3f} ms CPU an event, {len(events) / wall:.0f} events/s, "
              f"{failed} failed (load {load()})", file=sys.stderr, flush=True)
    if args.floor:
        cpu = floor(events, args.batch)
        ratios = ", ".join(f"matching {m} at {100 * cpu / spent:.0f}% of it" for m, spent in figures.items())
        print(f"floor (store writes only): {1000 * cpu / len(events):.3f} ms CPU an event; the handler with "
              f"{ratios} (load {load()})", file=sys.stderr, flush=True)
    if profiler:
        print(profiler.output_text(unicode=True, color=False, show_all=False), file=sys.stderr)
        if args.html:
            Path(args.html).write_text(profiler.output_html())
    return 0


if __name__ == "__main__":
    sys.exit(main())
