"""The insights store on SQLite (the embedded default): one transaction per batch of events."""

import contextlib
import json

from childlink_common.sqlite import SqliteDatabase

from .cells import decode_facts, encode_facts

SCHEMA = """
CREATE TABLE IF NOT EXISTS subjects (
    key TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    facts TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS aliases (
    record TEXT PRIMARY KEY,
    key TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cells (
    scope TEXT NOT NULL,
    scope_id TEXT NOT NULL,
    month TEXT NOT NULL,
    counter TEXT NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (scope, scope_id, month, counter)
);
CREATE INDEX IF NOT EXISTS cells_month ON cells (scope, month, counter);
-- a running count (epi_overdue) reads one counter over every month
CREATE INDEX IF NOT EXISTS cells_counter ON cells (scope, counter, month);
"""


class SqliteInsightsStore:
    def __init__(self, path):
        self.db = SqliteDatabase(path, SCHEMA)

    @contextlib.contextmanager
    def batch(self):
        with self.db.transaction():
            yield

    def get_subject(self, key):
        rows = self.db.read("SELECT state, facts FROM subjects WHERE key = ?", (key,))
        return (json.loads(rows[0]["state"]), decode_facts(rows[0]["facts"])) if rows else None

    def put_subject(self, key, state, facts):
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO subjects (key, state, facts) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE"
                         " SET state = excluded.state, facts = excluded.facts",
                         (key, json.dumps(state, separators=(",", ":")), encode_facts(facts)))

    def delete_subject(self, key):
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM subjects WHERE key = ?", (key,))

    def subjects(self):
        last = ""
        while True:  # paged, so a rebuild of millions never holds them all
            rows = self.db.read("SELECT key, state, facts FROM subjects WHERE key > ? ORDER BY key LIMIT 500",
                                (last,))
            if not rows:
                return
            for row in rows:
                yield row["key"], json.loads(row["state"]), decode_facts(row["facts"])
            last = rows[-1]["key"]

    def alias_of(self, record):
        rows = self.db.read("SELECT key FROM aliases WHERE record = ?", (record,))
        return rows[0]["key"] if rows else None

    def set_alias(self, record, key):
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO aliases (record, key) VALUES (?, ?) ON CONFLICT (record) DO UPDATE"
                         " SET key = excluded.key", (record, key))

    def add_cells(self, deltas):
        if not deltas:
            return
        with self.db.transaction() as conn:
            conn.executemany(
                "INSERT INTO cells (scope, scope_id, month, counter, value) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (scope, scope_id, month, counter) DO UPDATE SET value = value + excluded.value",
                [(*key, value) for key, value in deltas.items()])
            # only the cells just written can have reached 0; a scan of every cell would cost O(cells) an event
            conn.executemany("DELETE FROM cells WHERE scope = ? AND scope_id = ? AND month = ? AND counter = ?"
                             " AND value = 0", list(deltas))

    def cells(self, scope, scope_ids=None, months=None, prefix=""):
        sql = "SELECT scope, scope_id, month, counter, value FROM cells WHERE scope = ?"
        params = [scope]
        for column, values in (("scope_id", scope_ids), ("month", months)):
            if values is not None:
                sql += f" AND {column} IN ({','.join('?' * len(values))})"
                params.extend(values)
        if prefix:
            sql += " AND counter >= ? AND counter < ?"
            params.extend((prefix, prefix + "\uffff"))
        return [dict(row) for row in self.db.read(sql, params)]

    def clear_cells(self):
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM cells")

    def stats(self):
        return {}

    def close(self):
        self.db.close()
