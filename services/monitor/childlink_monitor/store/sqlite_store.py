"""The monitor store on SQLite (the embedded default)."""

import json

from childlink_common.sqlite import BUSY_TIMEOUT_S, SqliteDatabase

from ..flows import MINUTE_FIELDS

SCHEMA = """
CREATE TABLE IF NOT EXISTS flow_minutes (
    department TEXT NOT NULL,
    type TEXT NOT NULL,
    minute INTEGER NOT NULL,
    seen INTEGER NOT NULL DEFAULT 0,
    stored INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    dead_letters INTEGER NOT NULL DEFAULT 0,
    lag_pipeline_sum REAL NOT NULL DEFAULT 0,
    lag_pipeline_max REAL NOT NULL DEFAULT 0,
    lag_pipeline_count INTEGER NOT NULL DEFAULT 0,
    lag_recorded_sum REAL NOT NULL DEFAULT 0,
    lag_recorded_max REAL NOT NULL DEFAULT 0,
    lag_recorded_count INTEGER NOT NULL DEFAULT 0,
    lag_occurred_sum REAL NOT NULL DEFAULT 0,
    lag_occurred_max REAL NOT NULL DEFAULT 0,
    lag_occurred_count INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (department, type, minute)
);
CREATE INDEX IF NOT EXISTS flow_minutes_minute ON flow_minutes (minute);
CREATE TABLE IF NOT EXISTS flows (
    department TEXT NOT NULL,
    type TEXT NOT NULL,
    last_seen REAL,
    last_event_id TEXT,
    last_stored REAL,
    last_lag_pipeline REAL,
    last_failure REAL,
    PRIMARY KEY (department, type)
);
CREATE TABLE IF NOT EXISTS outbox_minutes (
    service TEXT NOT NULL,
    minute INTEGER NOT NULL,
    max_backlog INTEGER NOT NULL,
    last_backlog INTEGER NOT NULL,
    PRIMARY KEY (service, minute)
);
CREATE TABLE IF NOT EXISTS dead_letters (
    dl_id TEXT PRIMARY KEY,
    received_at TEXT NOT NULL,
    department TEXT,
    type TEXT,
    reason TEXT,
    queue TEXT,
    status TEXT NOT NULL,
    event_id TEXT,
    version INTEGER NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letters_received ON dead_letters (received_at, dl_id);
CREATE INDEX IF NOT EXISTS dead_letters_status ON dead_letters (status, received_at);
CREATE INDEX IF NOT EXISTS dead_letters_event ON dead_letters (event_id);
CREATE TABLE IF NOT EXISTS replays (
    replay_id TEXT PRIMARY KEY,
    dl_id TEXT NOT NULL,
    at TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS replays_dl ON replays (dl_id, at);
CREATE INDEX IF NOT EXISTS replays_at ON replays (at);
"""

FLOW_FIELDS = ("last_seen", "last_event_id", "last_stored", "last_lag_pipeline", "last_failure")
FILTER_COLUMNS = ("department", "type", "reason", "queue", "status", "event_id")


