"""What the insights service keeps of each subject (a child, a centre, a referral): a compact copy of the
events that count, keyed by event_id, from which its facts are derived again after every event.

Keeping the subject's own events (not running totals) is what makes the aggregates exact under the
pipeline's real conditions: a duplicate replaces itself, a late event lands in its place, a correction
replaces what it supersedes and a retraction removes it, and the subject's facts are simply derived again.

Subject keys:
- a child: `child:nid:<national id>` when an event carries a national ID, else `child:rec:<department>:
  <facility>:<local id>`; once a record has been seen under a key, its later events stay on that key, and
  a record first seen without an ID is folded into the ID's subject when the ID arrives (one child per
  record, as the referral service holds it);
- a centre: `centre:<centre_id>`;
- a referral: `referral:<referral_id>` (from `referral.events`).
"""

from .calendar import bangkok_date

# the payload fields each type's facts read; everything else (names, notes, IDs) is not kept here
KEPT_FIELDS = {
    "child.screened": ("age_band_months", "rescreen", "domains"),
    "child.growth_measured": ("weight_kg", "height_cm", "measured_lying", "head_circumference_cm", "rechecked"),
    "child.immunised": ("vaccine", "dose", "vaccine_code"),
    "child.registered": ("mother_hbsag_positive",),
    "child.enrolled": ("centre_id", "school_id", "class_level"),
    "child.attendance_recorded": ("period_start", "days_expected", "days_present"),
    "child.assessed": ("tool", "result"),
    "child.therapy_planned": ("therapy",),
    "centre.registered": ("capacity",),
    "centre.assessed": ("level", "standard_score", "areas"),
}
REFERRAL_FIELDS = ("reason", "status", "outcome", "district", "to", "from")


def record_key(event):
    child = event["subject"]["child"]
    facility = event["source"]["facility"]["code"]
    return f"child:rec:{event['source']['department']}:{facility}:{child['local_id']}"


def national_id_key(event):
    national_id = event["subject"]["child"].get("national_id")
    return f"child:nid:{national_id}" if national_id else None


def subject_kind(event):
    subject = event.get("subject") or {}
    if event["source"]["department"] == "referral":
        return "referral" if str(event.get("type", "")).startswith("referral.") else None
    if "centre" in subject:
        return "centre"
    if "child" in subject:
        return "child"
    return None


def new_state(kind):
    return {"kind": kind, "events": {}}


def compact(event):
    """The part of an event the facts need, with its Bangkok date."""
    payload = event.get("payload") or {}
    kind = event["type"]
    fields = REFERRAL_FIELDS if event["source"]["department"] == "referral" else KEPT_FIELDS.get(kind, ())
    return {
        "type": kind,
        "department": event["source"]["department"],
        "facility": event["source"]["facility"].get("code"),
        "district": event["source"]["facility"].get("district_code"),
        "date": bangkok_date(event["occurred_at"]).isoformat(),
        "supersedes": event.get("supersedes"),
        "p": {key: payload[key] for key in fields if key in payload},
    }


def apply(state, event):
    """Add one event to the subject's state (idempotent by event_id) and refresh its demographics."""
    kept = state["events"][event["event_id"]] = compact(event)
    subject = event.get("subject") or {}
    child = subject.get("child")
    if child:
        kept["r"] = record_key(event)  # so an undone link (childlink_insights.links) takes its events back
        # the latest registration's demographics win; a birth date is the one fact every rule leans on
        for key in ("birth_date", "sex", "district_code"):
            if child.get(key):
                state[key] = child[key]
        state.setdefault("records", [])
        key = record_key(event)
        if key not in state["records"]:
            state["records"].append(key)
    centre = subject.get("centre")
    if centre:
        state["district_code"] = centre.get("district_code") or state.get("district_code")
        state["centre_id"] = centre.get("centre_id")
    if event["source"]["department"] == "referral":
        state["referral_id"] = (event.get("payload") or {}).get("referral_id")
    return state


def merge(into, other):
    """Fold one subject's state into another's (a record whose national ID arrived late)."""
    into["events"].update(other["events"])
    for key in ("birth_date", "sex", "district_code"):
        into.setdefault(key, other.get(key))
    into["records"] = sorted(set(into.get("records", [])) | set(other.get("records", [])))
    if other.get("links"):
        into["links"] = {**other["links"], **into.get("links", {})}
    return into


def effective_events(state):
    """The subject's events that stand, oldest first: retractions and the events they or a correction
    supersede are left out."""
    events = state["events"]
    superseded = {item["supersedes"] for item in events.values() if item.get("supersedes")}
    standing = [(event_id, item) for event_id, item in events.items()
                if event_id not in superseded and item["type"] != "event.retracted"]
    return [item for _, item in sorted(standing, key=lambda pair: (pair[1]["date"], pair[0]))]
