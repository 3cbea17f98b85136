"""The outbox contract: every OutboxStore adapter keeps the same promises.

`OutboxContract` holds the promises; each adapter gets one subclass that only says how to open it.
"""

import json
import sqlite3

import pytest
from childlink_common.errors import StoreUnavailable
from childlink_common.outbox.mongo_store import MongoOutbox
from childlink_common.outbox.port import OutboxRecord
from childlink_common.outbox.sqlite_store import SqliteOutbox
from childlink_common.testing.store_contract import StoreContract

T0 = 1_700_000_000.0
LEASE = 30.0


def event(n, **extra):
    return {
        "event_id": f"evt-{n:04d}",
        "type": "health.growth_measured",
        "version": 1,
        "correlation_id": f"corr-{n:04d}",
        "occurred_at": "2024-05-01T09:30:00+07:00",
        "payload": {"weight_kg": 12.5, "height_cm": 88},
        **extra,
    }


def ids(records):
    return [record.event_id for record in records]


class OutboxContract(StoreContract):
    """Subclasses provide `open_store(request)`; every test below runs once per adapter."""

    # --- add -----------------------------------------------------------------------------------

    def test_add_accepts_new_events(self, store):
        assert store.add([event(1), event(2)], accepted_at=T0) == ["accepted", "accepted"]
        assert store.backlog() == 2

    def test_add_of_nothing_is_nothing(self, store):
        assert store.add([], accepted_at=T0) == []
        assert store.backlog() == 0

    def test_a_batch_that_cannot_be_stored_stores_nothing(self, store):
        broken = event(2)
        del broken["correlation_id"]
        with pytest.raises(KeyError):
            store.add([event(1), broken, event(3)], accepted_at=T0)
        assert store.backlog() == 0
        assert store.get("evt-0001") is None
        assert store.add([event(1)], accepted_at=T0) == ["accepted"]

    def test_readding_a_stored_event_is_a_duplicate(self, store):
        store.add([event(1)], accepted_at=T0)
        assert store.add([event(1), event(2)], accepted_at=T0 + 1) == ["duplicate", "accepted"]
        assert store.backlog() == 2

    def test_duplicate_inside_one_batch_is_stored_once(self, store):
        assert store.add([event(1), event(2), event(1)], accepted_at=T0) == ["accepted", "accepted", "duplicate"]
        assert store.backlog() == 2
        assert store.get("evt-0001")["event"] == event(1)

    # --- content: the same event_id with other content is a conflict (childlink_contracts.content) ----

    def test_same_id_other_content_is_a_conflict_and_nothing_is_replaced(self, store):
        store.add([event(1, payload={"v": 1})], accepted_at=T0)
        assert store.add([event(1, payload={"v": 2})], accepted_at=T0 + 1) == ["conflict"]
        assert store.get("evt-0001")["event"]["payload"] == {"v": 1}
        assert store.backlog() == 1

    def test_a_batch_with_a_conflict_stores_nothing_of_it_when_conflicts_are_refused(self, store):
        store.add([event(1, payload={"v": 1})], accepted_at=T0)
        statuses = store.add([event(2), event(1, payload={"v": 2}), event(3)], accepted_at=T0 + 1,
                             refuse_conflicts=True)
        assert statuses == ["accepted", "conflict", "accepted"]
        assert store.get("evt-0002") is None and store.get("evt-0003") is None
        assert store.backlog() == 1
        assert store.add([event(2), event(3)], accepted_at=T0 + 2) == ["accepted", "accepted"]

    def test_a_conflict_inside_one_batch_stores_nothing_when_conflicts_are_refused(self, store):
        assert store.add([event(1, payload={"v": 1}), event(2), event(1, payload={"v": 2})],
                         accepted_at=T0, refuse_conflicts=True) == ["accepted", "accepted", "conflict"]
        assert store.backlog() == 0
        assert store.get("evt-0001") is None

    def test_otherwise_the_first_stored_stands_and_the_rest_of_the_batch_is_kept(self, store):
        # the referral service re-adds a referral's earlier transitions, rebuilt from its current state
        store.add([event(1, payload={"v": 1})], accepted_at=T0)
        assert store.add([event(1, payload={"v": 2}), event(2)], accepted_at=T0 + 1) == ["conflict", "accepted"]
        assert store.get("evt-0001")["event"]["payload"] == {"v": 1}
        assert store.backlog() == 2

    def test_recorded_at_is_not_content(self, store):
        store.add([event(1, recorded_at="2024-05-01T10:00:00+07:00")], accepted_at=T0)
        assert store.add([event(1, recorded_at="2024-05-02T11:00:00+07:00")], accepted_at=T0 + 1) == ["duplicate"]

    def test_same_id_same_content_stays_a_duplicate_after_publishing(self, store):
        store.add([event(1)], accepted_at=T0)
        store.claim("relay-a", 10, now=T0, lease_seconds=LEASE)
        store.mark_published(["evt-0001"], now=T0 + 1)
        assert store.add([event(1)], accepted_at=T0 + 2) == ["duplicate"]
        assert store.add([event(1, payload={"v": "other"})], accepted_at=T0 + 3) == ["conflict"]

    def test_readding_a_published_event_is_a_duplicate_and_stays_published(self, store):
        store.add([event(1)], accepted_at=T0)
        store.claim("relay-a", 10, now=T0, lease_seconds=LEASE)
        store.mark_published(["evt-0001"], now=T0 + 1)
        assert store.add([event(1)], accepted_at=T0 + 2) == ["duplicate"]
        assert store.backlog() == 0
        assert store.get("evt-0001")["published"] is True
        assert store.claim("relay-a", 10, now=T0 + 3, lease_seconds=LEASE) == []

    # --- claim ---------------------------------------------------------------------------------

    def test_claim_returns_oldest_first(self, store):
        store.add([event(3), event(1)], accepted_at=T0)
        store.add([event(2)], accepted_at=T0 + 1)
        claimed = store.claim("relay-a", 10, now=T0 + 2, lease_seconds=LEASE)
        assert ids(claimed) == ["evt-0003", "evt-0001", "evt-0002"]
        assert [record.seq for record in claimed] == sorted(record.seq for record in claimed)

    def test_claim_returns_records_with_body(self, store):
        store.add([event(1)], accepted_at=T0)
        [record] = store.claim("relay-a", 10, now=T0, lease_seconds=LEASE)
        assert isinstance(record, OutboxRecord)
        assert (record.event_id, record.type, record.correlation_id) == (
            "evt-0001", "health.growth_measured", "corr-0001")
        assert record.body == event(1)
        # the text the relay publishes as it is, when the adapter keeps one: the same JSON as the body
        assert record.text is None or json.loads(record.text) == record.body

    def test_claim_respects_limit(self, store):
        store.add([event(n) for n in range(1, 6)], accepted_at=T0)
        assert ids(store.claim("relay-a", 2, now=T0, lease_seconds=LEASE)) == ["evt-0001", "evt-0002"]
        # the rest go to another relay; the leased two do not
        assert ids(store.claim("relay-b", 10, now=T0, lease_seconds=LEASE)) == [
            "evt-0003", "evt-0004", "evt-0005"]

    def test_claim_with_no_room_claims_nothing(self, store):
        store.add([event(1), event(2)], accepted_at=T0)
        assert store.claim("relay-a", 0, now=T0, lease_seconds=LEASE) == []
        assert ids(store.claim("relay-b", 10, now=T0, lease_seconds=LEASE)) == ["evt-0001", "evt-0002"]

    def test_claim_of_empty_outbox_is_empty(self, store):
        assert store.claim("relay-a", 10, now=T0, lease_seconds=LEASE) == []

    def test_a_leased_event_is_not_handed_to_another_owner(self, store):
        store.add([event(1), event(2)], accepted_at=T0)
        assert len(store.claim("relay-a", 10, now=T0, lease_seconds=LEASE)) == 2
        assert store.claim("relay-b", 10, now=T0 + LEASE - 1, lease_seconds=LEASE) == []

    def test_a_lease_holds_through_its_last_instant(self, store):
        store.add([event(1)], accepted_at=T0)
        store.claim("relay-a", 10, now=T0, lease_seconds=LEASE)
        assert store.claim("relay-b", 10, now=T0 + LEASE, lease_seconds=LEASE) == []

    def test_an_expired_lease_lets_another_owner_claim(self, store):
        store.add([event(1), event(2)], accepted_at=T0)
        store.claim("relay-a", 10, now=T0, lease_seconds=LEASE)
        assert ids(store.claim("relay-b", 10, now=T0 + LEASE + 1, lease_seconds=LEASE)) == [
            "evt-0001", "evt-0002"]
        # and now relay-b holds them: relay-a gets nothing until that lease expires
        assert store.claim("relay-a", 10, now=T0 + LEASE + 2, lease_seconds=LEASE) == []

    def test_the_same_owner_reclaims_its_leased_events(self, store):
        store.add([event(1), event(2)], accepted_at=T0)
        store.claim("relay-a", 10, now=T0, lease_seconds=LEASE)
        assert ids(store.claim("relay-a", 10, now=T0 + 1, lease_seconds=LEASE)) == ["evt-0001", "evt-0002"]

    def test_reclaiming_extends_the_lease(self, store):
        store.add([event(1)], accepted_at=T0)
        store.claim("relay-a", 10, now=T0, lease_seconds=LEASE)
        store.claim("relay-a", 10, now=T0 + LEASE - 1, lease_seconds=LEASE)
        assert store.claim("relay-b", 10, now=T0 + LEASE + 1, lease_seconds=LEASE) == []

    # --- mark_published / release ----------------------------------------------------------------

    def test_mark_published_removes_from_backlog(self, store):
        store.add([event(1), event(2), event(3)], accepted_at=T0)
        store.claim("relay-a", 10, now=T0, lease_seconds=LEASE)
        store.mark_published(["evt-0001", "evt-0003"], now=T0 + 1)
        assert store.backlog() == 1
        assert ids(store.claim("relay-a", 10, now=T0 + 2, lease_seconds=LEASE)) == ["evt-0002"]

    def test_a_published_event_is_never_claimed_again(self, store):
        store.add([event(1)], accepted_at=T0)
        store.claim("relay-a", 10, now=T0, lease_seconds=LEASE)
        store.mark_published(["evt-0001"], now=T0 + 1)
        assert store.claim("relay-b", 10, now=T0 + 10 * LEASE, lease_seconds=LEASE) == []

    def test_mark_published_of_nothing_is_harmless(self, store):
        store.add([event(1)], accepted_at=T0)
        store.mark_published([], now=T0)
        assert store.backlog() == 1

    def test_release_makes_events_claimable_at_once(self, store):
        store.add([event(1), event(2)], accepted_at=T0)
        store.claim("relay-a", 10, now=T0, lease_seconds=LEASE)
        store.release("relay-a", ["evt-0001", "evt-0002"])
        assert ids(store.claim("relay-b", 10, now=T0 + 1, lease_seconds=LEASE)) == ["evt-0001", "evt-0002"]
        assert store.backlog() == 2

    def test_release_by_another_owner_leaves_the_lease(self, store):
        store.add([event(1)], accepted_at=T0)
        store.claim("relay-a", 10, now=T0, lease_seconds=LEASE)
        store.release("relay-b", ["evt-0001"])
        assert store.claim("relay-b", 10, now=T0 + 1, lease_seconds=LEASE) == []

    def test_release_of_nothing_is_harmless(self, store):
        store.add([event(1)], accepted_at=T0)
        store.claim("relay-a", 10, now=T0, lease_seconds=LEASE)
        store.release("relay-a", [])
        assert store.claim("relay-b", 10, now=T0 + 1, lease_seconds=LEASE) == []

    # --- backlog / get -------------------------------------------------------------------------

    def test_backlog_counts_accepted_but_unconfirmed(self, store):
        assert store.backlog() == 0
        store.add([event(1), event(2), event(3)], accepted_at=T0)
        store.claim("relay-a", 10, now=T0, lease_seconds=LEASE)  # leased is still backlog
        assert store.backlog() == 3
        store.mark_published(["evt-0002"], now=T0 + 1)
        assert store.backlog() == 2

    def test_get_returns_event_and_published_flag(self, store):
        store.add([event(1)], accepted_at=T0)
        assert store.get("evt-0001") == {"event": event(1), "published": False}
        store.mark_published(["evt-0001"], now=T0 + 1)
        assert store.get("evt-0001") == {"event": event(1), "published": True}

    def test_get_of_unknown_event_is_none(self, store):
        assert store.get("evt-unknown") is None

    def test_bodies_round_trip_exactly(self, store):
        body = event(
            1,
            subject={"child": {"given_name": "ด.ญ. สมหญิง", "family_name": "ใจดี", "national_id": None}},
            payload={
                "note": "น้ำหนักต่ำกว่าเกณฑ์ — ส่งต่อ 🩺",
                "weight_kg": 9.75, "height_cm": 81, "zero": 0, "negative": -3.5, "tiny": 1e-9,
                "flags": [True, False, None], "empty": {}, "nothing": [],
                "nested": {"deep": [{"a": 1}, {"b": "ข"}]}, "หมายเหตุ": "คีย์ภาษาไทย",
                "text_with_quotes": 'say "hi"\n\ttab\\slash',
            },
        )
        store.add([body], accepted_at=T0)
        stored = store.get("evt-0001")["event"]
        [claimed] = store.claim("relay-a", 10, now=T0, lease_seconds=LEASE)
        for copy in (stored, claimed.body):
            assert copy == body
            assert json.dumps(copy, ensure_ascii=False) == json.dumps(body, ensure_ascii=False)  # key order too
            assert type(copy["payload"]["height_cm"]) is int
            assert type(copy["payload"]["weight_kg"]) is float

    def test_add_does_not_change_the_callers_events(self, store):
        body = event(1)
        before = json.dumps(body)
        store.add([body], accepted_at=T0)
        assert json.dumps(body) == before