def _dump(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _later(column):
    """Keep the later instant: the stored one unless the new one is larger."""
    return (f"{column} = CASE WHEN excluded.{column} IS NOT NULL AND ({column} IS NULL OR excluded.{column} > "
            f"{column}) THEN excluded.{column} ELSE {column} END")


class SqliteMonitorStore:
    def __init__(self, path, busy_timeout_s=BUSY_TIMEOUT_S):
        self.db = SqliteDatabase(path, SCHEMA, busy_timeout_s=busy_timeout_s)

    # --- flows -------------------------------------------------------------------------------------

    def add_flow_minutes(self, deltas):
        if not deltas:
            return
        updates = ", ".join(
            f"{f} = MAX({f}, excluded.{f})" if f.endswith("_max") else f"{f} = {f} + excluded.{f}"
            for f in MINUTE_FIELDS)
        sql = (f"INSERT INTO flow_minutes (department, type, minute, {', '.join(MINUTE_FIELDS)}) "
               f"VALUES ({', '.join('?' * (3 + len(MINUTE_FIELDS)))}) "
               f"ON CONFLICT (department, type, minute) DO UPDATE SET {updates}")
        with self.db.transaction() as conn:
            conn.executemany(sql, [(d["department"], d["type"], int(d["minute"]),
                                    *(d.get(f) or 0 for f in MINUTE_FIELDS)) for d in deltas])

    def touch_flows(self, touches):
        if not touches:
            return
        sql = (
            "INSERT INTO flows (department, type, last_seen, last_event_id, last_stored, last_lag_pipeline,"
            " last_failure) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (department, type) DO UPDATE SET "
            "last_event_id = CASE WHEN excluded.last_seen IS NOT NULL AND (last_seen IS NULL OR "
            "excluded.last_seen >= last_seen) THEN excluded.last_event_id ELSE last_event_id END, "
            "last_lag_pipeline = CASE WHEN excluded.last_stored IS NOT NULL AND (last_stored IS NULL OR "
            "excluded.last_stored >= last_stored) THEN excluded.last_lag_pipeline ELSE last_lag_pipeline END, "
            + ", ".join(_later(c) for c in ("last_seen", "last_stored", "last_failure")))
        with self.db.transaction() as conn:
            conn.executemany(sql, [(t["department"], t["type"], *(t.get(f) for f in FLOW_FIELDS)) for t in touches])

    def flow_minutes(self, since_minute, department=None, type=None):
        clauses, params = ["minute >= ?"], [int(since_minute)]
        for column, value in (("department", department), ("type", type)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        rows = self.db.read(f"SELECT * FROM flow_minutes WHERE {' AND '.join(clauses)} "
                            "ORDER BY department, type, minute", params)
        return [dict(row) for row in rows]

    def flows(self):
        return [dict(row) for row in self.db.read("SELECT * FROM flows ORDER BY department, type")]

    def prune(self, before_minute):
        with self.db.transaction() as conn:
            gone = conn.execute("DELETE FROM flow_minutes WHERE minute < ?", (int(before_minute),)).rowcount
            gone += conn.execute("DELETE FROM outbox_minutes WHERE minute < ?", (int(before_minute),)).rowcount
        return gone

    # --- outbox samples ------------------------------------------------------------------------------

    def record_backlog(self, service, minute, backlog):
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO outbox_minutes (service, minute, max_backlog, last_backlog) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (service, minute) DO UPDATE SET max_backlog = MAX(max_backlog, excluded.max_backlog),"
                " last_backlog = excluded.last_backlog", (service, int(minute), int(backlog), int(backlog)))

    def backlog_minutes(self, since_minute, service=None):
        clauses, params = ["minute >= ?"], [int(since_minute)]
        if service is not None:
            clauses.append("service = ?")
            params.append(service)
        rows = self.db.read(f"SELECT * FROM outbox_minutes WHERE {' AND '.join(clauses)} ORDER BY service, minute",
                            params)
        return [dict(row) for row in rows]

    # --- dead letters -------------------------------------------------------------------------------

    def add_dead_letter(self, record):
        record = {**record, "version": record.get("version", 1)}
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO dead_letters (dl_id, received_at, department, type, reason, queue, status,"
                " event_id, version, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (record["dl_id"], record["received_at"], record.get("department"), record.get("type"),
                 record.get("reason"), record.get("queue"), record["status"], record.get("event_id"),
                 record["version"], _dump(record)))
            return cursor.rowcount == 1

    def dead_letter(self, dl_id):
        rows = self.db.read("SELECT record FROM dead_letters WHERE dl_id = ?", (dl_id,))
        return json.loads(rows[0]["record"]) if rows else None

    def find_dead_letters(self, filters, offset=0, limit=50):
        clauses, params = [], []
        for column in FILTER_COLUMNS:
            if (filters or {}).get(column) is not None:
                clauses.append(f"{column} = ?")
                params.append(filters[column])
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        total = self.db.read(f"SELECT COUNT(*) AS n FROM dead_letters {where}", params)[0]["n"]
        rows = self.db.read(f"SELECT record FROM dead_letters {where} ORDER BY received_at DESC, dl_id DESC "
                            "LIMIT ? OFFSET ?", [*params, int(limit), int(offset)])
        return total, [json.loads(row["record"]) for row in rows]

    def transition(self, dl_id, version, changes, history):
        with self.db.transaction() as conn:
            row = conn.execute("SELECT record, version FROM dead_letters WHERE dl_id = ?", (dl_id,)).fetchone()
            if row is None or row["version"] != version:
                return None
            record = json.loads(row["record"])
            record.update(changes)
            record["history"] = [*(record.get("history") or []), history]
            record["version"] = version + 1
            conn.execute("UPDATE dead_letters SET status = ?, version = ?, record = ? WHERE dl_id = ?",
                         (record["status"], record["version"], _dump(record), dl_id))
            return record

    def dead_letter_counts(self):
        rows = self.db.read("SELECT department, type, reason, status, COUNT(*) AS count FROM dead_letters "
                            "GROUP BY department, type, reason, status ORDER BY department, type, reason, status")
        return [dict(row) for row in rows]

    # --- replays ------------------------------------------------------------------------------------

    def add_replay(self, replay):
        with self.db.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO replays (replay_id, dl_id, at, record) VALUES (?, ?, ?, ?)",
                         (replay["replay_id"], replay["dl_id"], replay["at"], _dump(replay)))

    def replays(self, dl_id=None, limit=50):
        if dl_id is None:
            rows = self.db.read("SELECT record FROM replays ORDER BY at DESC, replay_id DESC LIMIT ?", (int(limit),))
        else:
            rows = self.db.read("SELECT record FROM replays WHERE dl_id = ? ORDER BY at DESC, replay_id DESC LIMIT ?",
                                (dl_id, int(limit)))
        return [json.loads(row["record"]) for row in rows]

    def close(self):
        self.db.close()
