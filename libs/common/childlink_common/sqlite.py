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
        self._depth = 0  # open transactions on the connection: 1 = a transaction, more = savepoints
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
        """BEGIN IMMEDIATE ... COMMIT, rolled back whole on any error.

        Inside another transaction of this database (a store's `batch()`) it is a savepoint instead:
        its writes commit with the outer transaction, and an error undoes only its own writes before
        it propagates. So store methods compose: many of them inside one `batch()` cost one commit
        (one fsync) instead of one each.
        """
        with self._lock, self._guard():
            if self._depth:
                yield from self._savepoint()
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self._conn
            except BaseException:
                self._depth = 0
                self._conn.execute("ROLLBACK")
                raise
            self._depth = 0
            try:
                self._conn.execute("COMMIT")
            except sqlite3.OperationalError:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    def _savepoint(self):
        name = f"nested_{self._depth}"
        self._conn.execute(f"SAVEPOINT {name}")
        self._depth += 1
        try:
            yield self._conn
        except BaseException:
            self._depth -= 1
            self._conn.execute(f"ROLLBACK TO {name}")
            self._conn.execute(f"RELEASE {name}")
            raise
        self._depth -= 1
        self._conn.execute(f"RELEASE {name}")

    def read(self, sql, params=()):
        with self._lock, self._guard():
            return self._conn.execute(sql, params).fetchall()

    def close(self):
        with self._lock:
            self._conn.close()
