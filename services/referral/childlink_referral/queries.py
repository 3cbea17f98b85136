"""Read side of the referral service: timelines, and referrals as each viewer may see them."""

import json
from collections import OrderedDict

import orjson
from werkzeug.wrappers import Response

from .access import can_see_referral, check_viewer, referral_scope
from .lifecycle import OPEN, STATUSES, Refusal
from .reasons import REASONS
from .referral_children import with_children
from .timeline import with_status
from .times import iso
from .workflow import present

MAX_PAGE_SIZE = 200
FILTERS = ("status", "reason", "facility", "district", "department", "overdue", "child_id")


def child_key(national_id=None, department=None, facility=None, local_id=None):
    if national_id:
        return f"nid:{national_id}"
    if department and facility and local_id:
        return f"local:{department}:{facility}:{local_id}"
    return None


STORE_ONLY = ("occurred_at_utc", "content_hash")  # kept for ordering and for telling duplicates from conflicts


def timeline_view(store, child_id):
    child = store.child(child_id)
    entries = store.timeline(child_id)
    if child is None and not entries:
        return None
    moved = {"merged_into": child["merged_into"]} if child and child.get("merged_into") else {}
    return {
        "child_id": child_id,
        **moved,
        "profile": (child or {}).get("profile", {}),
        "entries": [_without_store_only(entry) for entry in with_status(entries)],
    }


class TimelineCache:
    """Each child's timeline as the API answers it (encoded bytes), kept while the store's
    `timeline_version` of the child stays what it was when they were built: a read of a child that has
    not changed costs one indexed lookup instead of decoding, ordering and encoding its entries again
    (a 500-event child: ~0.1 ms instead of ~3 in-process). Every write to the child bumps its version in
    the store itself (SQLite triggers), so another process writing the file invalidates as well. Kept
    up to `max_bytes`, the least recently read dropped first."""

    def __init__(self, store, max_bytes=64 * 2**20):
        self.store = store
        self.max_bytes = max_bytes
        self._kept = OrderedDict()  # child_id -> (version, bytes)
        self._size = 0
        self.hits = self.misses = 0

    def encoded_view(self, child_id):
        """The child's timeline view as JSON bytes, or None when there is no such child."""
        version = self.store.timeline_version(child_id)  # before the reads: the view is at least this new
        kept = self._kept.get(child_id)
        if kept is not None and version is not None and kept[0] == version:
            self._kept.move_to_end(child_id)
            self.hits += 1
            return kept[1]
        self.misses += 1
        view = timeline_view(self.store, child_id)
        if view is None:
            return None
        body = encoded(view)
        self._keep(child_id, version, body)
        return body

    def _keep(self, child_id, version, body):
        old = self._kept.pop(child_id, None)
        if old is not None:
            self._size -= len(old[1])
        if version is None or len(body) > self.max_bytes:
            return
        self._kept[child_id] = (version, body)
        self._size += len(body)
        while self._size > self.max_bytes:
            _child, (_version, dropped) = self._kept.popitem(last=False)
            self._size -= len(dropped)


def _without_store_only(entry):
    for key in STORE_ONLY:
        entry.pop(key, None)  # with_status made the dict: no copy needed
    return entry


def encoded(body):
    """`body` as UTF-8 JSON, sorted keys (as childlink_common.web.json_response), with orjson: a
    500-event timeline (~280 KiB) encodes in under 1 ms instead of ~5."""
    try:
        return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONEncodeError, TypeError):  # what orjson refuses (a key not text, a huge int)
        return json.dumps(body, ensure_ascii=False, sort_keys=True).encode("utf-8")


def json_bytes_response(status, body):
    return Response(body if isinstance(body, bytes) else encoded(body), status=status,
                    mimetype="application/json")


