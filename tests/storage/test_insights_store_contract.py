"""The insights store contract: subjects with their facts, record aliases and additive cells, the same
promises on SQLite and on MongoDB (mongoeco over the wire)."""

import pytest
from childlink_common.testing.store_contract import StoreContract
from childlink_insights.aggregate import Aggregator
from childlink_insights.store.mongo_store import MongoInsightsStore
from childlink_insights.store.sqlite_store import SqliteInsightsStore
from childlink_referral.growth import zscores
from childlink_referral.identity import new_child_id
from childlink_referral.linking import identity_event


def cells_of(store, scope):
    return sorted((r["scope_id"], r["month"], r["counter"], r["value"]) for r in store.cells(scope))


class InsightsStoreContract(StoreContract):
    def test_a_subject_is_kept_with_its_facts_and_replaced_whole(self, store):
        assert store.get_subject("child:rec:x") is None
        store.put_subject("child:rec:x", {"kind": "child", "events": {"e1": {"type": "t"}}},
                          {("district", "1001", "2024-10", "dspm.9.target"): 1})
        state, facts = store.get_subject("child:rec:x")
        assert state["events"]["e1"]["type"] == "t"
        assert facts == {("district", "1001", "2024-10", "dspm.9.target"): 1}
        store.put_subject("child:rec:x", {"kind": "child", "events": {}}, {})
        assert store.get_subject("child:rec:x") == ({"kind": "child", "events": {}}, {})
        store.delete_subject("child:rec:x")
        assert store.get_subject("child:rec:x") is None

    def test_subjects_are_listed_in_key_order_past_a_page(self, store):
        for n in range(1203):
            store.put_subject(f"s:{n:05d}", {"kind": "centre", "events": {}}, {})
        keys = [key for key, _, _ in store.subjects()]
        assert keys == [f"s:{n:05d}" for n in range(1203)]

    def test_aliases_say_which_subject_holds_a_record(self, store):
        assert store.alias_of("child:rec:health:HC:1") is None
        store.set_alias("child:rec:health:HC:1", "child:rec:health:HC:1")
        store.set_alias("child:rec:health:HC:1", "child:nid:1234567890121")
        assert store.alias_of("child:rec:health:HC:1") == "child:nid:1234567890121"

    def test_cells_add_deltas_and_drop_at_zero(self, store):
        a = ("district", "1001", "2024-10", "dspm.9.target")
        b = ("district", "1002", "2024-10", "dspm.9.target")
        c = ("district", "1001", "2024-11", "growth.measured")
        store.add_cells({a: 2, b: 1, c: 1})
        store.add_cells({a: -1, b: -1})
        assert cells_of(store, "district") == [("1001", "2024-10", "dspm.9.target", 1),
                                               ("1001", "2024-11", "growth.measured", 1)]
        assert [r["value"] for r in store.cells("district", ["1001"], ["2024-11"])] == [1]
        assert [r["counter"] for r in store.cells("district", None, None, prefix="dspm.")] == ["dspm.9.target"]
        assert store.cells("city") == []

    def test_clearing_cells_leaves_subjects(self, store):
        store.put_subject("k", {"kind": "centre", "events": {}}, {})
        store.add_cells({("city", "BKK", "*", "centres.registered"): 1})
        store.clear_cells()
        assert store.cells("city") == [] and store.get_subject("k") is not None

    def test_the_aggregator_gives_the_same_cells_on_every_adapter(self, store):
        event = screened_event()
        aggregator = Aggregator(store, zscores)
        aggregator.take(event)
        aggregator.take(event)
        aggregator.flush()
        assert ("1001", "2024-10", "dspm.9.on_track", 1) in cells_of(store, "district")
        assert ("HC01", "2024-10", "dspm.9.screened_in_time", 1) in cells_of(store, "facility")

    def test_a_link_and_its_undo_move_the_cells_on_every_adapter(self, store):
        aggregator = Aggregator(store, zscores)
        merge = {"merge_id": "m-1", "kept_id": new_child_id("local:health:HC01:A"),
                 "merged_id": new_child_id("local:health:HC01:B"), "how": "reviewed", "record_keys": []}
        step = {"at": "2025-01-05T03:00:00Z", "by": {"user_id": "r", "role": "registrar"}}
        for events in ([screened_event("A"), screened_event("B")],
                       [identity_event(merge, "linked", {**step, "event_id": "m-1-1", "version": 1})],
                       [identity_event(merge, "unlinked", {**step, "event_id": "m-1-2", "version": 2})]):
            with store.batch():
                for event in events:
                    aggregator.take(event)
                aggregator.flush()
            if events[0]["type"] == "child.linked":
                assert ("1001", "2024-10", "dspm.9.target", 1) in cells_of(store, "district")
        assert ("1001", "2024-10", "dspm.9.target", 2) in cells_of(store, "district")
        assert store.get_subject("child:rec:health:HC01:B") is not None


