"""The referral timeline on SQLite."""

import contextlib
import json

from childlink_common.sqlite import BUSY_TIMEOUT_S, SqliteDatabase

SCHEMA = """
CREATE TABLE IF NOT EXISTS child_keys (
    key TEXT PRIMARY KEY,
    child_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS child_keys_child ON child_keys (child_id);
CREATE TABLE IF NOT EXISTS children (
    child_id TEXT PRIMARY KEY,
    profile TEXT NOT NULL,
    as_of TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS timeline (
    event_id TEXT PRIMARY KEY,
    child_id TEXT NOT NULL,
    occurred_at_utc TEXT NOT NULL,
    entry TEXT NOT NULL,
    duplicates INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS timeline_child ON timeline (child_id, occurred_at_utc, event_id);
"""


class SqliteTimelineStore:
    def __init__(self, path, busy_timeout_s=BUSY_TIMEOUT_S):
        self.db = SqliteDatabase(path, SCHEMA, busy_timeout_s=busy_timeout_s)

    def children_for_keys(self, keys):
        if not keys:
            return {}
        marks = ",".join("?" * len(keys))
        rows = self.db.read(f"SELECT key, child_id FROM child_keys WHERE key IN ({marks})", keys)
        return {row["key"]: row["child_id"] for row in rows}

    def claim_key(self, key, child_id):
        with self.db.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO child_keys (key, child_id) VALUES (?, ?)", (key, child_id))
            return conn.execute("SELECT child_id FROM child_keys WHERE key = ?", (key,)).fetchone()[0]

    def save_profile(self, child_id, profile, as_of):
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO children (child_id, profile, as_of) VALUES (?, ?, ?)"
                " ON CONFLICT (child_id) DO UPDATE SET profile = excluded.profile, as_of = excluded.as_of"
                " WHERE excluded.as_of >= children.as_of",
                (child_id, json.dumps(profile, ensure_ascii=False), as_of),
            )

    def append_to_timeline(self, entry):
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO timeline (event_id, child_id, occurred_at_utc, entry) VALUES (?, ?, ?, ?)",
                (entry["event_id"], entry["child_id"], entry["occurred_at_utc"],
                 json.dumps(entry, ensure_ascii=False, separators=(",", ":"))),
            )
            if cursor.rowcount == 1:
                return True
            conn.execute("UPDATE timeline SET duplicates = duplicates + 1 WHERE event_id = ?", (entry["event_id"],))
            return False

    def timeline(self, child_id):
        rows = self.db.read(
            "SELECT entry, duplicates FROM timeline WHERE child_id = ? ORDER BY occurred_at_utc, event_id",
            (child_id,),
        )
        return [{**json.loads(row["entry"]), "duplicates": row["duplicates"]} for row in rows]

    def child(self, child_id):
        rows = self.db.read("SELECT profile, as_of FROM children WHERE child_id = ?", (child_id,))
        if not rows:
            return None
        keys = [row["key"] for row in self.db.read("SELECT key FROM child_keys WHERE child_id = ?", (child_id,))]
        return {"child_id": child_id, "profile": json.loads(rows[0]["profile"]), "keys": sorted(keys)}

    def find_child(self, key):
        rows = self.db.read("SELECT child_id FROM child_keys WHERE key = ?", (key,))
        return rows[0]["child_id"] if rows else None

    def stats(self):
        row = self.db.read(
            "SELECT COUNT(*) AS events, COALESCE(SUM(duplicates), 0) AS duplicates FROM timeline")[0]
        children = self.db.read("SELECT COUNT(*) AS n FROM children")[0]["n"]
        return {"children": children, "events": row["events"], "duplicates": row["duplicates"]}

    @contextlib.contextmanager
    def batch(self):
        with self.db.transaction():
            yield

    def close(self):
        self.db.close()
