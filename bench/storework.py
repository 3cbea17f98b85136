"""The referral store's work, without the services around it: what the floor consumer does per event,
the direct pre-loader for 10,000 / 300,000 children, and a read-only watcher of what is committed.
"""

import sqlite3
import threading
import time

from childlink_referral.identity import profile_of, remember, resolve
from childlink_referral.store.sqlite_store import SqliteTimelineStore
from childlink_referral.timeline import entry_from_event, utc_key


def store_write(store, event, clock=time.time):
    """The referral intake's store writes for one event (identity, profile, timeline), minus the
    contract check: exactly the calls `childlink_referral.intake.take_in` makes after validating."""
    subject = event["subject"]
    if "child" in subject:
        found = resolve(store, event)
        remember(store, event, found.child_id)
        store.save_profile(found.child_id, profile_of(event), utc_key(event["occurred_at"]))
        return store.append_to_timeline({**entry_from_event(event, found.child_id, clock()),
                                         "record_key": found.record_key})
    child_id = f"centre:{subject['centre']['centre_id']}"
    return store.append_to_timeline(entry_from_event(event, child_id, clock()))


def preload(path, templates, first, count, chunk=25_000, progress=None):
    """Write `count` synthetic children (first..first+count-1) and their first-load events straight
    into the referral SQLite file, in the store's own tables and encodings, in big transactions.

    Returns (children, events) written. It is the state the referral service would reach by taking
    the same events in (timeline, identity keys, profiles; not the referrals its rules would raise),
    without the per-event service path, which is measured separately."""
    store = SqliteTimelineStore(path)
    written_events = 0
    now = time.time()
    try:
        for start in range(first, first + count, chunk):
            keys, children, entries = [], [], []
            for index in range(start, min(start + chunk, first + count)):
                child_keys, profile, timeline = templates.rows_for(index, now)
                keys += child_keys
                children.append(profile)
                entries += timeline
            with store.db.transaction() as conn:
                conn.executemany("INSERT OR IGNORE INTO child_keys (key, child_id) VALUES (?, ?)", keys)
                conn.executemany("INSERT OR IGNORE INTO children (child_id, profile, as_of) VALUES (?, ?, ?)",
                                 children)
                # keyed by department + event_id: the department is the entry's own
                conn.executemany("INSERT OR IGNORE INTO timeline (department, event_id, child_id, occurred_at_utc,"
                                 " entry) VALUES (json_extract(?4, '$.department'), ?1, ?2, ?3, ?4)", entries)
            written_events += len(entries)
            if progress:
                progress(min(start + chunk, first + count) - first, written_events)
    finally:
        store.close()
    return count, written_events


class StoreWatch:
    """Reads what the referral service has committed, from its SQLite file, without locking it.

    One read-only connection per thread: the latency phase reads from its tail thread and from every
    sender thread at once, and a sqlite3 connection shared by threads without a lock fails
    ("bad parameter or other API misuse": two threads stepping one cached statement). The store's own
    SqliteDatabase serialises its shared connection with a lock; this watcher is lock-free instead."""

    def __init__(self, path):
        self.path = path
        self._local = threading.local()
        self._all = []
        self._all_lock = threading.Lock()

    @property
    def conn(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10,
                                                      check_same_thread=False)
            with self._all_lock:
                self._all.append(conn)
        return conn

    def high_water(self):
        """The newest timeline rowid: rows are only ever added, so it counts what was stored."""
        return self.conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM timeline").fetchone()[0]

    def since(self, rowid, limit=20_000):
        return self.conn.execute(
            "SELECT rowid, event_id FROM timeline WHERE rowid > ? ORDER BY rowid LIMIT ?", (rowid, limit),
        ).fetchall()

    def child_of(self, event_id):
        row = self.conn.execute("SELECT child_id FROM timeline WHERE event_id = ?", (event_id,)).fetchone()
        return row[0] if row else None

    def close(self):
        with self._all_lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()