def screened_event(local_id="A"):
    return {
        "event_id": f"8c1f0f4e-0000-4000-8000-{ord(local_id[0]):012d}", "type": "child.screened",
        "version": 1, "occurred_at": "2024-10-20T03:00:00Z", "recorded_at": "2024-10-20T03:00:00Z",
        "source": {"department": "health", "system": "t", "facility": {"code": "HC01", "district_code": "1001"}},
        "subject": {"child": {"local_id": local_id, "birth_date": "2024-01-10", "sex": "male"}},
        "payload": {"age_band_months": 9, "rescreen": False, "domains": {
            d: "normal" for d in ("gross_motor", "fine_motor", "receptive_language", "expressive_language",
                                  "personal_social")}}}


class TestSqliteInsightsStore(InsightsStoreContract):
    def open_store(self, request):
        return SqliteInsightsStore(request.getfixturevalue("tmp_path") / "insights.sqlite3")


class TestMongoInsightsStore(InsightsStoreContract):
    def open_store(self, request):
        return MongoInsightsStore(request.getfixturevalue("mongo_uri"), database=request.getfixturevalue("mongo_database"))

    def test_a_crash_before_or_during_a_flush_is_finished_on_the_next_open_and_never_doubled(self, store,
                                                                                            request):
        """No transactions on MongoDB: each flush is one journal document, applied on the next open if the
        process died after writing it - the subject saved and its cells moved exactly once."""
        on_track = ("1001", "2024-10", "dspm.9.on_track", 1)

        def killed(*args, **kwargs):
            raise RuntimeError("killed")

        # killed after the journal was written, before any of it was applied
        store._apply = killed
        with pytest.raises(RuntimeError), store.batch():
            aggregator = Aggregator(store, zscores)
            aggregator.take(screened_event("A"))
            aggregator.flush()
        assert cells_of(store, "district") == [] and store.get_subject("child:rec:health:HC01:A") is None
        # killed after applying it all but the journal's deletion
        second = self.open_store(request)
        assert on_track in cells_of(second, "district") and second.get_subject("child:rec:health:HC01:A")
        second.journal_docs.delete_one = killed
        with pytest.raises(RuntimeError), second.batch():
            aggregator = Aggregator(second, zscores)
            aggregator.take(screened_event("B"))
            aggregator.flush()
        third = self.open_store(request)  # applies B's journal again: its cells must not count twice
        assert ("1001", "2024-10", "dspm.9.on_track", 2) in cells_of(third, "district")
        with third.batch():  # both events redelivered after the crashes: nothing changes
            aggregator = Aggregator(third, zscores)
            aggregator.take(screened_event("A"))
            aggregator.take(screened_event("B"))
            aggregator.flush()
        assert ("1001", "2024-10", "dspm.9.on_track", 2) in cells_of(third, "district")
        assert list(third.journal_docs.find()) == []
        second.close()
        third.close()
