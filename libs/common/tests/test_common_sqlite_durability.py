"""`transaction(durable=False)`: committed like any other, without the fsync, and the file's connection
left as durable as before for every other transaction."""

import sqlite3

import pytest
from childlink_common.sqlite import SqliteDatabase

SCHEMA = "CREATE TABLE IF NOT EXISTS t (n INTEGER);"
FULL, NORMAL = 2, 1


def synchronous(db):
    return db.read("PRAGMA synchronous")[0][0]


@pytest.fixture
def db(tmp_path):
    database = SqliteDatabase(tmp_path / "x.sqlite3", SCHEMA)
    yield database
    database.close()


def test_a_durable_transaction_syncs_fully(db):
    with db.transaction() as conn:
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == FULL
        conn.execute("INSERT INTO t VALUES (1)")
    assert synchronous(db) == FULL


def test_a_non_durable_commit_is_kept_and_full_sync_comes_back(db, tmp_path):
    with db.transaction(durable=False) as conn:
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == NORMAL
        conn.execute("INSERT INTO t VALUES (1)")
    assert synchronous(db) == FULL

    reader = sqlite3.connect(tmp_path / "x.sqlite3")
    assert reader.execute("SELECT n FROM t").fetchall() == [(1,)]
    reader.close()


def test_a_failed_non_durable_transaction_rolls_back_and_restores_full_sync(db):
    with pytest.raises(RuntimeError), db.transaction(durable=False) as conn:
        conn.execute("INSERT INTO t VALUES (1)")
        raise RuntimeError("boom")
    assert db.read("SELECT COUNT(*) FROM t")[0][0] == 0
    assert synchronous(db) == FULL


def test_inside_a_durable_batch_a_non_durable_write_joins_it(db):
    with db.transaction() as outer:
        with db.transaction(durable=False) as inner:
            inner.execute("INSERT INTO t VALUES (1)")
        assert outer.execute("PRAGMA synchronous").fetchone()[0] == FULL  # the batch commits with its fsync
    assert db.read("SELECT COUNT(*) FROM t")[0][0] == 1
