"""Identity resolution's records on SQLite (the IdentityStore port), in the referral database file so a
merge moves keys, timeline entries and referrals in one transaction."""

import json

from childlink_common.json_text import compact

SCHEMA = """
CREATE TABLE IF NOT EXISTS match_records (
    record_key TEXT PRIMARY KEY,
    child_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS match_records_child ON match_records (child_id);
CREATE TABLE IF NOT EXISTS match_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    record_key TEXT NOT NULL,
    child_id TEXT NOT NULL,
    subject TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS identity_reviews (
    review_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    child_id TEXT NOT NULL,
    candidate_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS identity_reviews_status ON identity_reviews (status, created_at, review_id);
CREATE INDEX IF NOT EXISTS identity_reviews_child ON identity_reviews (child_id);
CREATE INDEX IF NOT EXISTS identity_reviews_candidate ON identity_reviews (candidate_id);
CREATE TABLE IF NOT EXISTS merges (
    merge_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    kept_id TEXT NOT NULL,
    merged_id TEXT NOT NULL,
    at TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS merges_kept ON merges (kept_id);
CREATE INDEX IF NOT EXISTS merges_merged ON merges (merged_id);
CREATE TABLE IF NOT EXISTS merged_children (
    child_id TEXT PRIMARY KEY,
    merged_into TEXT NOT NULL
);
"""


