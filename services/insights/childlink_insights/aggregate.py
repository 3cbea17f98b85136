"""Keeping the indicator cells up to date, one event at a time: find the event's subject, add the event to
its state, derive its facts again and add the difference to the cells (childlink_insights.facts)."""

from childlink_common.errors import PermanentFailure

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

    def _add(self, delta):
        for key, value in delta.items():
            self._pending[key] = self._pending.get(key, 0) + value

    def take(self, event):
        """Apply one delivered event; False when it is not about a subject the indicators count. Its cell
        changes are written by the next `flush()`, inside the same batch."""
        if not isinstance(event, dict) or not isinstance(event.get("source"), dict):
            raise PermanentFailure("not an event", {"source": ["missing"]})
        kind = subject_kind(event)
        if kind is None:
            return False
        key = self._subject_key(kind, event)
        if key is None:
            return False
        state, facts = self.store.get_subject(key) or (new_state(kind), {})
        state = apply(state, event)
        self._save(key, state, facts)
        return True

    def _subject_key(self, kind, event):
        if kind == "centre":
            return f"centre:{event['subject']['centre']['centre_id']}"
        if kind == "referral":
            referral_id = (event.get("payload") or {}).get("referral_id")
            return f"referral:{referral_id}" if referral_id else None
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
        return target

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
            after = facts_of(state, self.zscores)
            self._add(after)
            self.store.put_subject(key, state, after)
            count += 1
            if count % 1000 == 0:
                self.flush()
        self.flush()
        return count
