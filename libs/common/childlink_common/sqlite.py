"""SQLite, the embedded store: one WAL-mode file per service, one connection per process.

sqlite3 calls do not yield to other green threads, so a transaction opened and committed
without other I/O in between cannot interleave with another; the lock keeps it that way.
"""

import contextlib
import sqlite3
import threading

from .errors import StoreUnavailable

BUSY_TIMEOUT_S = 5.0


class SqliteDatabase:
    def __init__(self, path, schema, busy_timeout_s=BUSY_TIMEOUT_S):
        self.path = str(path)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(self.path, timeout=busy_timeout_s, isolation_level=None,
                                     check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        with self._guard():
            self._conn.execute("PRAGMA journal_mode=WAL")
            # FULL: a committed (and so acknowledged) record survives a power cut, not only a crash.
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.executescript(schema)

    @contextlib.contextmanager
    def _guard(self):
        try:
            yield
        except sqlite3.OperationalError as exc:
            raise StoreUnavailable(f"sqlite: {exc}") from exc

    @contextlib.contextmanager
    def transaction(self):
        """BEGIN IMMEDIATE ... COMMIT, rolled back whole on any error."""
        with self._lock, self._guard():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def read(self, sql, params=()):
        with self._lock, self._guard():
            return self._conn.execute(sql, params).fetchall()

    def close(self):
        with self._lock:
            self._conn.close()
