"""The referral timeline contract: every TimelineStore adapter keeps the same promises.

`TimelineContract` holds the promises; each adapter gets one subclass that only says how to open it.
"""

import json
import sqlite3

import pytest
from childlink_common.errors import EventConflict, StoreUnavailable
from childlink_common.testing.store_contract import StoreContract
from childlink_referral.store.mongo_store import MongoTimelineStore
from childlink_referral.store.sqlite_store import SqliteTimelineStore

PROFILE = {"national_id": "1103700012345", "given_name": "สมหญิง", "family_name": "ใจดี",
           "birth_date": "2021-03-04", "sex": "F", "district_code": "1001"}


def entry(event_id, child_id="child-a", occurred_at_utc="2024-05-01T02:30:00.000000Z", **extra):
    return {
        "event_id": event_id,
        "child_id": child_id,
        "department": "health",
        "type": "health.growth_measured",
        "version": 1,
        "occurred_at": "2024-05-01T09:30:00+07:00",
        "occurred_at_utc": occurred_at_utc,
        "recorded_at": "2024-05-01T10:00:00+07:00",
        "stored_at": 1_714_534_200.25,
        "facility_code": "HC-0042",
        "district_code": "1001",
        "correlation_id": f"corr-{event_id}",
        "supersedes": None,
        "payload": {"weight_kg": 12.5, "height_cm": 88, "note": "เด็กแข็งแรงดี"},
        **extra,
    }


def stored(entry_, duplicates=0):
    return {**entry_, "duplicates": duplicates}


