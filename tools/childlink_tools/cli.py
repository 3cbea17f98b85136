"""`childlink-send`: send events from JSON / JSON Lines files (or stdin) to one department's ingest API.

    childlink-send --department health --url http://127.0.0.1:8103 --api-key dev-health-key events.jsonl

Lines written by `childlink-simulate --dry-run` carry their department; those of other departments are
skipped, so one simulator file can feed all four departments in turn.

All or nothing, like one batch of the API: every event of the input is checked against the contracts
before anything is sent, and when one is invalid nothing is sent (each bad one is named by its line).
Should the service still refuse a batch, that batch is stored nowhere and the batches after it are not
sent. `--keep-going` sends the valid events of a file that has invalid ones (and resends the rest of a
refused batch). Exit status: 0 all taken, 1 some events rejected (or, without --keep-going, the file
refused), 2 nothing could be sent (unreadable input, wrong key, service unreachable).
"""

import argparse
import sys

from childlink_contracts import INGEST_DEPARTMENTS, ContractError, validate_event

from .departments import default_api_key, default_url
from .eventfiles import EventFileError, read_events
from .sending import MAX_BATCH, Outgoing, Sender, format_summary


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="childlink-send", description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", default=["-"], help="JSON or JSONL files; '-' or none reads stdin")
    parser.add_argument("--department", required=True, choices=INGEST_DEPARTMENTS)
    parser.add_argument("--url", help="the department service (default $<DEPARTMENT>_URL or 127.0.0.1:81xx)")
    parser.add_argument("--api-key", help="default $<DEPARTMENT>_API_KEY or dev-<department>-key")
    parser.add_argument("--batch-size", type=int, default=50, help="events per request (default 50)")
    parser.add_argument("--concurrency", type=int, default=1, help="requests in flight (default 1)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request (default 10)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--keep-going", action="store_true",
                        help="send the valid events even when some are invalid (default: all or nothing)")
    args = parser.parse_args(argv)
    if not 1 <= args.batch_size <= MAX_BATCH or args.concurrency < 1:
        parser.error(f"--batch-size must be 1 to {MAX_BATCH}, --concurrency at least 1")
    return args


def load(files, department):
    """[Outgoing] for `department` from the files, and how many lines named another department."""
    outgoing, skipped = [], 0
    for name in files:
        if name == "-":
            text, label = sys.stdin.read(), "stdin"
        else:
            with open(name, encoding="utf-8") as handle:
                text, label = handle.read(), name
        for where, named_department, event in read_events(text, label):
            if named_department not in (None, department):
                skipped += 1
                continue
            outgoing.append(Outgoing(department, event, where))
    return outgoing, skipped


def invalid_events(outgoing):
    """["<where>: <field>: <message>"] for every event that breaks its contract (or repeats an id in the input
    with other content); empty when the whole input may go."""
    problems = []
    for item in outgoing:
        try:
            validate_event(item.event, item.department)
        except ContractError as exc:
            problems += [f"{item.where}: {path}: {' '.join(msgs)}" for path, msgs in sorted(exc.errors.items())]
    return problems


def main(argv=None):
    args = parse_args(argv)
    try:
        outgoing, skipped = load(args.files, args.department)
    except (OSError, EventFileError) as exc:
        print(f"childlink-send: {exc}", file=sys.stderr)
        return 2
    if skipped:
        print(f"skipped {skipped} events of other departments", file=sys.stderr)
    if not outgoing:
        print("childlink-send: no events to send", file=sys.stderr)
        return 2
    problems = invalid_events(outgoing)
    if problems and not args.keep_going:
        print(f"childlink-send: nothing sent: {len(problems)} problem(s) in the input "
              "(--keep-going sends the valid events):", file=sys.stderr)
        for problem in problems[:50]:
            print(f"  {problem}", file=sys.stderr)
        print(f"{len(outgoing)} events, none sent; first problem: {problems[0]}")
        return 1
    sender = Sender(
        {args.department: (args.url or default_url(args.department),
                           args.api_key or default_api_key(args.department))},
        batch_size=args.batch_size, concurrency=args.concurrency, timeout=args.timeout,
        progress=not args.no_progress, keep_going=args.keep_going,
    )
    tallies = sender.send(outgoing)
    print(format_summary(tallies))
    tally = tallies[args.department]
    if tally.failed:
        return 2
    return 1 if tally.rejected else 0


if __name__ == "__main__":
    sys.exit(main())
