"""`python -m childlink_insights.bulk_load FILE.jsonl`: a first load of history straight into the city's
indicator cells, through the consumer's own code (docs/first-load.md). `python -m
childlink_referral.bulk_load FILE --with-insights` runs it alongside the referral's, in a second process.

Each line (`{"department": ..., "event": {...}}`) is checked against its contract as the department's
ingest checks it (childlink_common.event_lines.check_line; with the referral's --with-insights, once
for both loads, by a CheckedFeed), and the checked event (what the department publishes) is taken as
the live consumer takes a delivery (childlink_insights.taking.take_batch), `--batch` events a store
transaction. A refused
line is reported by its number and field and counts nowhere; so is an event_id the file gives again
with other content (the referral's load refuses that line too). The referral events (referrals raised,
children linked) reach insights from the referral's outbox when the services start, as live.

Exit status: 0 every line taken, 1 some lines refused, 2 the file or store failed, 3 the insights
store is not empty (unless --into-existing).
"""

import argparse
import os
import sys
import time

from childlink_common.checked_feed import received
from childlink_common.errors import EventConflict, PermanentFailure
from childlink_common.event_lines import Refusal, check_line, chunks, read_lines
from childlink_common.logs import configure
from childlink_contracts import event_key
from childlink_contracts.content import HASH_PREFIX
from childlink_referral.growth import zscores

from .aggregate import Aggregator
from .store import open_store
from .taking import take_batch

BATCH = 1_000
# beside the referral's load, which runs its rules alone once the lines are in: this load yields the CPU
# to the referral's and the feed's while all three run, and finishes on the core the rules leave idle
NICE_BESIDE_REFERRAL = 10


class ContentSeen:
    """The content hash of each event_id the file has given so far: an event_id given again with other
    content is refused as the referral's load (and the department's ingest) refuse it, so the two
    stores never keep different versions of one event. 16 bytes of the hash a key: ~100 bytes an event."""

    def __init__(self):
        self._digests = {}

    def conflict(self, number, event, content_hash):
        key = event_key(event["source"]["department"], event["event_id"])
        digest = bytes.fromhex(content_hash.removeprefix(HASH_PREFIX)[:32])
        first = self._digests.setdefault(key, digest)
        if first == digest:
            return None
        return Refusal(number, EventConflict(event["source"]["department"], event["event_id"]).errors)


def load(store, items, batch=BATCH, aggregator=None):
    """Take Lines (checked here) or Checked items (checked by a CheckedFeed) a store batch at a time;
    (events counted, [Refusal])."""
    aggregator = aggregator or Aggregator(store, zscores)
    counted, refused = 0, []
    seen = ContentSeen()
    for chunk in chunks(items, batch):
        events = []  # (line number, event)
        for item in map(check_line, chunk):
            if isinstance(item, Refusal):
                refused.append(item)
                continue
            conflict = seen.conflict(item.number, item.event, item.digest)
            if conflict is not None:
                refused.append(conflict)
                continue
            events.append((item.number, item.event))
        try:
            counted += take_batch(store, aggregator, [event for _, event in events])
        except PermanentFailure:  # rolled back: one at a time, so only the refused one is left out
            for number, event in events:
                try:
                    counted += take_batch(store, aggregator, [event])
                except PermanentFailure as exc:
                    refused.append(Refusal(number, exc.errors or {"_event": [exc.reason]}))
    return counted, refused


def is_empty(store):
    return next(iter(store.subjects()), None) is None


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m childlink_insights.bulk_load",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("file")
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--into-existing", action="store_true")
    parser.add_argument("--no-progress", action="store_true")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if not os.path.isfile(args.file):
        print(f"insights bulk_load: no such file {args.file}", file=sys.stderr)
        return 2
    return run(args, read_lines(args.file))


def main_from_feed(argv, end):
    """The load in a process of its own, taking the lines a CheckedFeed read and checked (the referral's
    bulk load starts it so with --with-insights); exits with main's status."""
    os.nice(NICE_BESIDE_REFERRAL)
    try:
        sys.exit(run(parse_args(argv), received(end)))
    finally:
        end.close()  # stopped before reading (store not empty): the feed stops sending to this end


def run(args, items):
    configure("insights", level=os.environ.get("LOG_LEVEL", "WARNING"))
    store = open_store()
    try:
        if not args.into_existing and not is_empty(store):
            print("insights bulk_load: the insights store already holds subjects: a first load is for an empty "
                  "system; --into-existing loads anyway (idempotent by event_id)", file=sys.stderr)
            return 3
        started = time.monotonic()
        try:
            counted, refused = load(store, items, args.batch)
        except Exception as exc:  # noqa: BLE001 - what committed stays; a re-run is idempotent by event_id
            print(f"insights bulk_load: stopped: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 2
        for refusal in refused:
            for text in refusal.lines():
                print(f"{args.file} {text}", file=sys.stderr)
        print(f"insights: {counted:,} events counted, {len(refused):,} lines refused in "
              f"{time.monotonic() - started:.1f} s (CPU {time.process_time():.1f} s)", flush=True)
        return 1 if refused else 0
    finally:
        store.close()


if __name__ == "__main__":
    sys.exit(main())