class TimelineContract(StoreContract):
    """Subclasses provide `open_store(request)`; every test below runs once per adapter."""

    # --- keys ----------------------------------------------------------------------------------

    def test_claim_key_gives_a_free_key_to_the_claimant(self, store):
        assert store.claim_key("nid:1103700012345", "child-a") == "child-a"

    def test_claim_key_first_wins_and_returns_the_holder(self, store):
        store.claim_key("nid:1103700012345", "child-a")
        assert store.claim_key("nid:1103700012345", "child-b") == "child-a"
        assert store.find_child("nid:1103700012345") == "child-a"

    def test_claim_key_again_by_the_holder_is_harmless(self, store):
        store.claim_key("local:health:HC-0042:77", "child-a")
        assert store.claim_key("local:health:HC-0042:77", "child-a") == "child-a"
        assert store.children_for_keys(["local:health:HC-0042:77"]) == {"local:health:HC-0042:77": "child-a"}

    def test_children_for_keys_reports_only_held_keys(self, store):
        store.claim_key("nid:1103700012345", "child-a")
        store.claim_key("local:health:HC-0042:77", "child-a")
        store.claim_key("local:education:SCH-9:12", "child-b")
        assert store.children_for_keys(
            ["nid:1103700012345", "local:education:SCH-9:12", "local:social:SW-1:5"]
        ) == {"nid:1103700012345": "child-a", "local:education:SCH-9:12": "child-b"}

    def test_children_for_no_keys_is_empty(self, store):
        store.claim_key("nid:1103700012345", "child-a")
        assert store.children_for_keys([]) == {}

    def test_find_child(self, store):
        store.claim_key("local:health:HC-0042:77", "child-a")
        assert store.find_child("local:health:HC-0042:77") == "child-a"
        assert store.find_child("local:health:HC-0042:78") is None

    # --- profiles ------------------------------------------------------------------------------

    def test_child_returns_profile_and_sorted_keys(self, store):
        store.claim_key("nid:1103700012345", "child-a")
        store.claim_key("local:health:HC-0042:77", "child-a")
        store.claim_key("local:education:SCH-9:12", "child-b")
        store.save_profile("child-a", PROFILE, "2024-05-01T02:30:00.000000Z")
        assert store.child("child-a") == {
            "child_id": "child-a", "profile": PROFILE,
            "keys": ["local:health:HC-0042:77", "nid:1103700012345"],
        }

    def test_child_without_profile_is_none(self, store):
        store.claim_key("nid:1103700012345", "child-a")
        assert store.child("child-a") is None
        assert store.child("child-unknown") is None
        assert store.profile("child-a") is None and store.profile("child-unknown") is None

    def test_profile_is_the_childs_profile(self, store):
        store.save_profile("child-a", PROFILE, "2024-05-01T02:30:00.000000Z")
        store.save_profile("child-b", {"sex": "M"}, "2024-05-01T02:30:00.000000Z")
        assert store.profile("child-a") == PROFILE == store.child("child-a")["profile"]
        store.replace_profile("child-a", {"given_name": "สมชาย"})
        assert store.profile("child-a") == {"given_name": "สมชาย"} and store.profile("child-b") == {"sex": "M"}

    def test_save_profile_keeps_the_newest(self, store):
        store.save_profile("child-a", {**PROFILE, "district_code": "1001"}, "2024-05-01T02:30:00.000000Z")
        store.save_profile("child-a", {**PROFILE, "district_code": "1002"}, "2024-06-01T02:30:00.000000Z")
        assert store.child("child-a")["profile"]["district_code"] == "1002"

    def test_save_profile_ignores_an_older_one(self, store):
        store.save_profile("child-a", {**PROFILE, "district_code": "1002"}, "2024-06-01T02:30:00.000000Z")
        store.save_profile("child-a", {**PROFILE, "district_code": "1001"}, "2024-05-01T02:30:00.000000Z")
        assert store.child("child-a")["profile"]["district_code"] == "1002"
        assert store.stats()["children"] == 1

    def test_replace_profile_puts_back_a_profile_and_keeps_its_as_of(self, store):
        store.save_profile("child-a", PROFILE, "2024-05-01T02:30:00.000000Z")
        store.replace_profile("child-a", {"given_name": "ดวงใจ"})
        assert store.child("child-a")["profile"] == {"given_name": "ดวงใจ"}
        store.save_profile("child-a", PROFILE, "2024-04-01T02:30:00.000000Z")  # older than the kept as_of
        assert store.child("child-a")["profile"] == {"given_name": "ดวงใจ"}
        store.replace_profile("child-unknown", PROFILE)
        assert store.child("child-unknown") is None

    def test_save_profile_replaces_the_whole_profile(self, store):
        store.save_profile("child-a", PROFILE, "2024-05-01T02:30:00.000000Z")
        store.save_profile("child-a", {"given_name": "สมศรี"}, "2024-06-01T02:30:00.000000Z")
        assert store.child("child-a")["profile"] == {"given_name": "สมศรี"}

    def test_profiles_of_children_are_kept_apart(self, store):
        store.save_profile("child-a", PROFILE, "2024-05-01T02:30:00.000000Z")
        store.save_profile("child-b", {"given_name": "ดวงใจ"}, "2024-04-01T02:30:00.000000Z")
        assert store.child("child-a")["profile"] == PROFILE
        assert store.child("child-b")["profile"] == {"given_name": "ดวงใจ"}

    # --- timeline ------------------------------------------------------------------------------

    def test_append_returns_true_then_false_for_the_same_event(self, store):
        assert store.append_to_timeline(entry("evt-1")) is True
        assert store.append_to_timeline(entry("evt-1")) is False
        assert store.timeline("child-a") == [stored(entry("evt-1"), duplicates=1)]

    def test_a_duplicate_does_not_replace_the_stored_entry(self, store):
        store.append_to_timeline(entry("evt-1", payload={"v": 1}))
        store.append_to_timeline(entry("evt-1", payload={"v": 2}))
        [only] = store.timeline("child-a")
        assert only["payload"] == {"v": 1}

    # --- event identity: department + event_id; the content hash tells a duplicate from a conflict --

    def test_two_departments_events_with_one_event_id_are_two_entries(self, store):
        health = entry("evt-1", content_hash="sha256:aa")
        social = entry("evt-1", child_id="child-b", department="social", type="child.enrolled",
                       content_hash="sha256:bb")
        assert store.append_to_timeline(health) is True
        assert store.append_to_timeline(social) is True
        assert store.timeline("child-a") == [stored(health)]
        assert store.timeline("child-b") == [stored(social)]
        assert store.stats()["events"] == 2

    def test_same_key_same_content_is_a_duplicate(self, store):
        store.append_to_timeline(entry("evt-1", content_hash="sha256:aa"))
        assert store.append_to_timeline(entry("evt-1", content_hash="sha256:aa")) is False
        assert store.timeline("child-a")[0]["duplicates"] == 1

    def test_same_key_other_content_is_a_conflict_and_changes_nothing(self, store):
        first = entry("evt-1", content_hash="sha256:aa", payload={"v": 1})
        store.append_to_timeline(first)
        with pytest.raises(EventConflict) as raised:
            store.append_to_timeline(entry("evt-1", content_hash="sha256:bb", payload={"v": 2}))
        assert raised.value.errors.keys() == {"event_id"} and raised.value.dead_letter_reason == "conflict"
        assert store.timeline("child-a") == [stored(first)]
        assert store.stats()["duplicates"] == 0

    def test_content_hash_of_a_stored_entry(self, store):
        store.append_to_timeline(entry("evt-1", content_hash="sha256:aa"))
        assert store.content_hash_of("health", "evt-1") == "sha256:aa"
        assert store.content_hash_of("social", "evt-1") is None
        assert store.content_hash_of("health", "evt-2") is None

    def test_duplicates_are_counted_per_entry_and_in_stats(self, store):
        store.append_to_timeline(entry("evt-1"))
        store.append_to_timeline(entry("evt-2", occurred_at_utc="2024-05-02T00:00:00.000000Z"))
        for _ in range(3):
            store.append_to_timeline(entry("evt-1"))
        store.append_to_timeline(entry("evt-2", occurred_at_utc="2024-05-02T00:00:00.000000Z"))
        assert [e["duplicates"] for e in store.timeline("child-a")] == [3, 1]
        assert store.stats()["events"] == 2
        assert store.stats()["duplicates"] == 4

    def test_timeline_orders_by_occurred_at_then_event_id_whatever_the_arrival(self, store):
        arrivals = [
            entry("evt-c", occurred_at_utc="2024-05-01T00:00:00.000000Z"),
            entry("evt-z", occurred_at_utc="2023-12-31T23:59:59.999999Z"),
            entry("evt-b", occurred_at_utc="2024-05-01T00:00:00.000000Z"),
            entry("evt-a", occurred_at_utc="2024-06-15T08:00:00.000000Z"),
            entry("evt-d", occurred_at_utc="2024-05-01T00:00:00.000000Z"),
        ]
        for e in arrivals:
            store.append_to_timeline(e)
        assert [e["event_id"] for e in store.timeline("child-a")] == [
            "evt-z", "evt-b", "evt-c", "evt-d", "evt-a"]

    def test_timeline_returns_entries_exactly(self, store):
        e = entry("evt-1", supersedes="evt-0", payload={
            "note": "ส่งต่อโรงพยาบาล — พัฒนาการล่าช้า", "score": 7.25, "count": 3, "flags": [True, None],
            "nested": {"a": [1, {"b": "ค"}]}, "empty": {}})
        store.append_to_timeline(e)
        [got] = store.timeline("child-a")
        assert got == stored(e)
        assert json.dumps(got, ensure_ascii=False) == json.dumps(stored(e), ensure_ascii=False)  # key order too

    def test_timeline_of_another_child_is_not_mixed_in(self, store):
        store.append_to_timeline(entry("evt-1", child_id="child-a"))
        store.append_to_timeline(entry("evt-2", child_id="child-b"))
        store.append_to_timeline(entry("evt-3", child_id="centre:C-1"))
        assert [e["event_id"] for e in store.timeline("child-a")] == ["evt-1"]
        assert [e["event_id"] for e in store.timeline("child-b")] == ["evt-2"]
        assert [e["event_id"] for e in store.timeline("centre:C-1")] == ["evt-3"]

    def test_timeline_of_unknown_child_is_empty(self, store):
        assert store.timeline("child-unknown") == []
        assert store.timeline_ids("child-unknown") == []

    def test_timeline_ids_are_the_timelines_event_ids_sorted(self, store):
        store.append_to_timeline(entry("evt-b", occurred_at_utc="2023-01-01T00:00:00.000000Z"))
        store.append_to_timeline(entry("evt-a", occurred_at_utc="2024-01-01T00:00:00.000000Z"))
        store.append_to_timeline(entry("evt-a", department="social"))  # another department's, same id
        store.append_to_timeline(entry("evt-c", child_id="child-b"))
        store.append_to_timeline(entry("evt-b"))  # a duplicate is not another entry
        assert store.timeline_ids("child-a") == ["evt-a", "evt-a", "evt-b"]
        assert store.timeline_ids("child-a") == sorted(e["event_id"] for e in store.timeline("child-a"))
        store.move_child_records("child-b", [], ["evt-b"], [], [])  # a merge moves it: the ids follow
        assert store.timeline_ids("child-b") == ["evt-b", "evt-c"]

    # --- batches -------------------------------------------------------------------------------

    def test_writes_in_a_batch_are_all_kept(self, store):
        with store.batch():
            assert store.claim_key("nid:1103700012345", "child-a") == "child-a"
            store.save_profile("child-a", PROFILE, "2024-05-01T02:30:00.000000Z")
            assert store.append_to_timeline(entry("evt-1")) is True
            assert store.append_to_timeline(entry("evt-2", occurred_at_utc="2024-05-02T00:00:00.000000Z"))
        assert store.find_child("nid:1103700012345") == "child-a"
        assert store.child("child-a")["profile"] == PROFILE
        assert [e["event_id"] for e in store.timeline("child-a")] == ["evt-1", "evt-2"]

    def test_a_batch_sees_its_own_writes(self, store):
        with store.batch():
            store.claim_key("nid:1103700012345", "child-a")
            assert store.children_for_keys(["nid:1103700012345"]) == {"nid:1103700012345": "child-a"}
            assert store.claim_key("nid:1103700012345", "child-b") == "child-a"
            assert store.append_to_timeline(entry("evt-1")) is True
            assert store.append_to_timeline(entry("evt-1")) is False
        assert store.timeline("child-a") == [stored(entry("evt-1"), duplicates=1)]
        assert store.stats() == {"children": 0, "events": 1, "duplicates": 1}

    def test_a_batch_gives_the_same_result_as_one_write_at_a_time(self, store):
        arrivals = [entry(f"evt-{n % 7}", occurred_at_utc=f"2024-05-0{1 + n % 7}T00:00:00.000000Z")
                    for n in range(12)]
        with store.batch():
            applied = [store.append_to_timeline(e) for e in arrivals]
        assert applied == [True] * 7 + [False] * 5
        assert [e["event_id"] for e in store.timeline("child-a")] == [f"evt-{n}" for n in range(7)]
        assert store.stats()["duplicates"] == 5

    def test_an_empty_batch_is_harmless(self, store):
        with store.batch():
            pass
        assert store.stats() == {"children": 0, "events": 0, "duplicates": 0}

    def test_a_store_is_usable_after_a_failed_batch(self, store):
        with pytest.raises(RuntimeError), store.batch():
            store.append_to_timeline(entry("evt-1"))
            raise RuntimeError("handler failed")
        assert store.append_to_timeline(entry("evt-2")) is True
        with store.batch():
            store.append_to_timeline(entry("evt-3"))
        assert {"evt-2", "evt-3"} <= {e["event_id"] for e in store.timeline("child-a")}

    # --- stats ---------------------------------------------------------------------------------

    def test_stats_of_an_empty_store(self, store):
        assert store.stats() == {"children": 0, "events": 0, "duplicates": 0}

    def test_stats_counts_children_events_and_duplicates(self, store):
        store.save_profile("child-a", PROFILE, "2024-05-01T02:30:00.000000Z")
        store.save_profile("child-b", {"given_name": "ดวงใจ"}, "2024-05-01T02:30:00.000000Z")
        store.save_profile("child-a", PROFILE, "2024-04-01T02:30:00.000000Z")  # older: ignored
        store.append_to_timeline(entry("evt-1", child_id="child-a"))
        store.append_to_timeline(entry("evt-2", child_id="child-b"))
        store.append_to_timeline(entry("evt-3", child_id="centre:C-1"))
        store.append_to_timeline(entry("evt-2", child_id="child-b"))
        assert store.stats() == {"children": 2, "events": 3, "duplicates": 1}


