"""Identity resolution's records on MongoDB (the IdentityStore port), beside the timeline in the referral
database. Single-document atomic writes only, as in the rest of this adapter: no multi-document
transactions, so every multi-step write below is ordered to be safe when a crash stops it half-way and
idempotent when it is run again.

The match log's seq comes from a counter document (`counters`, `_id` "match_log"), incremented atomically
with find_one_and_update($inc); the log row (`_id` = seq) is inserted after. Seqs are unique and
increasing in the order they were *taken*, but not necessarily in the order their rows become visible:

    ordering caveat: writer A takes seq 5, writer B takes seq 6, B inserts row 6 first; a reader that
    reads the log in between sees ... 4, 6 and moves its mark to 6, and row 5 appears below the mark a
    moment later. A writer that dies between taking a seq and inserting its row leaves a gap that is
    never filled.

So a reader must not take "nothing below my mark appears later" for granted. What this adapter promises
instead (and the contract suite holds every adapter to it): log rows are immutable and written once,
each carrying the record's whole state (record_key, child_id, subject), and a record's own state only
ever moves to a higher seq. Re-reading from an earlier seq is therefore always safe: applying the rows
again, in seq order, ends in the same state as applying them once, and in the records' state. A reader
that must not miss a late row re-reads a window behind its mark (a late row is one whose writer was
between its $inc and its insert: milliseconds, unless that writer died, and then the seq stays a gap).
"""

from childlink_common.mongo import unavailable_as_store_error
from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

MATCH_LOG_COUNTER = "match_log"
# one index per query path (the SQLite adapter's list, in MongoDB terms; `_id` is indexed already)
IDENTITY_INDEXES = {
    "match_records": [[("child_id", ASCENDING), ("_id", ASCENDING)]],
    "identity_reviews": [
        [("status", ASCENDING), ("created_at", ASCENDING), ("_id", ASCENDING)],
        [("created_at", ASCENDING), ("_id", ASCENDING)],
        [("child_id", ASCENDING), ("created_at", ASCENDING)],
        [("candidate_id", ASCENDING), ("created_at", ASCENDING)],
    ],
    "merges": [
        [("kept_id", ASCENDING), ("at", ASCENDING)],
        [("merged_id", ASCENDING), ("at", ASCENDING)],
    ],
}
BY_CREATED = [("created_at", ASCENDING), ("_id", ASCENDING)]


def _without_id(doc):
    return {k: v for k, v in doc.items() if k != "_id"} if doc else None


def _record(doc):
    return {"record_key": doc["record_key"], "child_id": doc["child_id"], "subject": doc["subject"],
            "seq": doc["seq"]}


