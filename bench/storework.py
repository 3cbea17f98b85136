"""The referral store's work, without the services around it: what the floor consumer does per event,
the direct pre-loader for 10,000 / 300,000 children, and a read-only watcher of what is committed.
"""

import sqlite3
import time

from childlink_referral.identity import profile_of, resolve
from childlink_referral.store.sqlite_store import SqliteTimelineStore
from childlink_referral.timeline import entry_from_event, utc_key


def store_write(store, event, clock=time.time):
    """The referral intake's store writes for one event (identity, profile, timeline), minus the
    contract check: exactly the calls `childlink_referral.intake.take_in` makes after validating."""
    subject = event["subject"]
    if "child" in subject:
        child_id, _conflicts = resolve(store, event)
        store.save_profile(child_id, profile_of(event), utc_key(event["occurred_at"]))
    else:
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
                conn.executemany("INSERT OR REPLACE INTO children (child_id, profile, as_of) VALUES (?, ?, ?)",
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
    """Reads what the referral service has committed, from its SQLite file, without locking it."""

    def __init__(self, path):
        self.conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10, check_same_thread=False)

    def high_water(self):
        """The newest timeline rowid: rows are only ever added, so it counts what was stored."""
        return self.conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM timeline").fetchone()[0]

    def since(self, rowid, limit=20_000):
        return self.conn.execute(
            "SELECT rowid, event_id FROM timeline WHERE rowid > ? ORDER BY rowid LIMIT ?", (rowid, limit),
        ).fetchall()

    def close(self):
        self.conn.close()