class TestSqliteTimelineStore(TimelineContract):
    def open_store(self, request):
        return SqliteTimelineStore(request.getfixturevalue("tmp_path") / "referral.sqlite3")

    def test_a_file_keyed_by_event_id_alone_is_rebuilt_keyed_by_department(self, tmp_path):
        path = tmp_path / "referral.sqlite3"
        old = sqlite3.connect(path)
        old.executescript("""CREATE TABLE timeline (event_id TEXT PRIMARY KEY, child_id TEXT NOT NULL,
            occurred_at_utc TEXT NOT NULL, entry TEXT NOT NULL, duplicates INTEGER NOT NULL DEFAULT 0);
            CREATE INDEX timeline_child ON timeline (child_id, occurred_at_utc, event_id);""")
        kept = entry("evt-1")
        old.execute("INSERT INTO timeline (event_id, child_id, occurred_at_utc, entry, duplicates) VALUES (?, ?, ?, ?, 2)",
                    ("evt-1", "child-a", kept["occurred_at_utc"], json.dumps(kept)))
        old.commit()
        old.close()
        store = SqliteTimelineStore(path)
        try:
            assert store.timeline("child-a") == [stored(kept, duplicates=2)]
            assert store.append_to_timeline(entry("evt-1")) is False
            assert store.append_to_timeline(entry("evt-1", department="social", child_id="child-b")) is True
        finally:
            store.close()
        reopened = SqliteTimelineStore(path)  # and opening it again changes nothing
        try:
            assert [e["event_id"] for e in reopened.timeline("child-b")] == ["evt-1"]
        finally:
            reopened.close()

    def test_a_locked_file_makes_writes_raise_store_unavailable(self, tmp_path):
        path = tmp_path / "referral.sqlite3"
        store = SqliteTimelineStore(path, busy_timeout_s=0.1)
        holder = sqlite3.connect(path, isolation_level=None)
        try:
            holder.execute("BEGIN EXCLUSIVE")
            with pytest.raises(StoreUnavailable):
                store.claim_key("nid:1103700012345", "child-a")
            with pytest.raises(StoreUnavailable):
                store.save_profile("child-a", PROFILE, "2024-05-01T02:30:00.000000Z")
            with pytest.raises(StoreUnavailable):
                store.append_to_timeline(entry("evt-1"))
            holder.execute("ROLLBACK")
            # the lock gone, the same store works again and nothing half-written stayed
            assert store.stats() == {"children": 0, "events": 0, "duplicates": 0}
            assert store.append_to_timeline(entry("evt-1")) is True
        finally:
            holder.close()
            store.close()


    def test_a_failed_batch_keeps_nothing(self, store):
        with pytest.raises(RuntimeError), store.batch():
            store.claim_key("nid:1103700012345", "child-a")
            store.save_profile("child-a", PROFILE, "2024-05-01T02:30:00.000000Z")
            store.append_to_timeline(entry("evt-1"))
            raise RuntimeError("handler failed")
        assert store.find_child("nid:1103700012345") is None
        assert store.timeline("child-a") == []
        assert store.stats() == {"children": 0, "events": 0, "duplicates": 0}

    def test_a_failed_write_inside_a_batch_undoes_only_itself(self, store):
        with store.batch():
            store.append_to_timeline(entry("evt-1"))
            with pytest.raises(RuntimeError), store.db.transaction() as conn:
                conn.execute("INSERT INTO timeline (department, event_id, child_id, occurred_at_utc, entry)"
                             " VALUES ('health', 'evt-x', 'child-a', '2024-01-01', '{}')")
                raise RuntimeError("this write fails")
            store.append_to_timeline(entry("evt-2", occurred_at_utc="2024-05-02T00:00:00.000000Z"))
        assert [e["event_id"] for e in store.timeline("child-a")] == ["evt-1", "evt-2"]

    def test_a_batch_is_one_transaction(self, store, tmp_path):
        """Another connection sees none of a batch until it commits, then all of it."""
        reader = sqlite3.connect(tmp_path / "referral.sqlite3")
        try:
            with store.batch():
                store.append_to_timeline(entry("evt-1"))
                store.append_to_timeline(entry("evt-2"))
                assert reader.execute("SELECT COUNT(*) FROM timeline").fetchone()[0] == 0
            assert reader.execute("SELECT COUNT(*) FROM timeline").fetchone()[0] == 2
        finally:
            reader.close()

    def test_a_locked_file_makes_a_batch_raise_store_unavailable(self, tmp_path):
        path = tmp_path / "referral.sqlite3"
        store = SqliteTimelineStore(path, busy_timeout_s=0.1)
        holder = sqlite3.connect(path, isolation_level=None)
        try:
            holder.execute("BEGIN EXCLUSIVE")
            with pytest.raises(StoreUnavailable), store.batch():
                store.append_to_timeline(entry("evt-1"))
            holder.execute("ROLLBACK")
            with store.batch():
                assert store.append_to_timeline(entry("evt-1")) is True
        finally:
            holder.close()
            store.close()


