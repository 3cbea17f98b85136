"""/health's counts (children, events, duplicates) in constant time, whatever the store holds.

`stats()` is served on every /health poll; counting the timeline there grew with it (a COUNT over
1,000,000 entries each poll). The stores keep the counts as they change instead: these tests check
they agree with a recount, that a store written before the counts existed is counted when opened,
and (SQLite) that stats() reads nothing but its counts.
"""

import sqlite3

import pymongo
import pytest
from childlink_referral.store.mongo_store import MongoTimelineStore
from childlink_referral.store.sqlite_store import SqliteTimelineStore

from .test_timeline_contract import PROFILE, entry


def recount(path):
    conn = sqlite3.connect(path)
    try:
        events, duplicates = conn.execute("SELECT COUNT(*), COALESCE(SUM(duplicates), 0) FROM timeline").fetchone()
        children = conn.execute("SELECT COUNT(*) FROM children").fetchone()[0]
    finally:
        conn.close()
    return {"children": children, "events": events, "duplicates": duplicates}


def some_work(store):
    with store.batch():
        for n in range(30):
            store.save_profile(f"child-{n % 7}", PROFILE, f"2024-05-{1 + n % 20:02d}T00:00:00.000000Z")
            store.append_to_timeline(entry(f"evt-{n % 23}", child_id=f"child-{n % 7}"))
    with pytest.raises(RuntimeError), store.batch():  # rolled back: counted neither
        store.save_profile("child-rolled-back", PROFILE, "2024-05-01T00:00:00.000000Z")
        store.append_to_timeline(entry("evt-rolled-back"))
        raise RuntimeError("handler failed")
    store.append_to_timeline(entry("evt-1", child_id="child-1"))


def test_sqlite_counts_agree_with_a_recount(tmp_path):
    path = tmp_path / "referral.sqlite3"
    store = SqliteTimelineStore(path)
    some_work(store)
    assert store.stats() == recount(path) == {"children": 7, "events": 23, "duplicates": 8}
    store.close()


def test_sqlite_stats_reads_only_its_counts(tmp_path):
    store = SqliteTimelineStore(tmp_path / "referral.sqlite3")
    some_work(store)
    tables = set()

    def note(action, table, *_rest):
        if action == sqlite3.SQLITE_READ:
            tables.add(table)
        return sqlite3.SQLITE_OK

    conn = store.db._conn
    conn.set_authorizer(note)
    try:
        store.stats()
    finally:
        conn.set_authorizer(None)
    assert tables == {"counts"}
    store.close()


def test_a_sqlite_store_from_before_the_counts_is_counted_when_opened(tmp_path):
    path = tmp_path / "referral.sqlite3"
    store = SqliteTimelineStore(path)
    conn = store.db._conn  # as an older version left the file: its rows, no counts
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        conn.execute(f"DROP TRIGGER {name}")
    conn.execute("DROP TABLE counts")
    some_work(store)
    store.close()
    reopened = SqliteTimelineStore(path)
    assert reopened.stats() == recount(path) == {"children": 7, "events": 23, "duplicates": 8}
    reopened.append_to_timeline(entry("evt-1", child_id="child-1"))
    assert reopened.stats()["duplicates"] == 9
    reopened.close()


def test_mongo_counts_agree_with_a_recount_and_an_older_store_is_counted(mongo_uri, mongo_database):
    store = MongoTimelineStore(mongo_uri, mongo_database)
    for n in range(12):
        store.save_profile(f"child-{n % 5}", PROFILE, "2024-05-01T00:00:00.000000Z")
        store.append_to_timeline(entry(f"evt-{n % 9}", child_id=f"child-{n % 5}"))
    assert store.stats() == {"children": 5, "events": 9, "duplicates": 3}
    client = pymongo.MongoClient(mongo_uri, serverSelectionTimeoutMS=5000)
    try:
        client[mongo_database]["counts"].drop()  # as an older version left the database
        assert MongoTimelineStore(mongo_uri, mongo_database).stats() == {"children": 5, "events": 9,
                                                                          "duplicates": 3}
    finally:
        client.close()
