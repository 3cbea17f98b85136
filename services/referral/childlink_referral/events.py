"""What the referral service publishes on `referral.events`: one event per transition, built from the
referral and its history item (so the same transition always gives the same event, whenever it is built),
and how such an event goes onto the child's timeline."""

from childlink_common.errors import PermanentFailure

from .lifecycle import EREFER, FHIR
from .timeline import utc_key

SYSTEM = "childlink-referral"
SNAPSHOT = ("referral_id", "child_id", "reason", "rule", "from", "to", "district", "due_by", "source_event_ids",
            "note_details")


def _acting_side(referral, item):
    by = item.get("by") or {}
    if by.get("facility") == referral["to"].get("facility") or item["action"] in (
            "accept", "reject", "schedule", "start", "complete", "record_outcome"):
        return referral["to"]
    return referral["from"]


def transition_event(referral, item):
    """The event for the transition recorded by history `item` of `referral`."""
    side = _acting_side(referral, item)
    after = item["to"]
    payload = {key: referral.get(key) for key in SNAPSHOT}
    details = item.get("details") or {}
    payload.update({
        "referral_version": item["version"], "status": after,
        "outcome": details.get("outcome") if after == "completed" else None,
        "outcome_notes": item.get("note") if after == "completed" else None,
        "scheduled_for": details.get("scheduled_for"),
        "transition": {key: item.get(key) for key in ("action", "from", "to", "at", "by", "note")},
        "details": details,
    })
    payload["fhir_status"], payload["erefer_code"] = FHIR[after][0], EREFER[after]
    return {
        "event_id": item["event_id"],
        # evidence changes no status: its own type, so a consumer counting transitions counts it apart
        "type": "referral.evidence_attached" if item["action"] == "attach_evidence" else f"referral.{after}",
        "version": 1,
        "occurred_at": item["at"],
        "recorded_at": item["at"],
        "source": {"department": "referral", "system": SYSTEM,
                   "facility": {"code": side.get("facility") or "", "district_code": side.get("district") or ""}},
        "subject": {"child_id": referral["child_id"]},
        "correlation_id": referral["referral_id"],
        "payload": payload,
    }


def events_of(referral):
    return [transition_event(referral, item) for item in referral["history"]]


TIMELINE_FIELDS = ("referral_id", "referral_version", "reason", "rule", "status", "outcome", "outcome_notes",
                   "scheduled_for", "from", "to", "due_by")


def timeline_entries(referral):
    """The referral's transitions as entries of the child's timeline (department `referral`), the same
    facts its published events carry: a completed referral's outcome shows where it was raised."""
    entries = []
    for item in referral["history"]:
        event = transition_event(referral, item)
        payload = event["payload"]
        entries.append({
            "event_id": event["event_id"], "child_id": referral["child_id"], "department": "referral",
            "type": event["type"], "version": 1, "occurred_at": event["occurred_at"],
            "occurred_at_utc": utc_key(event["occurred_at"]), "recorded_at": event["recorded_at"],
            "facility_code": event["source"]["facility"]["code"],
            "district_code": event["source"]["facility"]["district_code"],
            "correlation_id": event["correlation_id"], "supersedes": None, "status": "current", "duplicates": 0,
            "payload": {**{key: payload.get(key) for key in TIMELINE_FIELDS}, "action": item["action"],
                        "note": item.get("note"), "details": item.get("details") or {},
                        "by_role": (item.get("by") or {}).get("role")},
        })
    return entries


def check_delivered(event, referral):
    """A referral event read back from `referral.events` must be one this service published."""
    try:
        referral_id, version = event["payload"]["referral_id"], event["payload"]["referral_version"]
    except (KeyError, TypeError) as exc:
        raise PermanentFailure("not a referral event", {"payload": [f"missing {exc}"]}) from exc
    if referral is None or referral["referral_id"] != referral_id:
        raise PermanentFailure("not a referral of this service", {"payload.referral_id": [f"unknown {referral_id!r}"]})
    if not any(item["event_id"] == event.get("event_id") and item["version"] == version
               for item in referral["history"]):
        raise PermanentFailure("not a transition of this referral", {"event_id": ["not in the referral's history"]})