class MongoIdentityRecords:
    """Mixed into MongoTimelineStore (which owns `self.db`, `self.keys`, `self.entries`, `self.referrals`
    and calls `_open_identity()` from its __init__)."""

    def _open_identity(self):
        self.match_records = self.db["match_records"]
        self.match_log = self.db["match_log"]
        self.counters = self.db["counters"]
        self.identity_reviews = self.db["identity_reviews"]
        self.merges = self.db["merges"]
        self.merged_children = self.db["merged_children"]
        with unavailable_as_store_error():
            for name, indexes in IDENTITY_INDEXES.items():
                for keys in indexes:
                    self.db[name].create_index(keys)

    def identity_index_keys(self):
        """{collection: [index keys]} of the identity collections (tests check one per query path)."""
        with unavailable_as_store_error():
            return {name: [list(info["key"]) for info in self.db[name].index_information().values()]
                    for name in IDENTITY_INDEXES}

    # --- match records and their log ---------------------------------------------------------------

    def upsert_match_record(self, record_key, child_id, subject):
        with unavailable_as_store_error():
            current = self.match_records.find_one({"_id": record_key})
            if current is not None and current["child_id"] == child_id and current["subject"] == subject:
                return None
            return self._log_record(record_key, child_id, subject)

    def _next_seq(self):
        for _ in range(3):
            try:
                doc = self.counters.find_one_and_update(
                    {"_id": MATCH_LOG_COUNTER}, {"$inc": {"seq": 1}}, upsert=True,
                    return_document=ReturnDocument.AFTER)
                return doc["seq"]
            except DuplicateKeyError:
                continue  # two first-ever upserts raced; the counter exists now: increment it
        return self.counters.find_one_and_update({"_id": MATCH_LOG_COUNTER}, {"$inc": {"seq": 1}},
                                                 return_document=ReturnDocument.AFTER)["seq"]

    def _log_record(self, record_key, child_id, subject):
        """Take a seq, append the (immutable) log row, then move the record to it. A crash after the log
        row leaves the record behind its log: the log is the matcher's source, and a rerun of the caller
        (or of move_child_records) writes the record. Two writers of one record: the higher seq wins, so
        the record and a reader applying the log in seq order end in the same state."""
        seq = self._next_seq()
        self.match_log.insert_one({"_id": seq, "record_key": record_key, "child_id": child_id,
                                   "subject": subject})
        try:
            self.match_records.update_one(
                {"_id": record_key, "$or": [{"seq": {"$lt": seq}}, {"seq": {"$exists": False}}]},
                {"$set": {"record_key": record_key, "child_id": child_id, "subject": subject, "seq": seq}},
                upsert=True)
        except DuplicateKeyError:
            pass  # a writer with a higher seq stored the record already: its state stands
        return seq

    def match_record(self, record_key):
        with unavailable_as_store_error():
            doc = self.match_records.find_one({"_id": record_key})
        return _record(doc) if doc else None

    def match_records_of_child(self, child_id):
        with unavailable_as_store_error():
            docs = self.match_records.find({"child_id": child_id}).sort([("_id", ASCENDING)])
            return [_record(doc) for doc in docs]

    def match_log_since(self, seq, limit):
        """Rows with seq > `seq`, ascending. See the module docstring: a row below a reader's mark can
        appear late (re-reading from an earlier seq is safe; rows never change)."""
        if limit <= 0:
            return []
        with unavailable_as_store_error():
            docs = self.match_log.find({"_id": {"$gt": seq}}).sort([("_id", ASCENDING)]).limit(limit)
            return [{"seq": doc["_id"], "record_key": doc["record_key"], "child_id": doc["child_id"],
                     "subject": doc["subject"]} for doc in docs]

    # --- reviews -----------------------------------------------------------------------------------

    def insert_identity_review(self, review):
        with unavailable_as_store_error():
            try:
                self.identity_reviews.insert_one({"_id": review["review_id"], **review})
                return True
            except DuplicateKeyError:
                return False

    def get_identity_review(self, review_id):
        with unavailable_as_store_error():
            return _without_id(self.identity_reviews.find_one({"_id": review_id}))

    def replace_identity_review(self, review, expected_version):
        with unavailable_as_store_error():
            result = self.identity_reviews.replace_one(
                {"_id": review["review_id"], "version": expected_version}, {"_id": review["review_id"], **review})
            return result.matched_count == 1

    def find_identity_reviews(self, status, offset, limit):
        query = {"status": status} if status else {}
        with unavailable_as_store_error():
            total = self.identity_reviews.count_documents(query)
            if limit <= 0:
                return total, []
            docs = self.identity_reviews.find(query).sort(BY_CREATED).skip(offset).limit(limit)
            return total, [_without_id(doc) for doc in docs]

    def identity_reviews_of_child(self, child_id):
        with unavailable_as_store_error():
            docs = self.identity_reviews.find({"$or": [{"child_id": child_id}, {"candidate_id": child_id}]})
            return [_without_id(doc) for doc in docs.sort(BY_CREATED)]

    # --- merges ------------------------------------------------------------------------------------

    def insert_merge(self, merge):
        with unavailable_as_store_error():
            try:
                self.merges.insert_one({"_id": merge["merge_id"], **merge})
                return True
            except DuplicateKeyError:
                return False

    def get_merge(self, merge_id):
        with unavailable_as_store_error():
            return _without_id(self.merges.find_one({"_id": merge_id}))

    def replace_merge(self, merge, expected_version):
        with unavailable_as_store_error():
            result = self.merges.replace_one(
                {"_id": merge["merge_id"], "version": expected_version}, {"_id": merge["merge_id"], **merge})
            return result.matched_count == 1

    def merges_of_child(self, child_id):
        with unavailable_as_store_error():
            docs = self.merges.find({"$or": [{"kept_id": child_id}, {"merged_id": child_id}]})
            return [_without_id(doc) for doc in docs.sort([("at", ASCENDING), ("_id", ASCENDING)])]

    # --- moving a child's records ------------------------------------------------------------------

    def move_child_records(self, to_child, keys, event_ids, referral_ids, record_keys):
        """No transaction: each step is a set-to-value (keys, entries, referrals) or skipped when done
        already (match records whose child is `to_child`), so a crash part-way leaves some records moved,
        and running it again moves the rest and appends nothing for what was moved. The match records go
        last: their log rows tell the matchers, and by then the rest has moved."""
        with unavailable_as_store_error():
            if keys:
                self.keys.update_many({"_id": {"$in": list(keys)}}, {"$set": {"child_id": to_child}})
            if event_ids:
                self.entries.update_many({"event_id": {"$in": list(event_ids)}}, {"$set": {"child_id": to_child}})
            if referral_ids:
                # version and outbox state unchanged: a move is not a transition of the referral
                self.referrals.update_many({"_id": {"$in": list(referral_ids)}}, {"$set": {"child_id": to_child}})
            for record_key in record_keys:
                doc = self.match_records.find_one({"_id": record_key})
                if doc is not None and doc["child_id"] != to_child:
                    self._log_record(record_key, to_child, doc["subject"])

    def set_merged_into(self, child_id, into):
        with unavailable_as_store_error():
            if into is None:
                self.merged_children.delete_one({"_id": child_id})
            else:
                self.merged_children.update_one({"_id": child_id}, {"$set": {"merged_into": into}}, upsert=True)

    def merged_into(self, child_id):
        with unavailable_as_store_error():
            doc = self.merged_children.find_one({"_id": child_id})
        return doc["merged_into"] if doc else None
