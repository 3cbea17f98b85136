"""`python -m childlink_referral.bulk_load FILE.jsonl`: a first load of history straight into the
referral's store, through the consumer's own code (docs/first-load.md).

    REFERRAL_MATCHING=0 python -m childlink_referral.bulk_load history.jsonl --with-insights
    REFERRAL_MATCHING=1 python -m childlink_referral.dedup

Every line (`{"department": ..., "event": {...}}`, as `childlink-simulate --dry-run` writes) is taken as
the live consumer takes a delivery (childlink_referral.consuming: the contract check, intake.take_in)
inside store batches of `--batch` events, one commit each; then the rules run once for every child
(consuming.rules_for_child, what the live consumer runs after each event) over its whole history,
`--batch` children a commit. The referral events the rules raise go into the referral's outbox, which
the relay publishes when the service starts.

A line that is refused (not such a line, breaking its contract, reusing an event_id with other content)
is reported on stderr by its number and field, and nothing of it is kept; the lines around it are. A
re-run of the same file stores nothing twice (idempotent by department + event_id).

For an empty system with the services stopped: an existing store is refused (exit 3) unless
--into-existing. Exit status: 0 every line taken, 1 some lines refused (or a child's rules failed), 2 the
file or store failed (a re-run with --into-existing takes the rest and runs every child's rules),
3 the store is not empty.
"""

import argparse
import os
import sys
import time
from dataclasses import dataclass, field

from childlink_common import settings
from childlink_common.checked_feed import CheckedFeed, received
from childlink_common.errors import PermanentFailure, StoreUnavailable
from childlink_common.event_lines import Checked, Refusal, chunks
from childlink_common.logs import configure
from childlink_common.outbox import open_outbox

from .consuming import in_one_transaction, rules_for_child, take_in_event
from .identity import KnownRecords
from .linking import Linking
from .store import open_store
from .times import utc_now
from .workflow import Referrals

BATCH = 1_000
# as the service reads it (childlink_referral.service.MATCHING): off for a first load, then dedup
MATCHING = settings.flag_env("REFERRAL_MATCHING", True)


@dataclass
class Tally:
    applied: int = 0
    duplicates: int = 0
    refused: list = field(default_factory=list)  # Refusal
    children_evaluated: int = 0
    rules_failed: list = field(default_factory=list)  # (child_id, what failed)


class BulkReferral:
    """The store, outbox, workflow and (with matching on) matcher, as the service's Backend holds them.

    A first load takes every line in first and runs the rules afterwards, once per child over its whole
    history (`run_rules`), where the live consumer runs them after each event. Live, a history arriving
    out of order raises referrals that its later lines withdraw at once (a dose "overdue" until the line
    recording it is read); taken in as a whole, a child gets the referrals its history calls for at the
    load's time, whatever the file's order, and the rules run 3-4 times less often."""

    def __init__(self, store, outbox, matching=MATCHING, clock=utc_now):
        self.store, self.outbox = store, outbox
        self.referrals = Referrals(store, outbox, clock=clock)
        # merges during the load (a national ID linking two children) leave the rules to run_rules too
        self.linking = Linking(store, outbox, None, clock=clock)
        self.known = KnownRecords(store) if matching else None
        if self.known is not None:
            self.known.catch_up()
        self.waiting = set()  # children taken in whose rules have not run since

    def take(self, line, applied=None, waiting=None):
        """A Line (checked here, as live) or a Checked (checked by a CheckedFeed, the same check)."""
        checked = (line.event, line.digest) if isinstance(line, Checked) else None
        return take_in_event(self.store, self.referrals, line.event, line.department, known=self.known,
                             linking=self.linking, applied=applied,
                             rules_later=self.waiting if waiting is None else waiting, checked=checked)

    def load(self, items, batch=BATCH, tally=None, progress=None):
        """Take Lines or Checked items (and count Refusals) a store batch at a time, then the rules for
        every child taken in (`run_rules`); returns the Tally."""
        tally = tally if tally is not None else Tally()
        for chunk in chunks(items, batch):
            tally.refused += [item for item in chunk if isinstance(item, Refusal)]
            self._take_batch([item for item in chunk if not isinstance(item, Refusal)], tally)
            if progress:
                progress(tally)
        self.run_rules(batch, tally, progress)
        return tally

    def run_rules(self, batch=BATCH, tally=None, progress=None):
        """The rules once for each child whose events were taken in, over its whole history as it stands
        (a merged child's under the child it went into), `batch` children a transaction. A child whose
        rules fail is set aside in `tally.rules_failed` and the others go on; a store failure stops it."""
        tally = tally if tally is not None else Tally()
        children = sorted({self.linking.current_id(child_id) for child_id in self.waiting})
        for chunk in chunks(children, batch):
            try:
                self._rules_in_one_transaction(chunk)
            except StoreUnavailable:
                raise
            except Exception:  # noqa: BLE001 - taken again one child at a time, so only the failing one is left
                for child_id in chunk:
                    try:
                        self._rules_in_one_transaction([child_id])
                    except StoreUnavailable:
                        raise
                    except Exception as exc:  # noqa: BLE001 - reported by child, exit status 1
                        tally.rules_failed.append((child_id, f"{type(exc).__name__}: {exc}"))
            tally.children_evaluated += len(chunk)
            if progress:
                progress(tally)
        self.waiting.clear()
        return tally

    def _rules_in_one_transaction(self, child_ids):
        def run(applied):
            for child_id in child_ids:
                rules_for_child(self.referrals, child_id, applied=applied)

        in_one_transaction(self.store, self.known, self.referrals, run)

    def _take_batch(self, lines, tally):
        """One transaction for the lines; when one is refused, the batch is rolled back (nothing of the
        refused line is kept), the lines before it are taken again in one transaction, the refused one is
        reported, and the lines after it go on as the next batch. The children of a batch wait for the
        rules once it committed."""
        while lines:
            progress, waiting = [], set()  # each line's Intake so far, so a refusal names its line
            try:
                in_one_transaction(self.store, self.known, self.referrals,
                                   lambda applied, todo=lines, done=progress, w=waiting:
                                   self._take_all(todo, done, applied, w))
            except PermanentFailure as refused:
                failed = len(progress)
                before = lines[:failed]
                progress, waiting = [], set()
                in_one_transaction(self.store, self.known, self.referrals,
                                   lambda applied, todo=before, done=progress, w=waiting:
                                   self._take_all(todo, done, applied, w))
                self._count(progress, tally)
                self.waiting |= waiting
                tally.refused.append(Refusal(lines[failed].number, refused.errors or {"_event": [refused.reason]}))
                lines = lines[failed + 1:]
                continue
            self._count(progress, tally)
            self.waiting |= waiting
            return

    def _take_all(self, lines, intakes, applied=None, waiting=None):
        for line in lines:
            intakes.append(self.take(line, applied, waiting))

    @staticmethod
    def _count(intakes, tally):
        applied = sum(1 for intake in intakes if intake.applied)
        tally.applied += applied
        tally.duplicates += len(intakes) - applied


