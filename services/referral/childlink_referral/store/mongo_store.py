"""The referral timeline on MongoDB: `_id` = department:event_id and key, single-document atomic updates only."""

import contextlib

from childlink_common.mongo import SERVER_SELECTION_TIMEOUT_MS, connect, unavailable_as_store_error
from childlink_contracts import event_key
from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from .mongo_identity import MongoIdentityRecords
from .port import check_same_content

OPEN = ["requested", "accepted", "scheduled", "in_progress"]
# query field -> document path
PATHS = {
    "child_id": "child_id", "status": "status", "reason": "reason", "district": "district",
    "from_department": "from.department", "from_facility": "from.facility", "from_district": "from.district",
    "to_department": "to.department", "to_facility": "to.facility", "to_district": "to.district",
}
# one index per query path (see the SQLite adapter for the same list)
REFERRAL_INDEXES = [
    [("to.facility", ASCENDING), ("status", ASCENDING), ("due_by", ASCENDING)],
    [("from.facility", ASCENDING), ("status", ASCENDING), ("due_by", ASCENDING)],
    [("to.district", ASCENDING), ("reason", ASCENDING), ("status", ASCENDING), ("due_by", ASCENDING)],
    [("from.district", ASCENDING), ("status", ASCENDING), ("due_by", ASCENDING)],
    [("district", ASCENDING), ("status", ASCENDING), ("due_by", ASCENDING)],
    [("to.department", ASCENDING), ("status", ASCENDING), ("due_by", ASCENDING)],
    [("from.department", ASCENDING), ("status", ASCENDING), ("due_by", ASCENDING)],
    [("child_id", ASCENDING), ("created_at", ASCENDING)],
    [("status", ASCENDING), ("due_by", ASCENDING)],
    [("outbox_pending", ASCENDING)],
]
SORT = [("due_by", ASCENDING), ("_id", ASCENDING)]


def query_of(groups):
    """A MongoDB filter for the port's groups of alternatives."""
    clauses = []
    for group in groups:
        alternatives = []
        for alternative in group:
            terms = {}
            for field, value in alternative.items():
                if field == "due_before":
                    terms["due_by"] = {"$lt": value}
                elif isinstance(value, (list, tuple)):
                    terms[PATHS[field]] = {"$in": list(value)}
                else:
                    terms[PATHS[field]] = value
            alternatives.append(terms)
        clauses.append(alternatives[0] if len(alternatives) == 1 else {"$or": alternatives})
    if not clauses:
        return {}
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _referral(doc):
    return {k: v for k, v in doc.items() if k not in ("_id", "outbox_pending")} if doc else None


