"""Which child an event is about.

A child is known by keys: `nid:<national id>` when the department knows a checksum-valid one, and
always `local:<department>:<facility>:<local id>` (the record key: one per department record).

One child per record: once a record key belongs to a child, every later event of that record lands on
that child, whatever national ID it carries. A national ID that another child holds already is not a
reason to move the event (part of a record never moves alone): the resolution names that child
(`national_id_holder`) and intake links the two children as one merge, or opens a review when they
conflict (`national_id_link`). Claiming the record key is the atomic step, so two events about a new
record racing on two workers or two replicas still land on one child.

When no key is known, the record is scored against every known record (`matching.Matcher`, kept in
memory by `KnownRecords` and caught up from the store's match log, so replicas agree):

- link: the record joins the best candidate child at once, as a merge that can be undone
  (`linking.Linking.merge`, how "automatic"): its keys go to the candidate, the "why" is in the merge;
- review: a child of its own for now, and a review item for a person to link or keep apart;
- new: a child of its own.
"""

import threading
import uuid
from dataclasses import dataclass, field

from childlink_contracts import is_valid_national_id

from .matching.decision import LINK, REVIEW
from .matching.linker import Matcher

LOG_PAGE = 5000
MATCHED_FIELDS = ("given_name", "family_name", "birth_date", "sex", "district_code", "national_id", "guardian")


def keys_for(event):
    child = event["subject"]["child"]
    facility = event["source"]["facility"]["code"]
    keys = []
    national_id = child.get("national_id")
    if national_id and is_valid_national_id(national_id):
        keys.append(f"nid:{national_id}")
    keys.append(f"local:{event['source']['department']}:{facility}:{child['local_id']}")
    return keys


def record_key_of(event):
    return keys_for(event)[-1]


def matched_subject(event):
    """What the matcher keeps of a record: the subject's identifying fields (no local id, no free text)."""
    child = event["subject"]["child"]
    return {name: child[name] for name in MATCHED_FIELDS if child.get(name)}


def profile_of(event):
    """What the timeline keeps of a child's demographics, as the department last recorded them."""
    child = event["subject"]["child"]
    return {field: child[field] for field in
            ("national_id", "given_name", "family_name", "birth_date", "sex", "district_code")
            if child.get(field)}


def log_rows(store, since=0):
    """Every match log row past seq `since`, in seq order, read a page at a time."""
    while True:
        rows = store.match_log_since(since, LOG_PAGE)
        yield from rows
        if len(rows) < LOG_PAGE:
            return
        since = rows[-1]["seq"]


