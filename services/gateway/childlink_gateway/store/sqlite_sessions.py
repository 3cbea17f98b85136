"""Sessions and sign-in throttle counts on SQLite: a mixin of SqliteGatewayStore (it has `self.db`)."""

SESSION_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    session_key TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    created_at REAL NOT NULL,
    last_seen_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id);
CREATE TABLE IF NOT EXISTS signin_failures (
    throttle_key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    first_at REAL NOT NULL,
    last_at REAL NOT NULL
);
"""


class SqliteSessions:
    def add_session(self, record):
        with self.db.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO sessions (session_key, user_id, created_at, last_seen_at)"
                         " VALUES (?, ?, ?, ?)",
                         (record["session_key"], record["user_id"], record["created_at"], record["last_seen_at"]))

    def session(self, session_key):
        rows = self.db.read("SELECT session_key, user_id, created_at, last_seen_at FROM sessions"
                            " WHERE session_key = ?", (session_key,))
        return dict(rows[0]) if rows else None

    def touch_session(self, session_key, at):
        with self.db.transaction() as conn:
            conn.execute("UPDATE sessions SET last_seen_at = MAX(last_seen_at, ?) WHERE session_key = ?",
                         (at, session_key))

    def end_session(self, session_key):
        with self.db.transaction() as conn:
            return conn.execute("DELETE FROM sessions WHERE session_key = ?", (session_key,)).rowcount == 1

    def end_sessions_of(self, user_id):
        with self.db.transaction() as conn:
            return conn.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,)).rowcount

    def end_sessions_before(self, created_before, seen_before):
        with self.db.transaction() as conn:
            return conn.execute("DELETE FROM sessions WHERE created_at < ? OR last_seen_at < ?",
                                (created_before, seen_before)).rowcount

    def throttle_state(self, throttle_key):
        rows = self.db.read("SELECT failures, first_at, last_at FROM signin_failures WHERE throttle_key = ?",
                            (throttle_key,))
        return dict(rows[0]) if rows else None

    def throttle_failure(self, throttle_key, now, window_s):
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM signin_failures WHERE last_at < ?", (now - window_s,))
            conn.execute("INSERT INTO signin_failures (throttle_key, failures, first_at, last_at) VALUES (?, 1, ?, ?)"
                         " ON CONFLICT (throttle_key) DO UPDATE SET failures = failures + 1, last_at = excluded.last_at",
                         (throttle_key, now, now))
            return conn.execute("SELECT failures FROM signin_failures WHERE throttle_key = ?",
                                (throttle_key,)).fetchone()["failures"]

    def throttle_clear(self, throttle_key):
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM signin_failures WHERE throttle_key = ?", (throttle_key,))
