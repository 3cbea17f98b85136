"""The referral timeline on MongoDB: `_id` = event_id and key, single-document atomic updates only."""

import contextlib

from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from childlink_common.mongo import SERVER_SELECTION_TIMEOUT_MS, connect, unavailable_as_store_error


class MongoTimelineStore:
    def __init__(self, uri, database="childlink_referral",
                 server_selection_timeout_ms=SERVER_SELECTION_TIMEOUT_MS):
        self.client, self.db = connect(uri, database, server_selection_timeout_ms)
        self.keys = self.db["child_keys"]
        self.children = self.db["children"]
        self.entries = self.db["timeline"]
        with unavailable_as_store_error():
            self.keys.create_index([("child_id", ASCENDING)])
            self.entries.create_index([("child_id", ASCENDING), ("occurred_at_utc", ASCENDING),
                                       ("_id", ASCENDING)])

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

    def append_to_timeline(self, entry):
        with unavailable_as_store_error():
            try:
                self.entries.insert_one({"_id": entry["event_id"], **entry, "duplicates": 0})
                return True
            except DuplicateKeyError:
                self.entries.update_one({"_id": entry["event_id"]}, {"$inc": {"duplicates": 1}})
                return False

    def timeline(self, child_id):
        with unavailable_as_store_error():
            docs = self.entries.find({"child_id": child_id}).sort([("occurred_at_utc", ASCENDING),
                                                                   ("_id", ASCENDING)])
            return [{k: v for k, v in doc.items() if k != "_id"} for doc in docs]

    def child(self, child_id):
        with unavailable_as_store_error():
            doc = self.children.find_one({"_id": child_id})
            if doc is None:
                return None
            keys = sorted(d["_id"] for d in self.keys.find({"child_id": child_id}, {"_id": 1}))
        return {"child_id": child_id, "profile": doc["profile"], "keys": keys}

    def find_child(self, key):
        with unavailable_as_store_error():
            doc = self.keys.find_one({"_id": key})
        return doc["child_id"] if doc else None

    def stats(self):
        with unavailable_as_store_error():
            totals = list(self.entries.aggregate([
                {"$group": {"_id": None, "events": {"$sum": 1}, "duplicates": {"$sum": "$duplicates"}}}]))
            children = self.children.count_documents({})
        events = totals[0]["events"] if totals else 0
        duplicates = totals[0]["duplicates"] if totals else 0
        return {"children": children, "events": events, "duplicates": duplicates}

    @contextlib.contextmanager
    def batch(self):
        """No multi-document transaction: each write inside is atomic and idempotent on its own."""
        yield

    def close(self):
        self.client.close()
