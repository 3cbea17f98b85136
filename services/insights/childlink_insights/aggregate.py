"""Keeping the indicator cells up to date, one event at a time: find the event's subject, add the event to
its state, derive its facts again and add the difference to the cells (childlink_insights.facts)."""

from childlink_common.errors import PermanentFailure

from . import links
from .facts import facts_of
from .subjects import apply, merge, national_id_key, new_state, record_key, subject_kind


def _diff(before, after):
    delta = {key: value - before.get(key, 0) for key, value in after.items() if value != before.get(key, 0)}
    delta.update({key: -value for key, value in before.items() if key not in after})
    return delta


class Aggregator:
    def __init__(self, store, zscores):
        self.store = store
        self.zscores = zscores
        self._pending = {}  # cell deltas not yet written: one write per batch, many events share a cell

    def flush(self):
        """Write the cell deltas of the events taken since the last flush (inside the batch's transaction)."""
        pending, self._pending = {key: value for key, value in self._pending.items() if value}, {}
        self.store.add_cells(pending)

    def discard(self):
        """Forget the deltas not yet written: the batch they belong to was rolled back (and is redelivered)."""
        self._pending = {}

    def _add(self, delta):
        for key, value in delta.items():
            self._pending[key] = self._pending.get(key, 0) + value

    def take(self, event):
        """Apply one delivered event; False when it is not about a subject the indicators count. Its cell
        changes are written by the next `flush()`, inside the same batch."""
        if not isinstance(event, dict) or not isinstance(event.get("source"), dict):
            raise PermanentFailure("not an event", {"source": ["missing"]})
        if event["source"].get("department") == "referral" and event.get("type") in links.LINK_TYPES:
            return self._identity(event)
        kind = subject_kind(event)
        if kind is None:
            return False
        key, new_record = self._subject_key(kind, event)
        if key is None:
            return False
        state, facts = self.store.get_subject(key) or (new_state(kind), {})
        state = apply(state, event)
        self._save(key, state, facts)
        if new_record:
            self._record_seen(new_record)
        return True

    # --- the referral's links (childlink_insights.links) -------------------------------------------

    def _identity(self, event):
        payload = event.get("payload") or {}
        merge_id, kept_id, merged_id = payload.get("merge_id"), payload.get("kept_id"), payload.get("merged_id")
        if not (merge_id and kept_id and merged_id):
            raise PermanentFailure("not a link", {"payload.merge_id": ["merge_id, kept_id and merged_id needed"]})
        merge = links.read(self.store, f"merge:{merge_id}") or {"kept": kept_id, "merged": merged_id,
                                                                  "status": None}
        if event["type"] == "child.linked":
            if merge["status"] is None:
                merge["status"] = "pending"
                links.write(self.store, f"merge:{merge_id}", merge)
                self._try_link(merge_id, merge)
        elif merge["status"] != "undone":
            if merge["status"] == "applied":
                self._unlink(merge_id, merge)
            merge["status"] = "undone"  # an undo seen first also stops its link arriving late
            links.write(self.store, f"merge:{merge_id}", merge)
        return True

    def _record_seen(self, record):
        child_id = links.child_id_of(record)
        self.store.set_alias(f"cid:{child_id}", record)
        for merge_id in links.read(self.store, f"pending:{child_id}", []):
            merge = links.read(self.store, f"merge:{merge_id}")
            if merge and merge["status"] == "pending":
                self._try_link(merge_id, merge)

    def _holder(self, child_id):
        record = self.store.alias_of(f"cid:{child_id}")
        return self.store.alias_of(record) if record else None

    def _try_link(self, merge_id, merge):
        kept_key, merged_key = self._holder(merge["kept"]), self._holder(merge["merged"])
        if kept_key is None or merged_key is None:
            for child_id, key in ((merge["kept"], kept_key), (merge["merged"], merged_key)):
                waiting = links.read(self.store, f"pending:{child_id}", [])
                if key is None and merge_id not in waiting:
                    links.write(self.store, f"pending:{child_id}", [*waiting, merge_id])
            return
        if kept_key != merged_key:
            kept, kept_facts = self.store.get_subject(kept_key)
            merged, merged_facts = self.store.get_subject(merged_key)
            self._add(_diff(merged_facts, {}))
            self.store.delete_subject(merged_key)
            for record in merged.get("records", []):
                self.store.set_alias(record, kept_key)
            self._save(kept_key, links.fold_record(kept, merged, merge_id, merged_key), kept_facts)
        merge["status"] = "applied" if kept_key != merged_key else "void"
        links.write(self.store, f"merge:{merge_id}", merge)

    def _unlink(self, merge_id, merge):
        kept_key = self._holder(merge["kept"])
        held = self.store.get_subject(kept_key) if kept_key else None
        parts = links.split(held[0], merge_id) if held else None
        if parts is None:
            return
        kept, merged, merged_key = parts
        if not merged["records"]:
            return
        if merged_key == kept_key or self.store.get_subject(merged_key) is not None:
            merged_key = merged["records"][0]  # the old key was taken since (a national ID): the record's own
        self._save(kept_key, kept, held[1])
        for record in merged["records"]:
            self.store.set_alias(record, merged_key)
        self._save(merged_key, merged, {})

    def _subject_key(self, kind, event):
        """(the subject's key, the record key if this is the record's first event here)."""
        if kind == "centre":
            return f"centre:{event['subject']['centre']['centre_id']}", None
        if kind == "referral":
            referral_id = (event.get("payload") or {}).get("referral_id")
            return (f"referral:{referral_id}" if referral_id else None), None
        record = record_key(event)
        held = self.store.alias_of(record)
        by_id = national_id_key(event)
        if by_id is None or held == by_id:
            target = held or record
        elif held is None or held.startswith("child:rec:"):
            target = by_id
            if held is not None:  # the record's ID arrived late: its subject joins the ID's
                self._fold(held, by_id)
        else:
            target = held  # a record keeps its child; a second national ID on it does not move it
        if held != target:
            self.store.set_alias(record, target)
        return target, (record if held is None else None)

    def _fold(self, old_key, new_key):
        old = self.store.get_subject(old_key)
        if old is None:
            return
        old_state, old_facts = old
        state, facts = self.store.get_subject(new_key) or (new_state("child"), {})
        self._add(_diff(old_facts, {}))
        self.store.delete_subject(old_key)
        for record in old_state.get("records", []):
            self.store.set_alias(record, new_key)
        self._save(new_key, merge(state, old_state), facts)

    def _save(self, key, state, facts):
        after = facts_of(state, self.zscores)
        self._add(_diff(facts, after))
        self.store.put_subject(key, state, after)

    def rebuild(self):
        """Every cell again from every subject's stored events: the cells as they would be had every event
        arrived now (after a change to a definition). Returns the number of subjects."""
        self.store.clear_cells()
        count = 0
        for key, state, _ in self.store.subjects():
            for record in state.get("records", []):  # the referral's ids of the records, for its links
                self.store.set_alias(f"cid:{links.child_id_of(record)}", record)
            after = facts_of(state, self.zscores)
            self._add(after)
            self.store.put_subject(key, state, after)
            count += 1
            if count % 100 == 0:  # a flush is one journal document on MongoDB: keep it small
                self.flush()
        self.flush()
        return count
