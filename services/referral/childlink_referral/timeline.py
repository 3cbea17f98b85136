"""A child's developmental timeline: one entry per event, ordered by when it happened, not by arrival."""

import datetime as dt

from childlink_contracts import content_hash


def utc_key(instant: str) -> str:
    """A sortable UTC form of an ISO instant, so +07:00 and Z timestamps order correctly."""
    parsed = dt.datetime.fromisoformat(instant).astimezone(dt.UTC)  # Python >= 3.11 reads "Z"
    if parsed.year < 1000:  # strftime's %Y leaves such a year unpadded: keep the keys stored so far
        return parsed.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # isoformat is the same text for every later year, at a third of strftime's cost
    return parsed.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def entry_from_event(event, child_id, stored_at: float, digest=None):
    """`digest`: the event's content hash when the caller has it already (intake does)."""
    source = event["source"]
    return {
        "event_id": event["event_id"],
        "child_id": child_id,
        "department": source["department"],
        "type": event["type"],
        "version": event["version"],
        "occurred_at": event["occurred_at"],
        "occurred_at_utc": utc_key(event["occurred_at"]),
        "recorded_at": event["recorded_at"],
        "stored_at": stored_at,
        "facility_code": source["facility"]["code"],
        "district_code": source["facility"]["district_code"],
        "correlation_id": event["correlation_id"],
        "supersedes": event.get("supersedes"),
        "payload": event["payload"],
        # same department + event_id, other content: a conflict
        "content_hash": digest or content_hash(event),
    }


def ordered(entries):
    return sorted(entries, key=lambda e: (e["occurred_at_utc"], e["event_id"]))


def with_status(entries):
    """Mark what a later correction superseded or a retraction withdrew, wherever it arrived in time."""
    # a department corrects or retracts only its own events: `supersedes` names one of the same department
    retracted = {(e.get("department"), e["supersedes"]) for e in entries
                 if e["type"] == "event.retracted" and e["supersedes"]}
    superseded = {(e.get("department"), e["supersedes"]) for e in entries
                  if e["type"] != "event.retracted" and e["supersedes"]}
    result = []
    for entry in ordered(entries):
        key = (entry.get("department"), entry["event_id"])
        status = "retracted" if key in retracted else ("superseded" if key in superseded else "current")
        result.append({**entry, "status": status})
    return result


def current(entries):
    """Only what stands: neither superseded, retracted, nor a retraction itself."""
    return [e for e in with_status(entries) if e["status"] == "current" and e["type"] != "event.retracted"]
