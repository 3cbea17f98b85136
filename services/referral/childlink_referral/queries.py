"""Read side of the referral service: the timeline as staff and other services see it."""

from .timeline import with_status


def child_key(national_id=None, department=None, facility=None, local_id=None):
    if national_id:
        return f"nid:{national_id}"
    if department and facility and local_id:
        return f"local:{department}:{facility}:{local_id}"
    return None


def timeline_view(store, child_id):
    child = store.child(child_id)
    entries = store.timeline(child_id)
    if child is None and not entries:
        return None
    return {
        "child_id": child_id,
        "profile": (child or {}).get("profile", {}),
        "entries": [{k: v for k, v in entry.items() if k != "occurred_at_utc"} for entry in with_status(entries)],
    }
