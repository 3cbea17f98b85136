"""Taking one department event into the referral service: check, resolve the child, append to the timeline."""

import time
from dataclasses import dataclass, field

from childlink_common.errors import EventConflict, PermanentFailure
from childlink_contracts import ContractError, content_hash, validate_event

from .identity import profile_of, remember, resolve
from .timeline import entry_from_event


@dataclass
class Intake:
    event_id: str
    child_id: str
    applied: bool
    conflicts: list = field(default_factory=list)
    how: str = "key"  # identity.Resolution.how; "centre" for a centre's event


def take_in(store, body, department, clock=time.time, known=None, linking=None, checked=None):
    """Idempotent by department + event_id: a redelivered or re-sent event is counted as a duplicate, not
    applied; the same key with other content raises EventConflict (dead-lettered, reason `conflict`).
    The caller evaluates the rules for the returned child afterwards.

    With `known` (identity.KnownRecords) and `linking` (linking.Linking), a record no key settles is
    scored: linked at once above the upper threshold (a merge, undoable), or given a child of its own
    and a review item between the thresholds. With `linking`, a known record whose event brings a
    national ID another child holds links the two children (or opens a review when they conflict): the
    event stays with its record, never on another child alone.

    `checked`: (the event as validate_event returned it, its content hash) when the caller ran that check
    (a first load's CheckedFeed checks each line once for both stores); `body` is then that event."""
    if checked is not None:  # (event, content hash): checked already by the same check (event_lines.check_line)
        event, digest = checked
    else:
        try:
            event = validate_event(body, department)
        except ContractError as exc:
            raise PermanentFailure("breaks its contract", exc.errors) from exc
        digest = content_hash(event)
    if store.content_hash_of(department, event["event_id"]) not in (None, digest):
        raise EventConflict(department, event["event_id"])  # before any write: nothing of it is kept
    subject = event["subject"]
    if "child" not in subject:
        child_id = f"centre:{subject['centre']['centre_id']}"
        applied = store.append_to_timeline(entry_from_event(event, child_id, clock(), digest))
        return Intake(event["event_id"], child_id, applied, [], "centre")
    found = resolve(store, event, known)
    child_id = found.child_id
    remember(store, event, child_id)
    entry = {**entry_from_event(event, child_id, clock(), digest), "record_key": found.record_key}
    store.save_profile(child_id, profile_of(event), entry["occurred_at_utc"])
    applied = store.append_to_timeline(entry)
    if linking is not None and found.how == "matched":
        # a merge, or (when the two cannot be one child) a review item with the event on its own child
        child_id = linking.link_matched(found.candidate_id, child_id, found.outcome, found.record_key)
    elif linking is not None and found.how == "review":
        linking.open_review(child_id, found.candidate_id, found.outcome, found.record_key)
    if linking is not None and found.national_id_holder is not None:
        # the record's child and the child holding its national ID: one merge, or a review
        child_id = linking.national_id_link(found.national_id_holder, child_id, event, found.record_key)
    return Intake(event["event_id"], child_id, applied, found.conflicts, found.how)