class KnownRecords:
    """This replica's matcher over every match record in the store. Each use first reads the match log
    past the last row it applied, so a record another replica added a moment ago is a candidate here."""

    def __init__(self, store, matcher=None):
        self.store = store
        self.matcher = matcher or Matcher()
        self.seq = 0
        self.lock = threading.Lock()
        self._subjects = {}  # record key -> the subject it was indexed with
        # while a unit of work is open (`opened`): what each applied row replaced, to undo it if the
        # work rolls back. SQLite reuses a rolled-back row's seq, so rows applied from a batch that rolled
        # back would otherwise stay as phantom records (of children that do not exist) and the rows
        # written again under the same seqs would never be read.
        self._undo = []
        self._open = []  # [undo length, seq] at each open unit of work

    def opened(self):
        """A unit of work (a store batch) starts: a mark for `committed` or `rolled_back`."""
        with self.lock:
            mark = [len(self._undo), self.seq]
            self._open.append(mark)
            return mark

    def _close(self, mark):
        self._open = [m for m in self._open if m is not mark]
        if not self._open:
            self._undo.clear()

    def committed(self, mark):
        with self.lock:
            self._close(mark)

    def rolled_back(self, mark):
        """Forget every row applied since `mark` and read the log again from there: what the store kept
        (MongoDB keeps its writes; SQLite none of the batch's) is applied again at the next use."""
        with self.lock:
            length, seq = mark
            for key, subject, child_id in reversed(self._undo[length:]):
                self._restore(key, subject, child_id)
            del self._undo[length:]
            self.seq = min(self.seq, seq)
            for other in self._open:  # a unit of work still open now starts where this one did, at latest
                other[0], other[1] = min(other[0], length), min(other[1], seq)
            self._close(mark)

    def _restore(self, key, subject, child_id):
        if key in self._subjects:
            self.matcher.remove(key)
            del self._subjects[key]
        if subject is not None:
            self.matcher.add(subject, child_id=child_id, record_id=key)
            self._subjects[key] = subject

    def catch_up(self):
        applied = 0
        for row in log_rows(self.store, self.seq):
            self._apply(row)
            applied += 1
        return applied

    def _apply(self, row):
        key, child_id, subject = row["record_key"], row["child_id"], row["subject"]
        known = self._subjects.get(key)
        if self._open:
            self._undo.append((key, known, None if known is None else self.matcher.record(key).child_id))
        if known is None:
            self.matcher.add(subject, child_id=child_id, record_id=key)
        elif known == subject:
            if self.matcher.record(key).child_id != child_id:
                self.matcher.reassign(key, child_id)
        else:
            self.matcher.remove(key)
            self.matcher.add(subject, child_id=child_id, record_id=key)
        self._subjects[key] = subject
        self.seq = max(self.seq, row["seq"])

    def match(self, subject):
        with self.lock:
            self.catch_up()
            return self.matcher.match(subject)

    def __len__(self):
        return len(self.matcher)


@dataclass
class Resolution:
    child_id: str
    record_key: str
    how: str  # "key" (a key already known), "new", "matched" (scored link), "review" (new, pair in review)
    conflicts: list = field(default_factory=list)
    outcome: dict | None = None  # the matcher's outcome (`Outcome.to_dict()`), when it was asked
    candidate_id: str | None = None  # the suggested child, for "review" and "matched"
    national_id_holder: str | None = None  # another child holding the event's national ID: link or review


CHILD_NAMESPACE = uuid.UUID("9a4c2e71-6b0d-4f3a-8c5e-1d7b3f9e2a64")


def new_child_id(record_key):
    """A new child's id, from the record that first named it: a batch rolled back and taken again makes
    the same child (and so the same merge and the same events), not a second one."""
    return str(uuid.uuid5(CHILD_NAMESPACE, record_key))


def resolve(store, event, known: KnownRecords | None = None):
    """Which child the event is about, claiming its keys for that child.

    The record key decides first: a known record's events stay on its child. A new record with a
    national ID some child holds joins that child; otherwise, with `known`, it is scored (without,
    deterministic keys only). `conflicts` lists the event's keys another child holds."""
    keys = keys_for(event)
    record_key = keys[-1]
    national_key = keys[0] if len(keys) > 1 else None
    held = store.children_for_keys(keys)
    how, outcome, candidate = "key", None, None
    child_id = held.get(record_key) or (held.get(national_key) if national_key else None)
    if child_id is None:
        how, child_id = "new", new_child_id(record_key)
        if known is not None:
            found = known.match(matched_subject(event))
            if found.decision in (LINK, REVIEW):
                outcome, candidate = found.to_dict(), found.child_id
                how = "matched" if found.decision == LINK else "review"
    # a key read as held is not claimed again: a claim answers the holder, which the read just gave
    claimed = held.get(record_key) or store.claim_key(record_key, child_id)
    if claimed != child_id:  # another worker claimed the record a moment ago: its child it is
        child_id, how, outcome, candidate = claimed, "key", None, None
    holder = None
    if national_key is not None:
        holder = held.get(national_key) or store.claim_key(national_key, child_id)
        holder = None if holder == child_id else holder
    conflicts = [national_key] if holder else []
    return Resolution(child_id, record_key, how, conflicts, outcome, candidate, holder)


def remember(store, event, child_id):
    """Keep (or refresh) the event's record for matching: a no-op write when nothing changed."""
    store.upsert_match_record(record_key_of(event), child_id, matched_subject(event))
