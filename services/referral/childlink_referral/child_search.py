"""Find a child by national ID, or by name and/or birth date, for staff who may then open the child page.

The query travels in an RPC body (the gateway posts a form), never in a URL. Names are compared in
their normalised form (matching.normalise: titles, Thai spelling marks, case), each word of the query
a prefix of a word of the record's name. Every department record of a child is searched (match
records), so a child is found by the name any department knows it by. Only children the viewer may
see (access.can_see_child) are answered; the rest are not even counted.
"""

import datetime as dt

from childlink_contracts import is_valid_national_id

from .access import can_see_child, check_viewer
from .identity import log_rows
from .lifecycle import Refusal
from .matching import normalise

MAX_RESULTS = 20
MAX_SCANNED_MATCHES = 200  # candidates checked for access before answering "narrow your search"


def _query(query):
    if not isinstance(query, dict):
        raise Refusal("invalid", "query must be an object with national_id, or name and/or birth_date", "query")
    national_id = str(query.get("national_id") or "").replace("-", "").replace(" ", "")
    name = str(query.get("name") or "").strip()[:100]
    birth_date = str(query.get("birth_date") or "").strip()
    if national_id:
        if not is_valid_national_id(national_id):
            raise Refusal("invalid", "national_id: 13 digits with a valid check digit", "national_id")
        return national_id, None, None
    if birth_date:
        try:
            birth_date = dt.date.fromisoformat(birth_date).isoformat()
        except ValueError:
            raise Refusal("invalid", "birth_date: a date, YYYY-MM-DD", "birth_date") from None
    words = [w for w in (normalise.name(part) for part in name.split() if any(c.isalpha() for c in part)) if w]
    if name and not words:
        raise Refusal("invalid", "name: at least one letter", "name")
    if not words and not birth_date:
        raise Refusal("invalid", "give a national_id, or a name and/or a birth_date", "name")
    return None, [w.key for w in words], birth_date or None


def _name_keys(subject):
    keys = []
    for part in (subject.get("given_name"), subject.get("family_name")):
        for word in str(part or "").split():
            found = normalise.name(word)
            if found:
                keys.append(found.key)
    return keys


def _matches(subject, words, birth_date):
    if birth_date and subject.get("birth_date") != birth_date:
        return False
    keys = _name_keys(subject)
    return all(any(key.startswith(word) for key in keys) for word in words)


def _current(store, child_id):
    seen = set()
    while child_id not in seen:
        seen.add(child_id)
        into = store.merged_into(child_id)
        if not into:
            return child_id
        child_id = into
    return child_id


def search_children(store, viewer, query):
    """{"ok": True, "items": [{child_id, name, birth_date, district_code}], "more": bool} or a refusal."""
    try:
        viewer = check_viewer(viewer)
        national_id, words, birth_date = _query(query)
    except Refusal as refusal:
        return refusal.answer()
    if national_id:
        found = store.find_child(f"nid:{national_id}")
        candidates = [found] if found else []
    else:
        candidates, seen = [], set()
        for row in log_rows(store):
            if row["child_id"] not in seen and _matches(row.get("subject") or {}, words, birth_date):
                seen.add(row["child_id"])
                candidates.append(row["child_id"])
    items, more, checked = [], False, set()
    for child_id in candidates:
        child_id = _current(store, child_id)
        if child_id in checked:
            continue
        checked.add(child_id)
        if len(checked) > MAX_SCANNED_MATCHES or len(items) >= MAX_RESULTS:
            more = True
            break
        child = store.child(child_id) or {}
        profile = child.get("profile") or {}
        if not can_see_child(viewer, profile, store.timeline(child_id), store.referrals_of_child(child_id)):
            continue
        items.append({"child_id": child_id,
                      "name": " ".join(p for p in (profile.get("given_name"), profile.get("family_name")) if p),
                      "birth_date": profile.get("birth_date"), "district_code": profile.get("district_code")})
    return {"ok": True, "items": items, "more": more}
