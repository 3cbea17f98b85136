"""Batch deduplication after a first load of history (taken in with REFERRAL_MATCHING=0, so no record was
scored at intake): every match record is scored against the other children's records, once.

    python -m childlink_referral.dedup [--dry-run] [--report PATH] [--limit N]

`deduplicate` builds the matcher's index from the store (`KnownRecords.catch_up`), then goes through the
match records in the order they were first stored (their first seq in the match log). A record whose
child was merged meanwhile is skipped (its records are scored as the kept child's). Each record is scored
against the records of OTHER children only (its own child's are left out) and `decision.decide` is asked
about the best two remaining candidates, as intake would:

- link: the two children become one (`Linking.merge`, by DEDUP, how "dedup"; undoable like any merge).
  The older child - the one whose first record has the lower seq - is kept. The index is caught up from
  the log at once, so the moved records are scored as the kept child's from then on;
- review: a review item for a person (`Linking.open_review`): the newer child, the older as candidate;
- new: nothing.

Each pair of children is decided once (A's record against B, or B's against A, whichever comes first). A
pair a person has looked at already - a review in any status (open, linked, kept apart) or a merge a
person undid - is neither linked nor sent to review again; a pair whose merge the store refuses (two
different valid national IDs) is counted as refused. `dry_run` decides and counts the same way without
writing: merges are played on the in-memory index only (the store and the outbox are left alone).
"""

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass

from tqdm import tqdm

from .identity import log_rows
from .lifecycle import Refusal
from .linking import DEDUP
from .matching.decision import LINK, REVIEW, decide
from .matching.linker import Outcome
from .matching.scoring import explain


@dataclass
class Report:
    records: int = 0  # match records scanned
    children_before: int = 0  # children holding match records
    children_after: int = 0
    links: int = 0  # merges made (in a dry run: that would be made)
    reviews: int = 0  # pairs sent to review
    already_reviewed: int = 0  # pairs skipped: a review of them exists already, in any status
    unlinked_before: int = 0  # pairs skipped: a person undid a merge of them
    refused: int = 0  # links the store refused (e.g. two different valid national IDs)
    seconds: float = 0.0
    dry_run: bool = False

    def to_dict(self):
        return asdict(self)

    def table(self):
        rows = [
            ("records scanned", self.records),
            ("children before", self.children_before),
            ("children after", self.children_after),
            ("links made" + (" (dry run)" if self.dry_run else ""), self.links),
            ("pairs sent to review", self.reviews),
            ("pairs already reviewed", self.already_reviewed),
            ("pairs unlinked before", self.unlinked_before),
            ("links refused", self.refused),
            ("seconds", f"{self.seconds:.1f}"),
        ]
        width = max(len(name) for name, _ in rows)
        return "\n".join(f"{name:<{width}}  {value:>10}" for name, value in rows)


def _first_seqs(store):
    """Every match record's first seq in the log: the order records were first stored in."""
    first = {}
    for row in log_rows(store):
        first.setdefault(row["record_key"], row["seq"])
    return first


class _Children:
    """The children as this run sees them: each child's records and first seq, and (in a dry run) the
    merges played in memory only."""

    def __init__(self, store, linking, known, first_seq, dry_run):
        self.store, self.linking, self.known, self.dry_run = store, linking, known, dry_run
        self.records, self.oldest, self.moved = {}, {}, {}
        self.absorbed = {}  # child -> the children merged into it during this run
        self.partners = {}  # child -> the children it was decided against in this run (current ids)
        for key, seq in first_seq.items():
            child_id = known.matcher.record(key).child_id
            self.records.setdefault(child_id, []).append(key)
            self.oldest[child_id] = min(self.oldest.get(child_id, seq), seq)

    def current(self, child_id):
        return self.linking.current_id(child_id, self._merged_into)

    def _merged_into(self, child_id):
        return self.moved.get(child_id) or self.store.merged_into(child_id)

    def older_first(self, a, b):
        """(older, newer): the child whose first record was stored first is the older one."""
        inf = float("inf")
        return (a, b) if (self.oldest.get(a, inf), a) <= (self.oldest.get(b, inf), b) else (b, a)

    def merged(self, kept, merged):
        keys = self.records.pop(merged, [])
        if self.dry_run:
            self.moved[merged] = kept
            for key in keys:
                self.known.matcher.reassign(key, kept)
        else:
            self.known.catch_up()  # the merge moved the records: the log says so
        self.records.setdefault(kept, []).extend(keys)
        self.oldest[kept] = min(self.oldest.get(kept, float("inf")), self.oldest.pop(merged, float("inf")))
        self.absorbed.setdefault(kept, set()).update({merged, *self.absorbed.pop(merged, ())})
        for other in self.partners.pop(merged, ()):
            self.partners[other].discard(merged)
            if other != kept:
                self.partners[other].add(kept)
                self.partners.setdefault(kept, set()).add(other)
        self.partners.get(kept, set()).discard(merged)

    def decided(self, a, b):
        """True when the pair was decided in this run already (either way round, or as children since
        merged into these two); else mark it decided now."""
        if b in self.partners.get(a, ()):
            return True
        self.partners.setdefault(a, set()).add(b)
        self.partners.setdefault(b, set()).add(a)
        return False

    def looked_at(self, a, b):
        """"reviewed" / "unlinked" when a person has looked at the pair already (in any way), else None."""
        pair = {a, b}
        ids = {a, b, *self.absorbed.get(a, ()), *self.absorbed.get(b, ())}
        for child_id in sorted(ids):
            for review in self.store.identity_reviews_of_child(child_id):
                if {self.current(review["child_id"]), self.current(review["candidate_id"])} == pair:
                    return "reviewed"
        for child_id in (a, b):
            for merge in self.store.merges_of_child(child_id):
                if merge["status"] != "active" and {merge["kept_id"], merge["merged_id"]} == pair:
                    return "unlinked"
        return None


