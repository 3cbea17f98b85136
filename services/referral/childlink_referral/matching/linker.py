"""`Matcher`: the known children's records, blocked, and the scored decision for an incoming record.

    matcher = Matcher()
    matcher.add(subject, child_id="c-1", record_id="health:HC-1001-01:HN1")   # a record of a known child
    outcome = matcher.match(incoming_subject)
    outcome.decision            # "link" | "review" | "new"
    outcome.child_id, outcome.score, outcome.comparison   # the best candidate, and why
    outcome.to_dict()           # for the review queue / the "why linked" history

A child can hold several records (one per department, say); a candidate child's score is its best
record's. Deterministic links (a checksum-valid national ID, or department + facility + local id
already seen) stay in `childlink_referral.identity`; this is for everything else. Plain Python: no
storage, no messaging. Ordering is deterministic: ties between children are broken by child id,
between one child's records by the earlier-added record.
"""

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple

from .blocking import BlockingIndex
from .decision import KNOWN_SHARE, THRESHOLDS, Thresholds, decide
from .normalise import Prepared, prepare
from .scoring import (
    FIELDS,
    FieldComparison,
    compare,
    conflicting_national_ids,
    explain,
    tables,
    weigh,
    with_fixed,
)
from .weights import WEIGHTS


class Candidate(NamedTuple):
    """A known child as a candidate for an incoming record, scored by its best record."""

    child_id: str
    record_id: str
    score: float  # match weight: posterior log2-odds that this child is the one (weight + prior)
    weight: float  # the sum of the fields' log2(m/u)
    level_tuple: tuple
    national_id_conflict: bool

    @property
    def levels(self):
        return dict(zip(FIELDS, self.level_tuple))


@dataclass(frozen=True)
class Outcome:
    decision: str  # "link" | "review" | "new"
    child_id: str | None  # the best candidate (the link for "link", the suggestion for "review")
    record_id: str | None  # its record that scored best
    score: float | None  # match weight in bits: weight + prior
    weight: float | None  # sum of the fields' weights
    prior: float  # log2 prior odds that a given known child is the one: log2(share / known children)
    comparison: tuple  # (FieldComparison, ...) for the best candidate
    runner_up: Candidate | None
    reasons: tuple
    considered: int  # records scored
    weights_used: dict | None = field(default=None, repr=False, compare=False)  # the table weighed with

    def to_dict(self):
        """JSON-ready, for a review item or a link's history: levels and weights, record and child ids
        only - no names, dates, phones or national IDs (the reviewer's page reads those from the records)."""
        return {
            "decision": self.decision, "child_id": self.child_id, "record_id": self.record_id,
            "score": None if self.score is None else round(self.score, 2),
            "weight": None if self.weight is None else round(self.weight, 2), "prior": round(self.prior, 2),
            "probability": None if self.score is None else round(probability(self.score), 6),
            "comparison": [{"field": c.field, "level": c.level, "weight": c.weight} for c in self.comparison],
            "runner_up": None if self.runner_up is None else {
                "child_id": self.runner_up.child_id, "record_id": self.runner_up.record_id,
                "score": round(self.runner_up.score, 2),
                "comparison": [{"field": c.field, "level": c.level, "weight": c.weight}
                               for c in explain(self.runner_up.level_tuple, self.weights_used or WEIGHTS)]},
            "reasons": list(self.reasons), "considered": self.considered,
        }


def probability(score):
    """Match probability from posterior log2-odds."""
    if score > 60:
        return 1.0
    odds = 2.0 ** score
    return odds / (1.0 + odds)


