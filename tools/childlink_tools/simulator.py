"""`childlink-simulate`: simulate Bangkok's children and drive the four department ingest APIs with them.

    childlink-simulate --children 500 --seed 7                 # generate, then send to 127.0.0.1:8101-8104
    childlink-simulate --children 50 --dry-run --out sim.jsonl  # write the events instead of sending

Each child gets a health-centre record, and by age and chance a child development centre, a
kindergarten class, household risk assessments and hospital care, each department with its own local
id for the child. Some events arrive late, out of order, twice, corrected or retracted (see
`delivery`). For tests and benchmarks, `generate(children, seed, now)` returns the events alone and
`generate_dataset(...)` adds the ground truth.
"""

import argparse
import datetime as dt
import sys
import time
from collections import Counter

from childlink_contracts import INGEST_DEPARTMENTS

from .dataset import Dataset, generate, generate_dataset
from .departments import default_api_key, default_url
from .eventfiles import write_events
from .sending import MAX_BATCH, Outgoing, Sender, format_summary
from .timing import bangkok_now

__all__ = ["Dataset", "generate", "generate_dataset", "main"]


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="childlink-simulate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--children", type=int, default=100, help="how many children (default 100)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--now", help="simulate up to this ISO time instead of now (Bangkok if no offset)")
    parser.add_argument("--batch-size", type=int, default=50, help="events per request (default 50)")
    parser.add_argument("--concurrency", type=int, default=4, help="parallel HTTP workers (default 4)")
    parser.add_argument("--rate", type=float, help="at most this many events a second")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request (default 10)")
    parser.add_argument("--dry-run", action="store_true", help="send nothing; write the events (see --out)")
    parser.add_argument("--out", help="write the events here as JSON Lines (with --dry-run: default stdout)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    for department in INGEST_DEPARTMENTS:
        parser.add_argument(f"--{department}-url",
                            help=f"default ${department.upper()}_URL or the local service")
        parser.add_argument(f"--{department}-api-key",
                            help=f"default ${department.upper()}_API_KEY or dev-{department}-key")
    args = parser.parse_args(argv)
    if min(args.children, args.batch_size, args.concurrency, 1 if args.rate is None else args.rate) <= 0:
        parser.error("--children, --batch-size, --concurrency and --rate must be positive")
    if args.batch_size > MAX_BATCH:
        parser.error(f"--batch-size: the services take at most {MAX_BATCH} events a request")
    return args


def _now(text):
    return bangkok_now(dt.datetime.fromisoformat(text)) if text else None


def generation_summary(dataset):
    """Per department: events to send, and how many of them are repeats, late, held back, fixes."""
    log, rows = dataset.delivery, Counter()
    seen = set()
    for department, event in dataset.events:
        event_id = event["event_id"]
        rows[department, "events"] += 1
        if event_id in seen:
            rows[department, "repeats"] += 1
            continue
        seen.add(event_id)
        for name, ids in (("late", log.late), ("held_back", log.held_back), ("corrections", log.corrections),
                          ("retractions", log.retractions)):
            rows[department, name] += event_id in ids
    columns = ("events", "repeats", "late", "held_back", "corrections", "retractions")
    lines = [f"{'department':<11}" + "".join(f"{name:>12}" for name in columns)]
    for department in INGEST_DEPARTMENTS:
        lines.append(f"{department:<11}" + "".join(f"{rows[department, name]:>12}" for name in columns))
    lines.append(f"{'total':<11}" + "".join(
        f"{sum(rows[department, name] for department in INGEST_DEPARTMENTS):>12}" for name in columns))
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    started = time.perf_counter()
    dataset = generate_dataset(args.children, args.seed, _now(args.now))
    took = time.perf_counter() - started
    print(f"generated {len(dataset.events)} events for {args.children} children up to "
          f"{dataset.now.isoformat()} in {took:.1f}s ({len(dataset.events) / args.children:.1f} a child)",
          file=sys.stderr)
    print(generation_summary(dataset), file=sys.stderr)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            write_events(handle, dataset.events)
    elif args.dry_run:
        write_events(sys.stdout, dataset.events)
    if args.dry_run:
        return 0
    endpoints = {department: (getattr(args, f"{department}_url") or default_url(department),
                              getattr(args, f"{department}_api_key") or default_api_key(department))
                 for department in INGEST_DEPARTMENTS}
    outgoing = [Outgoing(department, event, f"event {number}")
                for number, (department, event) in enumerate(dataset.events, 1)]
    sender = Sender(endpoints, batch_size=args.batch_size, concurrency=args.concurrency, rate=args.rate,
                    timeout=args.timeout, progress=not args.no_progress)
    started = time.perf_counter()
    tallies = sender.send(outgoing)
    took = time.perf_counter() - started
    print(format_summary(tallies))
    print(f"sent in {took:.1f}s ({len(outgoing) / took:.0f} events/s)")
    return 1 if any(tally.rejected or tally.failed for tally in tallies.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
