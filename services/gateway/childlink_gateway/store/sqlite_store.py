"""The gateway store on SQLite (the embedded default)."""

import json

from childlink_common.sqlite import BUSY_TIMEOUT_S, SqliteDatabase

from .sqlite_sessions import SESSION_SCHEMA, SqliteSessions

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    user_id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    audit_id TEXT NOT NULL UNIQUE,
    at TEXT NOT NULL,
    user_id TEXT,
    action TEXT NOT NULL,
    target_id TEXT,
    outcome TEXT,
    entry TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at, seq);
CREATE INDEX IF NOT EXISTS audit_user ON audit (user_id, at);
CREATE INDEX IF NOT EXISTS audit_target ON audit (target_id, at);
"""

FILTER_COLUMNS = ("user_id", "action", "target_id", "outcome")


def _dump(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


class SqliteGatewayStore(SqliteSessions):
    def __init__(self, path, busy_timeout_s=BUSY_TIMEOUT_S):
        self.db = SqliteDatabase(path, SCHEMA + SESSION_SCHEMA, busy_timeout_s=busy_timeout_s)

    def add_user(self, user):
        with self.db.transaction() as conn:
            cursor = conn.execute("INSERT OR IGNORE INTO users (user_id, username, record) VALUES (?, ?, ?)",
                                  (user["user_id"], user["username"], _dump(user)))
            return cursor.rowcount == 1

    def _one_user(self, column, value):
        rows = self.db.read(f"SELECT record FROM users WHERE {column} = ?", (value,))
        return json.loads(rows[0]["record"]) if rows else None

    def user_by_username(self, username):
        return self._one_user("username", username)

    def user_by_id(self, user_id):
        return self._one_user("user_id", user_id)

    def set_password_hash(self, user_id, password_hash):
        with self.db.transaction() as conn:
            row = conn.execute("SELECT record FROM users WHERE user_id = ?", (user_id,)).fetchone()
            if row is None:
                return False
            record = {**json.loads(row["record"]), "password_hash": password_hash}
            conn.execute("UPDATE users SET record = ? WHERE user_id = ?", (_dump(record), user_id))
            return True

    def users(self):
        return [json.loads(row["record"]) for row in self.db.read("SELECT record FROM users ORDER BY username")]

    def append_audit(self, entry):
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO audit (audit_id, at, user_id, action, target_id, outcome, entry)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (entry["audit_id"], entry["at"], entry.get("user_id"), entry["action"], entry.get("target_id"),
                 entry.get("outcome"), _dump(entry)))
            return cursor.rowcount == 1

    def audit_entries(self, filters, page=1, page_size=50):
        clauses, params = [], []
        for column in FILTER_COLUMNS:
            if filters.get(column):
                clauses.append(f"{column} = ?")
                params.append(filters[column])
        if filters.get("since"):
            clauses.append("at >= ?")
            params.append(filters["since"])
        if filters.get("until"):
            clauses.append("at < ?")
            params.append(filters["until"])
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        total = self.db.read(f"SELECT COUNT(*) AS n FROM audit {where}", params)[0]["n"]
        rows = self.db.read(f"SELECT entry FROM audit {where} ORDER BY at DESC, seq DESC LIMIT ? OFFSET ?",
                            [*params, page_size, (max(page, 1) - 1) * page_size])
        return total, [json.loads(row["entry"]) for row in rows]

    def close(self):
        self.db.close()