def _dumps(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


class SqliteIdentityRecords:
    """Mixed into SqliteTimelineStore (which owns `self.db` and creates SCHEMA with its own)."""

    # --- match records and their log ---------------------------------------------------------------

    def upsert_match_record(self, record_key, child_id, subject):
        text = _dumps(subject)
        if self.db.in_transaction():
            # inside a batch the read cannot go stale before the write: the savepoint is paid only to write
            rows = self.db.read("SELECT child_id, subject FROM match_records WHERE record_key = ?", (record_key,))
            if rows and rows[0][0] == child_id and rows[0][1] == text:
                return None
        with self.db.transaction() as conn:
            row = conn.execute("SELECT child_id, subject FROM match_records WHERE record_key = ?",
                               (record_key,)).fetchone()
            if row is not None and row[0] == child_id and row[1] == text:
                return None
            return self._log_record(conn, record_key, child_id, text)

    @staticmethod
    def _log_record(conn, record_key, child_id, subject_text):
        seq = conn.execute("INSERT INTO match_log (record_key, child_id, subject) VALUES (?, ?, ?)",
                           (record_key, child_id, subject_text)).lastrowid
        conn.execute("INSERT INTO match_records (record_key, child_id, subject, seq) VALUES (?, ?, ?, ?)"
                     " ON CONFLICT (record_key) DO UPDATE SET child_id = excluded.child_id,"
                     " subject = excluded.subject, seq = excluded.seq", (record_key, child_id, subject_text, seq))
        return seq

    @staticmethod
    def _record(row):
        return {"record_key": row["record_key"], "child_id": row["child_id"],
                "subject": json.loads(row["subject"]), "seq": row["seq"]}

    def match_record(self, record_key):
        rows = self.db.read("SELECT * FROM match_records WHERE record_key = ?", (record_key,))
        return self._record(rows[0]) if rows else None

    def match_records_of_child(self, child_id):
        rows = self.db.read("SELECT * FROM match_records WHERE child_id = ? ORDER BY record_key", (child_id,))
        return [self._record(row) for row in rows]

    def match_log_since(self, seq, limit):
        rows = self.db.read("SELECT * FROM match_log WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit))
        return [self._record(row) for row in rows]

    # --- reviews -----------------------------------------------------------------------------------

    def insert_identity_review(self, review):
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO identity_reviews (review_id, version, status, child_id, candidate_id,"
                " created_at, doc) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (review["review_id"], review["version"], review["status"], review["child_id"],
                 review["candidate_id"], review["created_at"], _dumps(review)))
            return cursor.rowcount == 1

    def get_identity_review(self, review_id):
        rows = self.db.read("SELECT doc FROM identity_reviews WHERE review_id = ?", (review_id,))
        return json.loads(rows[0]["doc"]) if rows else None

    def replace_identity_review(self, review, expected_version):
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "UPDATE identity_reviews SET version = ?, status = ?, child_id = ?, candidate_id = ?, doc = ?"
                " WHERE review_id = ? AND version = ?",
                (review["version"], review["status"], review["child_id"], review["candidate_id"], _dumps(review),
                 review["review_id"], expected_version))
            return cursor.rowcount == 1

    def find_identity_reviews(self, status, offset, limit):
        where, params = ("WHERE status = ?", (status,)) if status else ("", ())
        total = self.db.read(f"SELECT COUNT(*) AS n FROM identity_reviews {where}", params)[0]["n"]
        rows = self.db.read(f"SELECT doc FROM identity_reviews {where} ORDER BY created_at, review_id"
                            " LIMIT ? OFFSET ?", (*params, limit, offset))
        return total, [json.loads(row["doc"]) for row in rows]

    def identity_reviews_of_child(self, child_id):
        rows = self.db.read("SELECT doc FROM identity_reviews WHERE child_id = ? OR candidate_id = ?"
                            " ORDER BY created_at, review_id", (child_id, child_id))
        return [json.loads(row["doc"]) for row in rows]

    # --- merges ------------------------------------------------------------------------------------

    def insert_merge(self, merge):
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO merges (merge_id, version, kept_id, merged_id, at, doc) VALUES (?, ?, ?, ?, ?, ?)",
                (merge["merge_id"], merge["version"], merge["kept_id"], merge["merged_id"], merge["at"], _dumps(merge)))
            return cursor.rowcount == 1

    def get_merge(self, merge_id):
        rows = self.db.read("SELECT doc FROM merges WHERE merge_id = ?", (merge_id,))
        return json.loads(rows[0]["doc"]) if rows else None

    def replace_merge(self, merge, expected_version):
        with self.db.transaction() as conn:
            cursor = conn.execute("UPDATE merges SET version = ?, doc = ? WHERE merge_id = ? AND version = ?",
                                  (merge["version"], _dumps(merge), merge["merge_id"], expected_version))
            return cursor.rowcount == 1

    def merges_of_child(self, child_id):
        rows = self.db.read("SELECT doc FROM merges WHERE kept_id = ? OR merged_id = ? ORDER BY at, merge_id",
                            (child_id, child_id))
        return [json.loads(row["doc"]) for row in rows]

    # --- moving a child's records ------------------------------------------------------------------

    def move_child_records(self, to_child, keys, event_ids, referral_ids, record_keys):
        with self.db.transaction() as conn:
            conn.executemany("UPDATE child_keys SET child_id = ? WHERE key = ?", [(to_child, k) for k in keys])
            for event_id in event_ids:  # entries are keyed by department + event_id: each one bearing it
                for department, stored in conn.execute(
                        "SELECT department, entry FROM timeline WHERE event_id = ?", (event_id,)).fetchall():
                    entry = {**json.loads(stored), "child_id": to_child}
                    conn.execute("UPDATE timeline SET child_id = ?, entry = ? WHERE department = ? AND event_id = ?",
                                 (to_child, compact(entry),
                                  department, event_id))
            for referral_id in referral_ids:
                row = conn.execute("SELECT doc FROM referrals WHERE referral_id = ?", (referral_id,)).fetchone()
                if row is None:
                    continue
                doc = {**json.loads(row[0]), "child_id": to_child}
                conn.execute("UPDATE referrals SET child_id = ?, doc = ? WHERE referral_id = ?",
                             (to_child, compact(doc), referral_id))
            for record_key in record_keys:
                row = conn.execute("SELECT child_id, subject FROM match_records WHERE record_key = ?",
                                   (record_key,)).fetchone()
                if row is not None and row[0] != to_child:
                    self._log_record(conn, record_key, to_child, row[1])

    def set_merged_into(self, child_id, into):
        with self.db.transaction() as conn:
            if into is None:
                conn.execute("DELETE FROM merged_children WHERE child_id = ?", (child_id,))
            else:
                conn.execute("INSERT INTO merged_children (child_id, merged_into) VALUES (?, ?)"
                             " ON CONFLICT (child_id) DO UPDATE SET merged_into = excluded.merged_into",
                             (child_id, into))

    def merged_into(self, child_id):
        rows = self.db.read("SELECT merged_into FROM merged_children WHERE child_id = ?", (child_id,))
        return rows[0]["merged_into"] if rows else None
