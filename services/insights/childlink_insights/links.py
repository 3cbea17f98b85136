"""The referral service's identity decisions, followed: `child.linked` folds the merged child's subject into
the kept child's, `child.unlinked` splits it back out.

The events name the referral's child ids, not records (no keys leave the referral service). A referral
child's id is derived from the record that first named it (`childlink_referral.identity.new_child_id`), so
each record seen here is remembered under the id it would give (`cid:<child id>` -> record key); the kept
and merged children are the subjects holding those records. A link that arrives before either child's
first record waits (`pending:<child id>`) and is applied when the record arrives.

What a link moved is kept in the kept subject's state (`links[merge_id]`): the merged subject's key,
records, demographics and the links it held itself; every kept event names its record (`r`), so an undo
takes back the merged records' events, including those that arrived after the link. Undos come last-in,
first-out, as the referral service makes them.

A merge's progress is kept as `merge:<merge_id>` (pending, applied, void - already one subject, e.g. by
national ID - or undone) so a redelivered or late event changes nothing twice.
"""

import json

from childlink_referral.identity import new_child_id

LINK_TYPES = ("child.linked", "child.unlinked")
DEMOGRAPHICS = ("birth_date", "sex", "district_code")


def child_id_of(record):
    """The referral's id for a child first named by this record (`child:rec:<dept>:<facility>:<local id>`)."""
    return new_child_id("local:" + record.removeprefix("child:rec:"))


def read(store, key, default=None):
    text = store.alias_of(key)
    return json.loads(text) if text else default


def write(store, key, value):
    store.set_alias(key, json.dumps(value, separators=(",", ":")))


def fold_record(kept, merged, merge_id, merged_key):
    """The kept state with the merged one folded in, remembering what moved."""
    moved = {
        "key": merged_key, "records": sorted(merged.get("records", [])),
        "demographics": {k: merged.get(k) for k in DEMOGRAPHICS},
        "kept_demographics": {k: kept.get(k) for k in DEMOGRAPHICS},
        "links": sorted(merged.get("links", {})),
    }
    kept["events"].update(merged["events"])
    kept["records"] = sorted(set(kept.get("records", [])) | set(merged.get("records", [])))
    for k in DEMOGRAPHICS:
        kept.setdefault(k, merged.get(k))
    kept["links"] = {**kept.get("links", {}), **merged.get("links", {}), merge_id: moved}
    return kept


def split(kept, merge_id):
    """(kept state, merged state restored, merged key) undoing `merge_id`, or None if the state holds no
    such link."""
    moved = kept.get("links", {}).pop(merge_id, None)
    if moved is None:
        return None
    records = set(moved["records"])
    merged = {"kind": "child", "events": {}, "records": sorted(records)}
    for event_id in [e for e, item in kept["events"].items() if item.get("r") in records]:
        merged["events"][event_id] = kept["events"].pop(event_id)
    kept["records"] = sorted(set(kept.get("records", [])) - records)
    for k in DEMOGRAPHICS:
        for state, value in ((kept, moved["kept_demographics"].get(k)), (merged, moved["demographics"].get(k))):
            if value is None:
                state.pop(k, None)
            else:
                state[k] = value
    carried = {mid: kept["links"].pop(mid) for mid in moved["links"] if mid in kept["links"]}
    if carried:
        merged["links"] = carried
    return kept, merged, moved["key"]
