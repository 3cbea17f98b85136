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