def store_is_empty(store):
    counts = store.stats()
    return not (counts.get("events") or counts.get("children"))


def start_loads(args):
    """The file read and checked once, in a process of its own (a CheckedFeed), for this load and, with
    --with-insights, for the insights load in a second process (childlink_insights.bulk_load)."""
    feed = CheckedFeed(args.file, loads=2 if args.with_insights else 1, chunk=args.batch)
    insights = None
    if args.with_insights:
        from childlink_insights.bulk_load import main_from_feed

        more = ["--into-existing"] if args.into_existing else []
        more += ["--no-progress"] if args.no_progress else []
        insights = feed.context.Process(target=main_from_feed, name="childlink-insights-bulk-load",
                                        args=([args.file, "--batch", str(args.batch), *more], feed.end(1)))
        insights.start()
        feed.handed_over(1)
    return feed.start(), insights


def finish_insights(insights, code):
    """Wait for the insights load; the worse of the two exit statuses (a crash or a signal counts as 2)."""
    if insights is None:
        return code
    insights.join()
    insights_code = insights.exitcode if insights.exitcode in (0, 1, 2, 3) else 2
    return max(code, insights_code)


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m childlink_referral.bulk_load",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("file", help='JSON Lines, one {"department": ..., "event": {...}} a line')
    parser.add_argument("--batch", type=int, default=BATCH, help=f"events a store transaction (default {BATCH:,})")
    parser.add_argument("--into-existing", action="store_true",
                        help="load into a store that already holds events (default: refuse, exit 3)")
    parser.add_argument("--with-insights", action="store_true",
                        help="run the insights bulk load of the same file alongside, in a second process")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.batch < 1:
        parser.error("--batch must be at least 1")
    return args


def main(argv=None):
    args = parse_args(argv)
    configure("referral", level=os.environ.get("LOG_LEVEL", "WARNING"))
    if not os.path.isfile(args.file):
        print(f"bulk_load: no such file {args.file}", file=sys.stderr)
        return 2
    store, outbox = open_store(), open_outbox("referral")
    feed = insights = None
    try:
        if not args.into_existing and not store_is_empty(store):
            print(f"bulk_load: the referral store already holds events ({store.stats()}): a first load is for "
                  "an empty system; --into-existing loads anyway (idempotent by department + event_id)",
                  file=sys.stderr)
            return 3
        started = time.monotonic()
        feed, insights = start_loads(args)
        bulk = BulkReferral(store, outbox)

        def progress(tally):
            taken, evaluated = tally.applied + tally.duplicates, tally.children_evaluated
            if args.no_progress or (taken // 100_000, evaluated // 100_000) == progress.shown:
                return
            progress.shown = (taken // 100_000, evaluated // 100_000)
            doing = f"rules run for {evaluated:,} children" if evaluated else f"{taken:,} taken"
            print(f"referral: {doing}, {len(tally.refused)} refused, {time.monotonic() - started:.0f} s",
                  file=sys.stderr)

        progress.shown = (0, 0)

        try:
            tally = bulk.load(received(feed.end(0)), args.batch, progress=progress)
        except Exception as exc:  # noqa: BLE001 - the store or file failed: what committed stays (re-run is safe)
            print(f"bulk_load: stopped: {type(exc).__name__}: {exc}; the batches before it are committed; a re-run "
                  "with --into-existing takes the rest and runs the rules for every child of the file",
                  file=sys.stderr)
            return finish_insights(insights, 2)
        finally:
            feed.end(0).close()
        for refusal in tally.refused:
            for text in refusal.lines():
                print(f"{args.file} {text}", file=sys.stderr)
        for child_id, failure in tally.rules_failed:
            print(f"bulk_load: the rules for {child_id} failed: {failure}; its events are kept, its referrals "
                  "are reconciled at its next event or by a re-run", file=sys.stderr)
        print(f"referral: {tally.applied:,} applied, {tally.duplicates:,} duplicates, {len(tally.refused):,} "
              f"lines refused, rules run for {tally.children_evaluated:,} children in "
              f"{time.monotonic() - started:.1f} s (CPU {time.process_time():.1f} s); outbox backlog "
              f"{outbox.backlog():,}", flush=True)
        return finish_insights(insights, 1 if tally.refused or tally.rules_failed else 0)
    finally:
        if insights is not None and insights.is_alive():
            insights.join()
        if feed is not None:
            feed.stop()
        store.close()
        outbox.close()


if __name__ == "__main__":
    sys.exit(main())