class TestSqliteOutbox(OutboxContract):
    def open_store(self, request):
        return SqliteOutbox(request.getfixturevalue("tmp_path") / "outbox.sqlite3")

    def test_a_locked_file_makes_writes_raise_store_unavailable(self, tmp_path):
        path = tmp_path / "outbox.sqlite3"
        store = SqliteOutbox(path, busy_timeout_s=0.1)
        store.add([event(1)], accepted_at=T0)
        holder = sqlite3.connect(path, isolation_level=None)
        try:
            holder.execute("BEGIN EXCLUSIVE")
            with pytest.raises(StoreUnavailable):
                store.add([event(2)], accepted_at=T0)
            with pytest.raises(StoreUnavailable):
                store.claim("relay-a", 10, now=T0, lease_seconds=LEASE)
            with pytest.raises(StoreUnavailable):
                store.mark_published(["evt-0001"], now=T0)
            with pytest.raises(StoreUnavailable):
                store.release("relay-a", ["evt-0001"])
            holder.execute("ROLLBACK")
            # the lock gone, the same store works again and nothing half-written stayed
            assert store.add([event(2)], accepted_at=T0) == ["accepted"]
            assert store.backlog() == 2
        finally:
            holder.close()
            store.close()


    def test_a_file_from_before_content_hashes_tells_conflicts_from_duplicates(self, tmp_path):
        path = tmp_path / "outbox.sqlite3"
        old = sqlite3.connect(path)
        old.executescript("""CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT,
            event_id TEXT NOT NULL UNIQUE, type TEXT NOT NULL, correlation_id TEXT NOT NULL, body TEXT NOT NULL,
            accepted_at REAL NOT NULL, published_at REAL, lease_owner TEXT, lease_until REAL);""")
        old.execute("INSERT INTO outbox (event_id, type, correlation_id, body, accepted_at) VALUES (?, ?, ?, ?, ?)",
                    ("evt-0001", "t", "corr-0001", json.dumps(event(1)), T0))
        old.commit()
        old.close()
        store = SqliteOutbox(path)
        try:
            assert store.add([event(1)], accepted_at=T0) == ["duplicate"]
            assert store.add([event(1, payload={"v": 2})], accepted_at=T0) == ["conflict"]
        finally:
            store.close()


