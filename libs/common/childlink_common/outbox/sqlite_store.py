"""The outbox on SQLite."""

import json

from childlink_contracts import content_hash

from ..sqlite import BUSY_TIMEOUT_S, SqliteDatabase
from .port import OutboxRecord

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    body TEXT NOT NULL,
    accepted_at REAL NOT NULL,
    published_at REAL,
    lease_owner TEXT,
    lease_until REAL,
    content_hash TEXT
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (seq) WHERE published_at IS NULL;
"""


class _Conflict(Exception):
    """Raised inside `add`'s transaction so that a batch with a conflict stores nothing."""


def stored_hash(row):
    # rows stored before content hashes were kept: the body is the normalised event, so hash it now
    return row["content_hash"] or content_hash(json.loads(row["body"]))


class SqliteOutbox:
    def __init__(self, path, busy_timeout_s=BUSY_TIMEOUT_S):
        self.db = SqliteDatabase(path, SCHEMA, busy_timeout_s=busy_timeout_s)
        columns = {row["name"] for row in self.db.read("PRAGMA table_info(outbox)")}
        if "content_hash" not in columns:  # a file made before content hashes were kept
            with self.db.transaction() as conn:
                conn.execute("ALTER TABLE outbox ADD COLUMN content_hash TEXT")

    def batch(self):
        """One transaction: the adds inside it are savepoints and commit together (group_commit)."""
        return self.db.transaction()

    def add(self, events, accepted_at, refuse_conflicts=False):
        statuses = []
        try:
            with self.db.transaction() as conn:
                for event in events:
                    digest = content_hash(event)
                    cursor = conn.execute(
                        "INSERT OR IGNORE INTO outbox (event_id, type, correlation_id, body, accepted_at, content_hash)"
                        " VALUES (?, ?, ?, ?, ?, ?)",
                        (event["event_id"], event["type"], event["correlation_id"],
                         json.dumps(event, separators=(",", ":")), accepted_at, digest),
                    )
                    if cursor.rowcount == 1:
                        statuses.append("accepted")
                        continue
                    row = conn.execute("SELECT body, content_hash FROM outbox WHERE event_id = ?",
                                       (event["event_id"],)).fetchone()
                    statuses.append("duplicate" if stored_hash(row) == digest else "conflict")
                if refuse_conflicts and "conflict" in statuses:
                    raise _Conflict
        except _Conflict:
            pass  # rolled back: nothing of the batch is stored
        return statuses

    # The relay's leases and published marks commit without an fsync (SqliteDatabase.transaction): a power
    # cut that loses one gets an event published again, which consumers take once by its key.

    def claim(self, owner, limit, now, lease_seconds):
        if limit <= 0:
            return []  # SQLite reads a negative LIMIT as "no limit"
        with self.db.transaction(durable=False) as conn:
            rows = conn.execute(
                "SELECT seq FROM outbox WHERE published_at IS NULL"
                " AND (lease_until IS NULL OR lease_until < ? OR lease_owner = ?) ORDER BY seq LIMIT ?",
                (now, owner, limit),
            ).fetchall()
            seqs = [row["seq"] for row in rows]
            if not seqs:
                return []
            marks = ",".join("?" * len(seqs))
            conn.execute(
                f"UPDATE outbox SET lease_owner = ?, lease_until = ? WHERE seq IN ({marks})",
                (owner, now + lease_seconds, *seqs),
            )
            claimed = conn.execute(
                f"SELECT seq, event_id, type, correlation_id, body FROM outbox WHERE seq IN ({marks})"
                " ORDER BY seq", seqs,
            ).fetchall()
        return [OutboxRecord(r["seq"], r["event_id"], r["type"], r["correlation_id"], json.loads(r["body"]),
                             r["body"]) for r in claimed]

    def mark_published(self, event_ids, now):
        if not event_ids:
            return
        with self.db.transaction(durable=False) as conn:
            conn.executemany(
                "UPDATE outbox SET published_at = ?, lease_owner = NULL, lease_until = NULL WHERE event_id = ?",
                [(now, event_id) for event_id in event_ids],
            )

    def release(self, owner, event_ids):
        if not event_ids:
            return
        with self.db.transaction(durable=False) as conn:
            conn.executemany(
                "UPDATE outbox SET lease_owner = NULL, lease_until = NULL"
                " WHERE event_id = ? AND lease_owner = ? AND published_at IS NULL",
                [(event_id, owner) for event_id in event_ids],
            )

    def backlog(self):
        return self.db.read("SELECT COUNT(*) AS n FROM outbox WHERE published_at IS NULL")[0]["n"]

    def get(self, event_id):
        rows = self.db.read("SELECT body, published_at FROM outbox WHERE event_id = ?", (event_id,))
        if not rows:
            return None
        return {"event": json.loads(rows[0]["body"]), "published": rows[0]["published_at"] is not None}

    def close(self):
        self.db.close()
