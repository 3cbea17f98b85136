"""Where the referral service's time goes per event on the first-load mix, in-process (no broker).

    .venv/bin/python bench/profile_referral.py --children 3000 [--matching] [--html out.html]

Runs the referral service's consumer work as `ReferralService._take_in_batch` does it (take_in, then
the rules for the child, 100 events a transaction, the service's log lines, to stdout) on a fresh SQLite store,
under pyinstrument, and prints CPU ms an event and the profile. With --matching, scored identity
matching is on (KnownRecords + Linking), as the service runs it by default.
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--children", type=int, default=3000)
    parser.add_argument("--matching", action="store_true")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--html")
    parser.add_argument("--no-profile", action="store_true", help="time only (the profiler adds overhead)")
    args = parser.parse_args(argv)
    os.environ.setdefault("LOG_LEVEL", "INFO")
    from childlink_common.logs import configure
    from childlink_common.outbox.sqlite_store import SqliteOutbox
    from childlink_referral.store.sqlite_store import SqliteTimelineStore

    configure("referral")
    templates = Templates()
    events = interleave(first_load(templates, FLOOR_BASE, args.children))
    work = Path(tempfile.mkdtemp(prefix="childlink-profile-"))
    store = SqliteTimelineStore(work / "referral.sqlite3")
    outbox = SqliteOutbox(work / "referral.sqlite3")
    service = handler(store, outbox, args.matching)
    by_department = {}
    profiler = None if args.no_profile else Profiler(interval=0.0005)
    cpu, wall = time.process_time(), time.perf_counter()
    if profiler:
        profiler.start()
    for start in range(0, len(events), args.batch):
        by_department.clear()
        for department, event in events[start:start + args.batch]:
            by_department.setdefault(department, []).append(event)
        for department, bodies in by_department.items():
            service._take_in_batch(bodies, department)
    if profiler:
        profiler.stop()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"{len(events)} events, {args.children} children, matching {'on' if args.matching else 'off'}: "
          f"{1000 * cpu / len(events):.3f} ms CPU an event, {len(events) / wall:.0f} events/s "
          f"(load {'/'.join(f'{x:.2f}' for x in os.getloadavg())})", file=sys.stderr, flush=True)
    store.close()
    outbox.close()
    shutil.rmtree(work, ignore_errors=True)
    if profiler:
        print(profiler.output_text(unicode=True, color=False, show_all=False), file=sys.stderr)
        if args.html:
            Path(args.html).write_text(profiler.output_html())
    return 0


if __name__ == "__main__":
    sys.exit(main())
