"""Read side of identity resolution: the review queue and merges as a registrar sees them."""

from .lifecycle import Refusal
from .linking import check_reviewer
from .queries import MAX_PAGE_SIZE, page_number

STATUSES = ("open", "linked", "kept_apart")
SHOWN_SUBJECT = ("given_name", "family_name", "birth_date", "sex", "district_code", "national_id", "guardian")


def _side(store, child_id):
    """One child of a pair: who it is now (merged or not), its records as each department sent them."""
    child = store.child(child_id) or {"child_id": child_id, "profile": {}, "keys": []}
    entries = store.timeline(child_id)
    return {
        "child_id": child_id, "merged_into": child.get("merged_into"), "profile": child.get("profile") or {},
        "records": [{"record_key": r["record_key"], "department": r["record_key"].split(":")[1],
                     "subject": {k: v for k, v in r["subject"].items() if k in SHOWN_SUBJECT}}
                    for r in store.match_records_of_child(child_id)],
        "events": len(entries), "departments": sorted({e["department"] for e in entries}),
    }


def list_reviews(store, viewer, status="open", page=1, page_size=50):
    try:
        check_reviewer(viewer)
        if status is not None and status not in STATUSES:
            raise Refusal("invalid", f"status must be one of {', '.join(STATUSES)}", "status")
        page = page_number(page, "page", 1, 1_000_000)
        page_size = page_number(page_size, "page_size", 50, MAX_PAGE_SIZE)
    except Refusal as refusal:
        return refusal.answer()
    total, items = store.find_identity_reviews(status, (page - 1) * page_size, page_size)
    return {"ok": True, "total": total, "page": page, "page_size": page_size,
            "items": [{k: review.get(k) for k in ("review_id", "version", "status", "child_id", "candidate_id",
                                                  "created_at", "merge_id")}
                      | {"score": (review.get("outcome") or {}).get("score"),
                         "probability": (review.get("outcome") or {}).get("probability")} for review in items]}


def get_review(store, viewer, review_id):
    try:
        check_reviewer(viewer)
        review = store.get_identity_review(review_id) if isinstance(review_id, str) else None
        if review is None:
            raise Refusal("not_found", f"no identity review {review_id}", "review_id")
    except Refusal as refusal:
        return refusal.answer()
    return {"ok": True, "review": review, "child": _side(store, review["child_id"]),
            "candidate": _side(store, review["candidate_id"])}


def merges_of_child(store, viewer, child_id):
    try:
        check_reviewer(viewer)
    except Refusal as refusal:
        return refusal.answer()
    return {"ok": True, "items": [{k: m.get(k) for k in ("merge_id", "version", "status", "kept_id", "merged_id",
                                                        "at", "how", "reason", "review_id")}
                                  | {"score": (m.get("outcome") or {}).get("score"),
                                     "reasons": list((m.get("outcome") or {}).get("reasons") or [])}
                                  for m in store.merges_of_child(child_id)]}