class MongoTimelineStore(MongoIdentityRecords):
    def __init__(self, uri, database="childlink_referral",
                 server_selection_timeout_ms=SERVER_SELECTION_TIMEOUT_MS):
        self.client, self.db = connect(uri, database, server_selection_timeout_ms)
        self.keys = self.db["child_keys"]
        self.children = self.db["children"]
        self.entries = self.db["timeline"]
        self.referrals = self.db["referrals"]
        self.reviews = self.db["reviews"]
        with unavailable_as_store_error():
            self.keys.create_index([("child_id", ASCENDING)])
            self.entries.create_index([("child_id", ASCENDING), ("occurred_at_utc", ASCENDING),
                                       ("event_id", ASCENDING), ("_id", ASCENDING)])
            self.entries.create_index([("event_id", ASCENDING)])  # a merge moves entries by event_id
            for keys in REFERRAL_INDEXES:
                self.referrals.create_index(keys)
            self.reviews.create_index([("review_at", ASCENDING)])
            self._key_entries_by_department()
        self._open_identity()
        self._open_counts()

    def _open_counts(self):
        """/health's duplicate count, kept as it changes (see stats): counted once for a store that held
        duplicates before the count existed."""
        self.counts = self.db["counts"]
        with unavailable_as_store_error():
            if self.counts.find_one({"_id": "duplicates"}) is None:
                totals = list(self.entries.aggregate([{"$match": {"duplicates": {"$gt": 0}}},
                                                      {"$group": {"_id": None, "n": {"$sum": "$duplicates"}}}]))
                self.counts.update_one({"_id": "duplicates"},
                                       {"$setOnInsert": {"n": totals[0]["n"] if totals else 0}}, upsert=True)

    def _key_entries_by_department(self):
        """Entries stored when `_id` was the event_id alone get `_id` department:event_id, once (a marker
        says it was done). Re-running after a crash part-way is safe: an insert already done is skipped."""
        meta = self.db["meta"]
        if meta.find_one({"_id": "timeline_keyed_by_department"}):
            return
        for doc in list(self.entries.find({"_id": {"$not": {"$regex": ":"}}})):
            try:
                self.entries.insert_one({**doc, "_id": event_key(doc["department"], doc["event_id"])})
            except DuplicateKeyError:
                pass
            self.entries.delete_one({"_id": doc["_id"]})
        meta.update_one({"_id": "timeline_keyed_by_department"}, {"$set": {"done": True}}, upsert=True)

    def children_for_keys(self, keys):
        with unavailable_as_store_error():
            return {doc["_id"]: doc["child_id"] for doc in self.keys.find({"_id": {"$in": list(keys)}})}

    def claim_key(self, key, child_id):
        with unavailable_as_store_error():
            for _ in range(3):
                try:
                    doc = self.keys.find_one_and_update(
                        {"_id": key}, {"$setOnInsert": {"child_id": child_id}}, upsert=True,
                        return_document=ReturnDocument.AFTER,
                    )
                    return doc["child_id"]
                except DuplicateKeyError:
                    continue  # two upserts raced; the other one's insert stands: read it
            return self.keys.find_one({"_id": key})["child_id"]

    def save_profile(self, child_id, profile, as_of):
        with unavailable_as_store_error():
            try:
                self.children.update_one(
                    {"_id": child_id, "$or": [{"as_of": {"$lte": as_of}}, {"as_of": {"$exists": False}}]},
                    {"$set": {"profile": profile, "as_of": as_of}}, upsert=True,
                )
            except DuplicateKeyError:
                pass  # a newer profile is stored already

    def replace_profile(self, child_id, profile):
        with unavailable_as_store_error():
            self.children.update_one({"_id": child_id}, {"$set": {"profile": profile}})

    def append_to_timeline(self, entry):
        key = event_key(entry["department"], entry["event_id"])
        with unavailable_as_store_error():
            try:
                self.entries.insert_one({"_id": key, **entry, "duplicates": 0})
                return True
            except DuplicateKeyError:
                stored = self.entries.find_one({"_id": key}, {"content_hash": 1})
                check_same_content(entry, (stored or {}).get("content_hash"))
                self.entries.update_one({"_id": key}, {"$inc": {"duplicates": 1}})
                self.counts.update_one({"_id": "duplicates"}, {"$inc": {"n": 1}}, upsert=True)
                return False

    def content_hash_of(self, department, event_id):
        with unavailable_as_store_error():
            stored = self.entries.find_one({"_id": event_key(department, event_id)}, {"content_hash": 1})
        return (stored or {}).get("content_hash")

    def timeline(self, child_id):
        with unavailable_as_store_error():
            docs = self.entries.find({"child_id": child_id}).sort([("occurred_at_utc", ASCENDING),
                                                                   ("event_id", ASCENDING), ("_id", ASCENDING)])
            return [{k: v for k, v in doc.items() if k != "_id"} for doc in docs]

    def timeline_ids(self, child_id):
        with unavailable_as_store_error():
            return sorted(doc["event_id"] for doc in self.entries.find({"child_id": child_id}, {"event_id": 1}))

    def profile(self, child_id):
        with unavailable_as_store_error():
            doc = self.children.find_one({"_id": child_id}, {"profile": 1})
        return None if doc is None else doc["profile"]

    def timeline_version(self, child_id):
        return None  # its writes keep no version yet: every read builds the view (port.TimelineStore)

    def child(self, child_id):
        with unavailable_as_store_error():
            doc = self.children.find_one({"_id": child_id})
            if doc is None:
                return None
            keys = sorted(d["_id"] for d in self.keys.find({"child_id": child_id}, {"_id": 1}))
        found = {"child_id": child_id, "profile": doc["profile"], "keys": keys}
        into = self.merged_into(child_id)
        return {**found, "merged_into": into} if into else found

    def find_child(self, key):
        with unavailable_as_store_error():
            doc = self.keys.find_one({"_id": key})
        return doc["child_id"] if doc else None

    def stats(self):
        """Constant time (served on /health): the collections' counts from their metadata, and the
        duplicates counted as they come, not an aggregate over the whole timeline."""
        with unavailable_as_store_error():
            events = self.entries.estimated_document_count()
            children = self.children.estimated_document_count()
            duplicates = (self.counts.find_one({"_id": "duplicates"}) or {}).get("n", 0)
        return {"children": children, "events": events, "duplicates": duplicates}

    @contextlib.contextmanager
    def batch(self):
        """No multi-document transaction: each write inside is atomic and idempotent on its own."""
        yield

    # --- referrals -----------------------------------------------------------------------------

    def insert_referral(self, referral):
        with unavailable_as_store_error():
            try:
                self.referrals.insert_one({"_id": referral["referral_id"], **referral, "outbox_pending": True})
                return True
            except DuplicateKeyError:
                return False

    def get_referral(self, referral_id):
        with unavailable_as_store_error():
            return _referral(self.referrals.find_one({"_id": referral_id}))

    def replace_referral(self, referral, expected_version):
        with unavailable_as_store_error():
            result = self.referrals.replace_one(
                {"_id": referral["referral_id"], "version": expected_version},
                {"_id": referral["referral_id"], **referral, "outbox_pending": True})
            return result.matched_count == 1

    def mark_outboxed(self, referral_id, version):
        with unavailable_as_store_error():
            self.referrals.update_one({"_id": referral_id, "version": version}, {"$set": {"outbox_pending": False}})

    def referrals_not_outboxed(self, limit):
        with unavailable_as_store_error():
            return [_referral(doc) for doc in self.referrals.find({"outbox_pending": True}).limit(limit)]

    def referrals_of_child(self, child_id):
        with unavailable_as_store_error():
            docs = self.referrals.find({"child_id": child_id}).sort([("created_at", ASCENDING), ("_id", ASCENDING)])
            return [_referral(doc) for doc in docs]

    def find_referrals(self, groups, offset, limit):
        query = query_of(groups)
        with unavailable_as_store_error():
            total = self.referrals.count_documents(query)
            docs = self.referrals.find(query).sort(SORT).skip(offset).limit(limit)
            return total, [_referral(doc) for doc in docs]

    def open_referrals_due(self, now, limit):
        with unavailable_as_store_error():
            docs = self.referrals.find({"status": {"$in": OPEN}, "due_by": {"$lte": now}}).sort(
                [("due_by", ASCENDING)]).limit(limit)
            return [_referral(doc) for doc in docs]

    def set_review(self, child_id, at):
        with unavailable_as_store_error():
            current = self.reviews.find_one({"_id": child_id})
            if (current or {}).get("review_at") == at:
                return  # unchanged (the usual case): no write
            if at is None:
                self.reviews.delete_one({"_id": child_id})
            else:
                self.reviews.update_one({"_id": child_id}, {"$set": {"review_at": at}}, upsert=True)

    def due_reviews(self, now, limit):
        with unavailable_as_store_error():
            docs = self.reviews.find({"review_at": {"$lte": now}}).sort([("review_at", ASCENDING)]).limit(limit)
            return [doc["_id"] for doc in docs]

    def index_keys(self):
        """The referral collection's index keys (tests check one per query path)."""
        with unavailable_as_store_error():
            return [list(info["key"]) for info in self.referrals.index_information().values()]

    def close(self):
        self.client.close()