def _one_or_list(filters, name, allowed=None):
    value = filters[name]
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str) and v for v in values):
        raise Refusal("invalid", f"{name} must be text or a list of text", f"filters.{name}")
    if allowed is not None:
        unknown = [v for v in values if v not in allowed]
        if unknown:
            raise Refusal("invalid", f"unknown {name} {unknown[0]!r}; one of {', '.join(allowed)}", f"filters.{name}")
    return values


# What blank means for a text filter: the characters docs/referral-api.openapi.yaml's pattern names, so
# that every validator agrees with this one (str.strip() alone also strips the ASCII separators
# 0x1C-0x1F, which JSON Schema's ECMA-262 \s does not).
BLANK = " \t\r\n"


def _text(filters, name):
    value = filters[name]
    if not isinstance(value, str) or not value.strip(BLANK):
        raise Refusal("invalid", f"{name} must be text", f"filters.{name}")
    return value.strip(BLANK)


def referral_filters(filters, now):
    """The caller's filters as store clauses: a list of groups, all of which must hold, each a list of
    alternatives (field -> value or list of values)."""
    if filters is None:
        return []
    if not isinstance(filters, dict):
        raise Refusal("invalid", "filters must be an object", "filters")
    unknown = sorted(set(filters) - set(FILTERS))
    if unknown:
        raise Refusal("invalid", f"unknown filter {unknown[0]!r}; filters: {', '.join(FILTERS)}",
                      f"filters.{unknown[0]}")
    groups = []
    present_filters = {k: v for k, v in filters.items() if v is not None}
    if "status" in present_filters:
        groups.append([{"status": _one_or_list(present_filters, "status", STATUSES)}])
    if "reason" in present_filters:
        groups.append([{"reason": _one_or_list(present_filters, "reason", tuple(REASONS))}])
    if "facility" in present_filters:
        facility = _text(present_filters, "facility")
        groups.append([{"from_facility": facility}, {"to_facility": facility}])
    if "district" in present_filters:
        district = _text(present_filters, "district")
        groups.append([{"district": district}, {"from_district": district}, {"to_district": district}])
    if "department" in present_filters:
        department = _text(present_filters, "department")
        groups.append([{"from_department": department}, {"to_department": department}])
    if "child_id" in present_filters:
        groups.append([{"child_id": _text(present_filters, "child_id")}])
    if "overdue" in present_filters:
        if not isinstance(present_filters["overdue"], bool):
            raise Refusal("invalid", "overdue must be true or false", "filters.overdue")
        if present_filters["overdue"]:
            groups.append([{"status": list(OPEN), "due_before": iso(now)}])
    return groups


def page_number(value, name, default, high):
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise Refusal("invalid", f"{name} must be a whole number from 1 to {high}", name)
    return value


def list_referrals(store, viewer, filters, page, page_size, now):
    try:
        viewer = check_viewer(viewer)
        groups = [referral_scope(viewer), *referral_filters(filters, now)]
        page = page_number(page, "page", 1, 1_000_000)
        page_size = page_number(page_size, "page_size", 50, MAX_PAGE_SIZE)
    except Refusal as refusal:
        return refusal.answer()
    total, items = store.find_referrals(groups, (page - 1) * page_size, page_size)
    return {"ok": True, "total": total, "page": page, "page_size": page_size,
            "items": with_children(store, viewer, [present(r, viewer, now) for r in items])}


def get_referral(store, viewer, referral_id, now):
    try:
        viewer = check_viewer(viewer)
        if not isinstance(referral_id, str) or not referral_id:
            raise Refusal("invalid", "referral_id is required", "referral_id")
        referral = store.get_referral(referral_id)
        if referral is None:
            raise Refusal("not_found", f"no referral {referral_id}")
        if not can_see_referral(viewer, referral):
            raise Refusal("forbidden", "this referral is not to or from your place of work")
    except Refusal as refusal:
        return refusal.answer()
    return {"ok": True, "referral": with_children(store, viewer, [present(referral, viewer, now)])[0]}