class TestMongoOutbox(OutboxContract):
    def open_store(self, request):
        return MongoOutbox(request.getfixturevalue("mongo_uri"), request.getfixturevalue("mongo_database"))

    def test_an_event_stored_by_a_racing_request_is_reported_duplicate(self, store):
        # Another request stores evt-0002 after this add looked for stored ids, before it inserts:
        # the insert's duplicate-key error must turn into "duplicate", the rest of the batch stands.
        next_seqs = store._next_seqs

        def racing_next_seqs(count):
            store.outbox.insert_one({
                "_id": "evt-0002", "seq": 0, "type": "t", "correlation_id": "c", "body": event(2),
                "accepted_at": T0, "published_at": None, "lease_owner": None, "lease_until": None})
            return next_seqs(count)

        store._next_seqs = racing_next_seqs
        assert store.add([event(1), event(2), event(3)], accepted_at=T0) == [
            "accepted", "duplicate", "accepted"]
        assert store.backlog() == 3

    def test_an_event_stored_by_a_racing_request_with_other_content_refuses_the_batch(self, store):
        next_seqs = store._next_seqs

        def racing_next_seqs(count):
            store.outbox.insert_one({
                "_id": "evt-0002", "seq": 0, "type": "t", "correlation_id": "c",
                "body": event(2, payload={"v": "raced"}),
                "accepted_at": T0, "published_at": None, "lease_owner": None, "lease_until": None})
            return next_seqs(count)

        store._next_seqs = racing_next_seqs
        assert store.add([event(1), event(2), event(3)], accepted_at=T0, refuse_conflicts=True) == [
            "accepted", "conflict", "accepted"]
        assert store.get("evt-0001") is None and store.get("evt-0003") is None
        assert store.get("evt-0002")["event"]["payload"] == {"v": "raced"}

    def test_an_unreachable_server_raises_store_unavailable_on_open(self, closed_port_uri):
        with pytest.raises(StoreUnavailable):
            MongoOutbox(closed_port_uri, "childlink_test", server_selection_timeout_ms=200)

    def test_a_server_gone_away_makes_every_call_raise_store_unavailable(self, disposable_mongo):
        uri, stop = disposable_mongo
        store = MongoOutbox(uri, "childlink_test", server_selection_timeout_ms=200)
        try:
            store.add([event(1)], accepted_at=T0)
            stop()
            calls = [
                lambda: store.add([event(2)], accepted_at=T0),
                lambda: store.claim("relay-a", 10, now=T0, lease_seconds=LEASE),
                lambda: store.mark_published(["evt-0001"], now=T0),
                lambda: store.release("relay-a", ["evt-0001"]),
                lambda: store.backlog(),
                lambda: store.get("evt-0001"),
            ]
            for call in calls:
                with pytest.raises(StoreUnavailable):
                    call()
        finally:
            store.close()
