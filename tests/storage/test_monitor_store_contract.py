"""The monitor store contract: flow minutes, flows, outbox samples, dead letters and replays, the same
promises on SQLite and on MongoDB (mongoeco over the wire)."""

import pytest
from childlink_common.testing.store_contract import StoreContract
from childlink_monitor.flows import MINUTE_FIELDS
from childlink_monitor.store.mongo_store import MongoMonitorStore
from childlink_monitor.store.sqlite_store import SqliteMonitorStore


def minute(department="health", type_="child.screened", m=100, **counts):
    row = {"department": department, "type": type_, "minute": m, **{f: 0 for f in MINUTE_FIELDS}}
    row.update(counts)
    return row


def dead_letter(dl_id, received_at, status="open", department="health", reason="max_attempts", **extra):
    return {"dl_id": dl_id, "received_at": received_at, "status": status, "department": department,
            "type": "child.screened", "reason": reason, "queue": f"referral.{department}.events",
            "event_id": f"ev-{dl_id}", "body_b64": "e30=", "headers": {"x-childlink-reason": reason},
            "history": [], "replays": 0, **extra}


def at(n):
    return f"2025-03-01T00:00:{n:02d}.000000Z"


class MonitorStoreContract(StoreContract):
    def test_minute_deltas_add_up_and_keep_the_larger_max(self, store):
        store.add_flow_minutes([minute(seen=2, stored=1, lag_pipeline_sum=3.0, lag_pipeline_max=3.0,
                                       lag_pipeline_count=1)])
        store.add_flow_minutes([minute(seen=1, stored=2, failures=1, lag_pipeline_sum=1.5, lag_pipeline_max=1.0,
                                       lag_pipeline_count=2, lag_occurred_sum=86400.0, lag_occurred_max=86400.0,
                                       lag_occurred_count=1),
                                minute(m=101, seen=5)])
        rows = store.flow_minutes(0)
        assert [(r["minute"], r["seen"], r["stored"], r["failures"]) for r in rows] == [(100, 3, 3, 1), (101, 5, 0, 0)]
        assert rows[0]["lag_pipeline_sum"] == pytest.approx(4.5)
        assert rows[0]["lag_pipeline_max"] == pytest.approx(3.0)
        assert rows[0]["lag_pipeline_count"] == 3
        assert rows[0]["lag_occurred_max"] == pytest.approx(86400.0) and rows[0]["lag_occurred_count"] == 1
        assert rows[1]["lag_recorded_count"] == 0

    def test_minutes_are_read_by_window_department_and_type_and_pruned(self, store):
        store.add_flow_minutes([minute(m=10, seen=1), minute(m=20, seen=1), minute("social", "child.enrolled", 20, seen=4)])
        assert [r["minute"] for r in store.flow_minutes(15)] == [20, 20]
        assert [r["seen"] for r in store.flow_minutes(0, department="social")] == [4]
        assert [r["minute"] for r in store.flow_minutes(0, "health", "child.screened")] == [10, 20]
        store.record_backlog("health", 10, 3)
        assert store.prune(15) == 2
        assert [r["minute"] for r in store.flow_minutes(0)] == [20, 20]
        assert store.backlog_minutes(0) == []

    def test_flows_keep_the_latest_sighting_and_its_event(self, store):
        store.touch_flows([{"department": "health", "type": "child.screened", "last_seen": 50.0,
                            "last_event_id": "e50", "last_stored": None, "last_lag_pipeline": None,
                            "last_failure": None}])
        store.touch_flows([{"department": "health", "type": "child.screened", "last_seen": 40.0,
                            "last_event_id": "e40", "last_stored": 60.0, "last_lag_pipeline": 2.5,
                            "last_failure": 45.0}])
        store.touch_flows([{"department": "social", "type": "child.enrolled", "last_seen": 1.0,
                            "last_event_id": "s1", "last_stored": None, "last_lag_pipeline": None,
                            "last_failure": None}])
        flows = store.flows()
        assert [(f["department"], f["type"]) for f in flows] == [("health", "child.screened"),
                                                                 ("social", "child.enrolled")]
        assert flows[0]["last_seen"] == 50.0 and flows[0]["last_event_id"] == "e50"
        assert flows[0]["last_stored"] == 60.0 and flows[0]["last_lag_pipeline"] == 2.5
        assert flows[0]["last_failure"] == 45.0

    def test_backlog_minutes_keep_the_max_and_the_last(self, store):
        store.record_backlog("health", 7, 5)
        store.record_backlog("health", 7, 9)
        store.record_backlog("health", 7, 4)
        store.record_backlog("social", 8, 0)
        rows = store.backlog_minutes(0, "health")
        assert [(r["minute"], r["max_backlog"], r["last_backlog"]) for r in rows] == [(7, 9, 4)]
        assert len(store.backlog_minutes(0)) == 2

    def test_a_dead_letter_is_kept_once_and_found_by_filters_newest_first(self, store):
        assert store.add_dead_letter(dead_letter("a", at(1)))
        assert not store.add_dead_letter(dead_letter("a", at(9), reason="other"))
        assert store.add_dead_letter(dead_letter("b", at(2), department="social", reason="invalid"))
        assert store.add_dead_letter(dead_letter("c", at(3), status="discarded"))
        total, found = store.find_dead_letters({})
        assert total == 3 and [d["dl_id"] for d in found] == ["c", "b", "a"]
        assert store.dead_letter("a")["reason"] == "max_attempts"
        assert store.dead_letter("a")["version"] == 1
        total, found = store.find_dead_letters({"department": "health", "status": "open"})
        assert total == 1 and found[0]["dl_id"] == "a"
        assert store.find_dead_letters({"reason": "invalid"})[1][0]["dl_id"] == "b"
        assert store.find_dead_letters({"event_id": "ev-c"})[1][0]["dl_id"] == "c"
        total, page = store.find_dead_letters({}, offset=1, limit=1)
        assert total == 3 and [d["dl_id"] for d in page] == ["b"]
        assert store.dead_letter("nope") is None

    def test_a_transition_applies_only_at_the_version_read(self, store):
        store.add_dead_letter(dead_letter("a", at(1)))
        first = store.transition("a", 1, {"status": "replayed", "replays": 1}, {"action": "replay", "by": "u1"})
        assert first["status"] == "replayed" and first["version"] == 2 and first["replays"] == 1
        assert first["history"] == [{"action": "replay", "by": "u1"}]
        assert store.transition("a", 1, {"status": "discarded"}, {"action": "discard"}) is None
        assert store.dead_letter("a")["status"] == "replayed"
        assert store.find_dead_letters({"status": "replayed"})[0] == 1
        assert store.transition("missing", 1, {"status": "discarded"}, {}) is None

    def test_dead_letter_counts_group_by_department_type_reason_status(self, store):
        store.add_dead_letter(dead_letter("a", at(1)))
        store.add_dead_letter(dead_letter("b", at(2)))
        store.add_dead_letter(dead_letter("c", at(3), status="discarded"))
        counts = {(c["department"], c["reason"], c["status"]): c["count"] for c in store.dead_letter_counts()}
        assert counts == {("health", "max_attempts", "open"): 2, ("health", "max_attempts", "discarded"): 1}

    def test_replays_are_listed_newest_first_and_per_dead_letter(self, store):
        for n, dl_id in enumerate(("a", "b", "a")):
            store.add_replay({"replay_id": f"r{n}", "dl_id": dl_id, "at": at(n), "outcome": "confirmed"})
        store.add_replay({"replay_id": "r0", "dl_id": "a", "at": at(9), "outcome": "again"})
        assert [r["replay_id"] for r in store.replays()] == ["r2", "r1", "r0"]
        assert [r["replay_id"] for r in store.replays("a")] == ["r2", "r0"]
        assert store.replays("a")[1]["outcome"] == "confirmed"
        assert [r["replay_id"] for r in store.replays(limit=1)] == ["r2"]


class TestSqliteMonitorStore(MonitorStoreContract):
    def open_store(self, request):
        return SqliteMonitorStore(request.getfixturevalue("tmp_path") / "monitor.sqlite3")


class TestMongoMonitorStore(MonitorStoreContract):
    def open_store(self, request):
        return MongoMonitorStore(request.getfixturevalue("mongo_uri"),
                                 database=request.getfixturevalue("mongo_database"))