class TestMongoTimelineStore(TimelineContract):
    def open_store(self, request):
        return MongoTimelineStore(request.getfixturevalue("mongo_uri"),
                                  request.getfixturevalue("mongo_database"))


    def test_entries_keyed_by_event_id_alone_are_rekeyed_by_department_once(self, request):
        uri, database = request.getfixturevalue("mongo_uri"), request.getfixturevalue("mongo_database")
        first = MongoTimelineStore(uri, database)
        try:
            kept = entry("evt-1")
            first.entries.insert_one({"_id": "evt-1", **kept, "duplicates": 2})  # as stored before
            first.db["meta"].delete_many({})
        finally:
            first.close()
        store = MongoTimelineStore(uri, database)
        try:
            assert store.timeline("child-a") == [stored(kept, duplicates=2)]
            assert store.entries.find_one({"_id": "evt-1"}) is None
            assert store.append_to_timeline(entry("evt-1")) is False
            assert store.append_to_timeline(entry("evt-1", department="social", child_id="child-b")) is True
        finally:
            store.close()

    def test_a_failed_batch_keeps_what_it_wrote_and_a_rerun_counts_duplicates(self, store):
        """No multi-document transactions: each write stands alone, and running the batch again
        (as the consumer's per-message fallback does) applies nothing twice."""
        with pytest.raises(RuntimeError), store.batch():
            store.append_to_timeline(entry("evt-1"))
            raise RuntimeError("handler failed")
        with store.batch():
            assert store.append_to_timeline(entry("evt-1")) is False
            assert store.append_to_timeline(entry("evt-2")) is True
        assert store.stats() == {"children": 0, "events": 2, "duplicates": 1}

    def test_an_unreachable_server_raises_store_unavailable_on_open(self, closed_port_uri):
        with pytest.raises(StoreUnavailable):
            MongoTimelineStore(closed_port_uri, "childlink_test", server_selection_timeout_ms=200)

    def test_a_server_gone_away_makes_every_call_raise_store_unavailable(self, disposable_mongo):
        uri, stop = disposable_mongo
        store = MongoTimelineStore(uri, "childlink_test", server_selection_timeout_ms=200)
        try:
            store.append_to_timeline(entry("evt-1"))
            stop()
            calls = [
                lambda: store.children_for_keys(["nid:1103700012345"]),
                lambda: store.claim_key("nid:1103700012345", "child-a"),
                lambda: store.save_profile("child-a", PROFILE, "2024-05-01T02:30:00.000000Z"),
                lambda: store.append_to_timeline(entry("evt-2")),
                lambda: store.timeline("child-a"),
                lambda: store.child("child-a"),
                lambda: store.find_child("nid:1103700012345"),
                lambda: store.stats(),
            ]
            for call in calls:
                with pytest.raises(StoreUnavailable):
                    call()
        finally:
            store.close()
