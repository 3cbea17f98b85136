"""A child's developmental timeline: one entry per event, ordered by when it happened, not by arrival."""

import datetime as dt


def utc_key(instant: str) -> str:
    """A sortable UTC form of an ISO instant, so +07:00 and Z timestamps order correctly."""
    parsed = dt.datetime.fromisoformat(instant.replace("Z", "+00:00"))
    return parsed.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_from_event(event, child_id, stored_at: float):
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
    }


def ordered(entries):
    return sorted(entries, key=lambda e: (e["occurred_at_utc"], e["event_id"]))


def with_status(entries):
    """Mark what a later correction superseded or a retraction withdrew, wherever it arrived in time."""
    retracted = {e["supersedes"] for e in entries if e["type"] == "event.retracted" and e["supersedes"]}
    superseded = {e["supersedes"] for e in entries if e["type"] != "event.retracted" and e["supersedes"]}
    result = []
    for entry in ordered(entries):
        status = "retracted" if entry["event_id"] in retracted else (
            "superseded" if entry["event_id"] in superseded else "current")
        result.append({**entry, "status": status})
    return result


def current(entries):
    """Only what stands: neither superseded, retracted, nor a retraction itself."""
    return [e for e in with_status(entries) if e["status"] == "current" and e["type"] != "event.retracted"]