class Matcher:
    """Known records of known children. `known_share`: the share of scored incoming records whose child
    is already known; with the number of known children it sets the prior, so the same thresholds
    hold at 1,000 children and at 300,000 (more children, more chance look-alikes, more evidence needed)."""

    def __init__(self, weights=WEIGHTS, thresholds: Thresholds = THRESHOLDS, known_share=KNOWN_SHARE):
        self.weights = with_fixed(weights)
        self.thresholds = thresholds
        self.known_share = known_share
        self._tables = tables(weights)
        self._records: list[Prepared | None] = []
        self._positions: dict[str, int] = {}
        self._children: Counter = Counter()  # child id -> records held
        # child id -> its records' checksum-valid national IDs (a Counter each): a merge refuses two
        # children with different ones (linking.check_mergeable), so the matcher never proposes it
        self._national_ids: dict[str, Counter] = {}
        self._index = BlockingIndex()

    def __len__(self):
        return len(self._positions)

    @property
    def children(self):
        return len(self._children)

    @property
    def prior(self):
        """log2 prior odds that one given known child is an incoming record's child."""
        return math.log2(self.known_share / max(len(self._children), 1))

    @staticmethod
    def prepare(record, record_id=None):
        return record if isinstance(record, Prepared) else prepare(record, record_id)

    def add(self, record, child_id: str, record_id: str | None = None) -> Prepared:
        """Know `record` (a child subject dict, or Prepared) as one of `child_id`'s records."""
        prepared = self.prepare(record, record_id)
        position = len(self._records)
        prepared.record_id = record_id or prepared.record_id or f"#{position}"
        prepared.child_id = child_id
        if prepared.record_id in self._positions:
            raise ValueError(f"record {prepared.record_id} is known already")
        self._records.append(prepared)
        self._positions[prepared.record_id] = position
        self._children[child_id] += 1
        self._hold_national_id(child_id, prepared)
        self._index.add(position, prepared)
        return prepared

    def _hold_national_id(self, child_id, record):
        if record.national_id_valid:
            self._national_ids.setdefault(child_id, Counter())[record.national_id] += 1

    def _forget(self, child_id, record):
        self._children[child_id] -= 1
        if not self._children[child_id]:
            del self._children[child_id]
        if record.national_id_valid:
            held = self._national_ids[child_id]
            held[record.national_id] -= 1
            if not held[record.national_id]:
                del held[record.national_id]
            if not held:
                del self._national_ids[child_id]

    def national_ids_of(self, child_id):
        """The checksum-valid national IDs the child's known records carry."""
        return set(self._national_ids.get(child_id, ()))

    def _child_conflict(self, prepared, child_id):
        """The incoming record's valid national ID is none of the candidate child's (which has some):
        two children, whichever of the child's records scored best."""
        if not prepared.national_id_valid:
            return False
        held = self._national_ids.get(child_id)
        return bool(held) and prepared.national_id not in held

    def reassign(self, record_id: str, child_id: str):
        """A reviewer moved a record to another child (a merge, or undoing one)."""
        record = self._records[self._positions[record_id]]
        self._forget(record.child_id, record)
        record.child_id = child_id
        self._children[child_id] += 1
        self._hold_national_id(child_id, record)

    def remove(self, record_id: str):
        position = self._positions.pop(record_id)
        record = self._records[position]
        self._index.remove(position, record)
        self._forget(record.child_id, record)
        self._records[position] = None

    def record(self, record_id: str) -> Prepared:
        return self._records[self._positions[record_id]]

    def score(self, a: Prepared, b: Prepared):
        """(weight, levels) of the pair."""
        levels = compare(a, b)
        return weigh(levels, self._tables), levels

    def _scored(self, prepared: Prepared):
        best: dict[str, tuple] = {}  # child id -> (weight, levels, record): the hot loop keeps plain tuples
        records, tables_, record_id = self._records, self._tables, prepared.record_id
        positions = self._index.candidates(prepared)
        for position in positions:
            known = records[position]
            if known is None or known.record_id == record_id:
                continue
            levels = compare(prepared, known)
            weight = weigh(levels, tables_)
            held = best.get(known.child_id)
            if held is None or weight > held[0]:
                best[known.child_id] = (weight, levels, known)
        prior = self.prior
        ranked = [Candidate(child_id, known.record_id, weight + prior, weight, levels,
                            conflicting_national_ids(prepared, known, levels)
                            or self._child_conflict(prepared, child_id))
                  for child_id, (weight, levels, known) in best.items()]
        ranked.sort(key=lambda c: (-c.score, c.child_id))
        return ranked, len(positions)

    def candidates(self, record):
        """Every child sharing a block with `record`, scored by its best record, best first."""
        return self._scored(self.prepare(record))[0]

    def match(self, record) -> Outcome:
        prepared = self.prepare(record)
        ranked, considered = self._scored(prepared)
        best = ranked[0] if ranked else None
        runner_up = ranked[1] if len(ranked) > 1 else None
        decision, reasons = decide(best, runner_up, self.thresholds)
        if best is None:
            return Outcome(decision, None, None, None, None, self.prior, (), None, reasons, considered)
        return Outcome(decision, best.child_id, best.record_id, best.score, best.weight, self.prior,
                       explain(best.level_tuple, self.weights), runner_up, reasons, considered, self.weights)


__all__ = ["Candidate", "FieldComparison", "Matcher", "Outcome", "probability"]
