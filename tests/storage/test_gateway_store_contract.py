"""The gateway store contract: users and the audit log, the same promises on SQLite and on MongoDB.

`GatewayStoreContract` holds the promises; each adapter gets one subclass that only says how to open it.
"""

import threading

import pytest
from childlink_common.errors import StoreUnavailable
from childlink_common.testing.store_contract import StoreContract
from childlink_gateway.store.mongo_store import MongoGatewayStore
from childlink_gateway.store.sqlite_store import SqliteGatewayStore


def user(username="hc.staff", user_id=None, **extra):
    return {"user_id": user_id or f"u-{username}", "username": username, "display_name": "สมศรี (HC)",
            "role": "health_centre_staff", "department": "health", "facility": "HC-1001-01",
            "district": "1001", "password_hash": "$argon2id$v=19$fake", "active": True,
            "created_at": "2025-01-01T00:00:00.000000Z", **extra}


def audit(audit_id, at, user_id="u-a", action="child.view", target_id="child-1", outcome="ok", **extra):
    return {"audit_id": audit_id, "at": at, "user_id": user_id, "username": user_id, "role": "hospital_staff",
            "action": action, "target_kind": "child", "target_id": target_id, "reason": "care",
            "outcome": outcome, "detail": {"note": "ไม่มีชื่อเด็ก"}, **extra}


def instant(n):
    return f"2025-03-01T00:00:{n:02d}.000000Z"


