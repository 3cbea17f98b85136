"""`python -m childlink_insights.bulk_load FILE.jsonl`: a first load of history straight into the city's
indicator cells, through the consumer's own code (docs/first-load.md). `python -m
childlink_referral.bulk_load FILE --with-insights` runs it alongside the referral's, in a second process.

Each line (`{"department": ..., "event": {...}}`) is checked against its contract as the department's
ingest checks it, and the checked event (what the department publishes) is taken as the live consumer
takes a delivery (childlink_insights.taking.take_batch), `--batch` events a store transaction. A refused
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

from childlink_common.errors import EventConflict, PermanentFailure
from childlink_common.event_lines import Line, Refusal, chunks, read_lines
from childlink_common.logs import configure
from childlink_contracts import ContractError, content_hash, event_key, validate_event
from childlink_contracts.content import HASH_PREFIX
from childlink_referral.growth import zscores

from .aggregate import Aggregator
from .store import open_store
from .taking import take_batch

BATCH = 1_000


def checked(item):
    """The event as its department's ingest accepts it, or a Refusal naming the field."""
    if isinstance(item, Refusal):
        return item
    try:
        return validate_event(item.event, item.department)
    except ContractError as exc:
        return Refusal(item.number, exc.errors)


class ContentSeen:
    """The content hash of each event_id the file has given so far: an event_id given again with other
    content is refused as the referral's load (and the department's ingest) refuse it, so the two
    stores never keep different versions of one event. 16 bytes of the hash a key: ~100 bytes an event."""

    def __init__(self):
        self._digests = {}

    def conflict(self, number, event):
        key = event_key(event["source"]["department"], event["event_id"])
        digest = bytes.fromhex(content_hash(event).removeprefix(HASH_PREFIX)[:32])
        first = self._digests.setdefault(key, digest)
        if first == digest:
            return None
        return Refusal(number, EventConflict(event["source"]["department"], event["event_id"]).errors)


def load(store, items, batch=BATCH, aggregator=None):
    """Take Lines a store batch at a time; (events counted, [Refusal])."""
    aggregator = aggregator or Aggregator(store, zscores)
    counted, refused = 0, []
    seen = ContentSeen()
    for chunk in chunks(items, batch):
        numbered = [(item.number if isinstance(item, Line) else None, checked(item)) for item in chunk]
        numbered = [(number, event if isinstance(event, Refusal) else (seen.conflict(number, event) or event))
                    for number, event in numbered]
        refused += [event for _, event in numbered if isinstance(event, Refusal)]
        events = [(number, event) for number, event in numbered if not isinstance(event, Refusal)]
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


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m childlink_insights.bulk_load",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("file")
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--into-existing", action="store_true")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    configure("insights", level=os.environ.get("LOG_LEVEL", "WARNING"))
    if not os.path.isfile(args.file):
        print(f"insights bulk_load: no such file {args.file}", file=sys.stderr)
        return 2
    store = open_store()
    try:
        if not args.into_existing and not is_empty(store):
            print("insights bulk_load: the insights store already holds subjects: a first load is for an empty "
                  "system; --into-existing loads anyway (idempotent by event_id)", file=sys.stderr)
            return 3
        started = time.monotonic()
        try:
            counted, refused = load(store, read_lines(args.file), args.batch)
        except Exception as exc:  # noqa: BLE001 - what committed stays; a re-run is idempotent by event_id
            print(f"insights bulk_load: stopped: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 2
        for refusal in refused:
            for text in refusal.lines():
                print(f"{args.file} {text}", file=sys.stderr)
        print(f"insights: {counted:,} events counted, {len(refused):,} lines refused in "
              f"{time.monotonic() - started:.1f} s")
        return 1 if refused else 0
    finally:
        store.close()


if __name__ == "__main__":
    sys.exit(main())
