"""Taking one department event into the referral service: check, resolve the child, append to the timeline."""

import time
from dataclasses import dataclass, field

from childlink_common.errors import PermanentFailure
from childlink_contracts import ContractError, validate_event

from .identity import profile_of, resolve
from .timeline import entry_from_event, utc_key


@dataclass
class Intake:
    event_id: str
    child_id: str
    applied: bool
    conflicts: list = field(default_factory=list)


def take_in(store, body, department, clock=time.time):
    """Idempotent by event_id: a redelivered or re-sent event is counted as a duplicate, not applied."""
    try:
        event = validate_event(body, department)
    except ContractError as exc:
        raise PermanentFailure("breaks its contract", exc.errors) from exc
    subject = event["subject"]
    if "child" in subject:
        child_id, conflicts = resolve(store, event)
        store.save_profile(child_id, profile_of(event), utc_key(event["occurred_at"]))
    else:
        child_id, conflicts = f"centre:{subject['centre']['centre_id']}", []
    applied = store.append_to_timeline(entry_from_event(event, child_id, clock()))
    return Intake(event["event_id"], child_id, applied, conflicts)