class GatewayStoreContract(StoreContract):
    """Subclasses provide `open_store(request)`; every test below runs once per adapter."""

    # --- users ------------------------------------------------------------------------------------

    def test_a_user_added_is_found_by_username_and_by_id(self, store):
        assert store.add_user(user())
        assert store.user_by_username("hc.staff") == user()
        assert store.user_by_id("u-hc.staff") == user()

    def test_unknown_users_are_none(self, store):
        assert store.user_by_username("nobody") is None
        assert store.user_by_id("u-nobody") is None

    def test_a_taken_username_is_refused_and_the_first_user_stands(self, store):
        assert store.add_user(user())
        assert not store.add_user(user(user_id="u-other", role="operator"))
        assert store.user_by_username("hc.staff")["user_id"] == "u-hc.staff"
        assert store.user_by_id("u-other") is None

    def test_a_taken_user_id_is_refused(self, store):
        assert store.add_user(user())
        assert not store.add_user(user(username="someone.else", user_id="u-hc.staff"))
        assert store.user_by_username("someone.else") is None

    def test_two_seeders_racing_create_one_user(self, store):
        results = []
        threads = [threading.Thread(target=lambda n=n: results.append(store.add_user(user(user_id=f"u-{n}"))))
                   for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(results) == [False, False, False, True]
        assert len(store.users()) == 1

    def test_set_password_hash_changes_only_the_hash(self, store):
        store.add_user(user())
        assert store.set_password_hash("u-hc.staff", "$argon2id$new")
        assert store.user_by_username("hc.staff") == user(password_hash="$argon2id$new")
        assert not store.set_password_hash("u-nobody", "$argon2id$new")

    def test_users_are_listed_by_username(self, store):
        for name in ("operator", "auditor", "hc.staff"):
            store.add_user(user(username=name))
        assert [u["username"] for u in store.users()] == ["auditor", "hc.staff", "operator"]

    # --- audit ------------------------------------------------------------------------------------

    def test_audit_entries_come_back_newest_first_and_whole(self, store):
        for n in (3, 1, 2):
            assert store.append_audit(audit(f"a{n}", instant(n)))
        total, entries = store.audit_entries({})
        assert total == 3
        assert [e["audit_id"] for e in entries] == ["a3", "a2", "a1"]
        assert entries[0] == audit("a3", instant(3))

    def test_an_audit_entry_is_kept_once(self, store):
        assert store.append_audit(audit("a1", instant(1)))
        assert not store.append_audit(audit("a1", instant(1), outcome="changed"))
        total, entries = store.audit_entries({})
        assert total == 1 and entries[0]["outcome"] == "ok"

    def test_audit_entries_page(self, store):
        for n in range(7):
            store.append_audit(audit(f"a{n}", instant(n)))
        total, first = store.audit_entries({}, page=1, page_size=3)
        _, second = store.audit_entries({}, page=2, page_size=3)
        _, last = store.audit_entries({}, page=3, page_size=3)
        _, beyond = store.audit_entries({}, page=4, page_size=3)
        assert total == 7
        assert [e["audit_id"] for e in first + second + last] == [f"a{n}" for n in range(6, -1, -1)]
        assert beyond == []

    def test_audit_entries_filter_by_user_action_target_outcome_and_time(self, store):
        store.append_audit(audit("a1", instant(1), user_id="u-a", action="child.view", target_id="c1"))
        store.append_audit(audit("a2", instant(2), user_id="u-b", action="referral.accept", target_id="r1"))
        store.append_audit(audit("a3", instant(3), user_id="u-a", action="referral.accept", target_id="r1",
                                 outcome="refused:conflict"))
        store.append_audit(audit("a4", instant(4), user_id="u-a", action="child.view", target_id="c2"))

        def ids(**filters):
            return [e["audit_id"] for e in store.audit_entries(filters)[1]]

        assert ids(user_id="u-a") == ["a4", "a3", "a1"]
        assert ids(action="referral.accept") == ["a3", "a2"]
        assert ids(target_id="r1", user_id="u-a") == ["a3"]
        assert ids(outcome="refused:conflict") == ["a3"]
        assert ids(since=instant(2), until=instant(4)) == ["a3", "a2"]
        assert ids(user_id="") == ["a4", "a3", "a2", "a1"]  # an empty filter is no filter
        assert store.audit_entries({"user_id": "u-z"}) == (0, [])

    # --- sessions -----------------------------------------------------------------------------------

    def test_a_session_added_is_found_touched_and_ended(self, store):
        store.add_session(session("s1", "u-a", 100.0))
        assert store.session("s1") == session("s1", "u-a", 100.0)
        store.touch_session("s1", 160.0)
        store.touch_session("s1", 150.0)  # never moved back
        assert store.session("s1")["last_seen_at"] == 160.0
        assert store.end_session("s1")
        assert store.session("s1") is None
        assert not store.end_session("s1")

    def test_ending_a_users_sessions_ends_them_all_and_no_one_elses(self, store):
        for key, uid in (("s1", "u-a"), ("s2", "u-a"), ("s3", "u-b")):
            store.add_session(session(key, uid, 100.0))
        assert store.end_sessions_of("u-a") == 2
        assert store.session("s1") is None and store.session("s2") is None
        assert store.session("s3")["user_id"] == "u-b"
        assert store.end_sessions_of("u-a") == 0

    def test_sessions_too_old_or_idle_are_forgotten(self, store):
        store.add_session(session("old", "u-a", 10.0, 500.0))
        store.add_session(session("idle", "u-a", 400.0, 410.0))
        store.add_session(session("live", "u-a", 400.0, 500.0))
        assert store.end_sessions_before(created_before=100.0, seen_before=450.0) == 2
        assert store.session("live") is not None and store.session("old") is None

    # --- sign-in failures ---------------------------------------------------------------------------

    def test_failures_count_up_per_key_and_clear(self, store):
        assert store.throttle_state("k1") is None
        assert [store.throttle_failure("k1", 100.0 + n, 600) for n in range(3)] == [1, 2, 3]
        assert store.throttle_failure("k2", 103.0, 600) == 1
        assert store.throttle_state("k1") == {"failures": 3, "first_at": 100.0, "last_at": 102.0}
        store.throttle_clear("k1")
        assert store.throttle_state("k1") is None
        assert store.throttle_state("k2")["failures"] == 1

    def test_failures_older_than_the_window_are_forgotten(self, store):
        store.throttle_failure("k1", 100.0, 600)
        store.throttle_failure("k1", 101.0, 600)
        assert store.throttle_failure("k1", 800.0, 600) == 1

    def test_failures_counted_at_once_by_many_replicas_are_all_counted(self, store):
        threads = [threading.Thread(target=lambda: [store.throttle_failure("k1", 100.0, 600) for _ in range(5)])
                   for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert store.throttle_state("k1")["failures"] == 20


def session(key, user_id, created_at, last_seen_at=None):
    return {"session_key": key, "user_id": user_id, "created_at": created_at,
            "last_seen_at": created_at if last_seen_at is None else last_seen_at}


class TestSqliteGatewayStore(GatewayStoreContract):
    def open_store(self, request):
        return SqliteGatewayStore(request.getfixturevalue("tmp_path") / "gateway.sqlite3")

    def test_users_and_audit_survive_a_reopen(self, tmp_path):
        store = SqliteGatewayStore(tmp_path / "gateway.sqlite3")
        store.add_user(user())
        store.append_audit(audit("a1", instant(1)))
        store.close()
        again = SqliteGatewayStore(tmp_path / "gateway.sqlite3")
        try:
            assert again.user_by_username("hc.staff") == user()
            assert again.audit_entries({})[0] == 1
        finally:
            again.close()


class TestMongoGatewayStore(GatewayStoreContract):
    def open_store(self, request):
        return MongoGatewayStore(request.getfixturevalue("mongo_uri"),
                                 database=request.getfixturevalue("mongo_database"))

    def test_an_unreachable_server_is_store_unavailable(self, closed_port_uri):
        with pytest.raises(StoreUnavailable):
            MongoGatewayStore(closed_port_uri, server_selection_timeout_ms=300)