def _outcome(matcher, decision, reasons, best, runner_up, considered):
    """The "why" kept with a merge or a review, in the shape intake keeps (`Outcome.to_dict`)."""
    return Outcome(decision, best.child_id, best.record_id, best.score, best.weight, matcher.prior,
                   explain(best.level_tuple, matcher.weights), runner_up, reasons, considered,
                   matcher.weights).to_dict()


def deduplicate(store, linking, known, progress=None, dry_run=False, limit=None) -> Report:
    """Score every match record against the other children's records; link, send to review or leave.

    `known`: an `identity.KnownRecords` over `store` (caught up here). `progress(done, total)` is called
    after each record. `limit`: scan only the first that many records (a trial run)."""
    started = time.monotonic()
    report = Report(dry_run=dry_run)
    known.catch_up()
    matcher = known.matcher
    first_seq = _first_seqs(store)
    order = sorted(first_seq, key=first_seq.get)[:limit]
    children = _Children(store, linking, known, first_seq, dry_run)
    report.children_before = matcher.children
    for done, key in enumerate(order, 1):
        report.records += 1
        record = matcher.record(key)
        own = record.child_id
        if children.current(own) == own:
            _consider(linking, matcher, children, report, record, dry_run)
        if progress is not None:
            progress(done, len(order))
    report.children_after = matcher.children
    report.seconds = round(time.monotonic() - started, 3)
    return report


def _consider(linking, matcher, children, report, record, dry_run):
    own = record.child_id
    ranked = [candidate for candidate in matcher.candidates(record) if candidate.child_id != own]
    best = ranked[0] if ranked else None
    runner_up = ranked[1] if len(ranked) > 1 else None
    decision, reasons = decide(best, runner_up, matcher.thresholds)
    if decision not in (LINK, REVIEW):
        return
    if children.decided(own, best.child_id):
        return
    seen = children.looked_at(own, best.child_id)
    if seen == "reviewed":
        report.already_reviewed += 1
        return
    if seen == "unlinked":
        report.unlinked_before += 1
        return
    older, newer = children.older_first(own, best.child_id)
    outcome = _outcome(matcher, decision, reasons, best, runner_up, len(ranked))
    if decision == LINK:
        if dry_run:
            try:
                linking.check_mergeable(older, newer)
            except Refusal:
                report.refused += 1
                return
        else:
            try:
                linking.merge(older, newer, DEDUP, "dedup", None, outcome)
            except Refusal:
                report.refused += 1
                return
        report.links += 1
        children.merged(older, newer)
    else:
        newer_record = record.record_id if newer == own else best.record_id
        if not dry_run:
            linking.open_review(newer, older, outcome, newer_record)
        report.reviews += 1


# --- the command ---------------------------------------------------------------------------------


class _ProgressBar:
    """The simulator's progress bar (tqdm, as `childlink_tools.sending` draws it), on stderr."""

    def __init__(self, enabled=True):
        self.enabled = enabled
        self.bar = None

    def __call__(self, done, total):
        if self.bar is None:
            self.bar = tqdm(total=total, unit="rec", disable=not self.enabled, dynamic_ncols=True, file=sys.stderr)
        self.bar.update(done - self.bar.n)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m childlink_referral.dedup",
        description="Link the children a first load of history left apart (scored matching of every record).")
    parser.add_argument("--dry-run", action="store_true", help="decide and count, write nothing")
    parser.add_argument("--report", metavar="PATH", help="also write the report as JSON here")
    parser.add_argument("--limit", type=int, metavar="N", help="scan only the first N records")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 0:
        parser.error("--limit must be 0 or more")
    return args


def main(argv=None):
    from childlink_common.logs import configure
    from childlink_common.outbox import open_outbox

    from .identity import KnownRecords
    from .linking import Linking
    from .store import open_store
    from .workflow import Referrals

    args = parse_args(argv)
    configure("referral", os.environ.get("LOG_LEVEL", "WARNING"))  # a log line per merge would hide the bar
    store = open_store()
    outbox = open_outbox("referral")  # the running service's relay publishes the child.linked events
    bar = _ProgressBar(enabled=not args.no_progress)
    try:
        linking = Linking(store, outbox, Referrals(store, outbox))
        report = deduplicate(store, linking, KnownRecords(store), progress=bar, dry_run=args.dry_run,
                             limit=args.limit)
    finally:
        bar.close()
        outbox.close()
        store.close()
    print(report.table())
    if args.report:
        with open(args.report, "w", encoding="utf-8") as handle:
            json.dump(report.to_dict(), handle, indent=2)
            handle.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
