"""SQLite, the embedded store: one WAL-mode file per service, one connection per file per process.

sqlite3 calls do not yield to other green threads, so a transaction opened and committed
without other I/O in between cannot interleave with another; the lock keeps it that way.

Every SqliteDatabase a process opens on the same file shares one connection, one lock and one
transaction depth. Two stores on one file (the referral service keeps its timeline and its outbox in
`referral.sqlite3`) would otherwise have two connections, and a batch holding the file's write lock
on one would lock out the other's writes made inside that same batch; shared, those writes join the
batch's transaction (as savepoints) and commit with it.
"""

import contextlib
import os
import sqlite3
import threading
import time

from .errors import StoreUnavailable

BUSY_TIMEOUT_S = 5.0


class _Connection:
    """One file's connection in this process, and who holds it."""

    def __init__(self, path, busy_timeout_s):
        self.conn = sqlite3.connect(path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        self.lock = threading.RLock()
        self.depth = 0  # open transactions: 1 = a transaction, more = savepoints inside it
        self.users = 0


_OPEN = {}
_OPEN_LOCK = threading.Lock()


def _busy(exc):
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


class SqliteDatabase:
    def __init__(self, path, schema, busy_timeout_s=BUSY_TIMEOUT_S):
        """`busy_timeout_s` applies when this opens the file's connection (the first opener in the
        process); a later SqliteDatabase on the same file shares that connection."""
        self.path = str(path)
        self._key = (os.getpid(), os.path.realpath(self.path))
        with _OPEN_LOCK:
            shared = _OPEN.get(self._key)
            if shared is None:
                shared = _OPEN[self._key] = _Connection(self.path, busy_timeout_s)
            shared.users += 1
        self._shared = shared
        self._conn = shared.conn
        self._lock = shared.lock
        self._closed = False
        with self._lock, self._guard():
            self._prepare(schema, busy_timeout_s)

    def _prepare(self, schema, busy_timeout_s):
        """WAL mode and the schema. Processes opening a new file at once (replicas of one service, a
        restart while the old process exits) race for it, and SQLite answers a lock upgrade that could
        deadlock with "database is locked" at once, without waiting out the busy timeout: so the schema
        is written under BEGIN IMMEDIATE (a write lock asked for up front waits its turn), and the
        journal-mode switch, which no transaction may hold, is tried again until the busy timeout."""
        deadline = time.monotonic() + busy_timeout_s
        while True:
            try:
                self._conn.execute("PRAGMA journal_mode=WAL")
                # FULL: a committed (and so acknowledged) record survives a power cut, not only a crash.
                self._conn.execute("PRAGMA synchronous=FULL")
                self._conn.executescript(f"BEGIN IMMEDIATE;\n{schema}\nCOMMIT;")
                return
            except sqlite3.OperationalError as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                if not _busy(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.02)

    @property
    def _depth(self):
        return self._shared.depth

    @_depth.setter
    def _depth(self, value):
        self._shared.depth = value

    @contextlib.contextmanager
    def _guard(self):
        try:
            yield
        except sqlite3.OperationalError as exc:
            raise StoreUnavailable(f"sqlite: {exc}") from exc

    @contextlib.contextmanager
    def transaction(self, durable=True):
        """BEGIN IMMEDIATE ... COMMIT, rolled back whole on any error.

        Inside another transaction of this database (a store's `batch()`) it is a savepoint instead:
        its writes commit with the outer transaction, and an error undoes only its own writes before
        it propagates. So store methods compose: many of them inside one `batch()` cost one commit
        (one fsync) instead of one each.

        `durable=False`: committed without an fsync (synchronous=NORMAL for this commit only), for
        bookkeeping a power cut may lose without harm (the relay's leases and published marks: lost,
        an event is published again, and consumers take it once by its key). sqlite3 calls block the
        whole eventlet process, so each fsync saved is time every request of the process gets back;
        the next durable commit syncs the write-ahead log, these frames included, in order.
        """
        with self._lock, self._guard():
            if self._depth:
                yield from self._savepoint()
                return
            if not durable:
                self._conn.execute("PRAGMA synchronous=NORMAL")
                try:
                    yield from self._transaction()
                finally:
                    self._conn.execute("PRAGMA synchronous=FULL")
                return
            yield from self._transaction()

    def _transaction(self):
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

    def write(self, sql, params=()):
        """One statement, which SQLite makes atomic on its own: inside a transaction it runs as it is
        (a statement that fails undoes only itself, as a savepoint would, without a savepoint's two
        round trips: ~8 us against ~2 us a write); outside one, in a transaction of its own. The cursor."""
        with self._lock, self._guard():
            if self._depth:
                return self._conn.execute(sql, params)
        with self.transaction() as conn:
            return conn.execute(sql, params)

    def in_transaction(self):
        """Whether a transaction (a store's batch) of this process is open on the file."""
        return self._depth > 0

    def read(self, sql, params=()):
        with self._lock, self._guard():
            return self._conn.execute(sql, params).fetchall()

    def close(self):
        with self._lock, _OPEN_LOCK:
            if self._closed:
                return
            self._closed = True
            self._shared.users -= 1
            if self._shared.users == 0:
                if _OPEN.get(self._key) is self._shared:
                    del _OPEN[self._key]
                self._conn.close()
