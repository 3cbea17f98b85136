"""Sessions and sign-in throttle counts on MongoDB: a mixin of MongoGatewayStore (it has `self.db`).

A failure is one atomic $inc on the pair's document, so replicas counting at once lose no failure."""

from childlink_common.mongo import unavailable_as_store_error
from pymongo import ASCENDING, ReturnDocument

SESSION_FIELDS = ("session_key", "user_id", "created_at", "last_seen_at")


class MongoSessions:
    def _session_indexes(self):
        self.session_docs = self.db["sessions"]
        self.failure_docs = self.db["signin_failures"]
        with unavailable_as_store_error():
            self.session_docs.create_index([("user_id", ASCENDING)])
            self.failure_docs.create_index([("last_at", ASCENDING)])

    def add_session(self, record):
        with unavailable_as_store_error():
            self.session_docs.replace_one({"_id": record["session_key"]},
                                          {k: record[k] for k in SESSION_FIELDS}, upsert=True)

    def session(self, session_key):
        with unavailable_as_store_error():
            doc = self.session_docs.find_one({"_id": session_key})
        return {k: doc[k] for k in SESSION_FIELDS} if doc else None

    def touch_session(self, session_key, at):
        with unavailable_as_store_error():
            self.session_docs.update_one({"_id": session_key, "last_seen_at": {"$lt": at}},
                                         {"$set": {"last_seen_at": at}})

    def end_session(self, session_key):
        with unavailable_as_store_error():
            return self.session_docs.delete_one({"_id": session_key}).deleted_count == 1

    def end_sessions_of(self, user_id):
        with unavailable_as_store_error():
            return self.session_docs.delete_many({"user_id": user_id}).deleted_count

    def end_sessions_before(self, created_before, seen_before):
        with unavailable_as_store_error():
            return self.session_docs.delete_many({"$or": [{"created_at": {"$lt": created_before}},
                                                          {"last_seen_at": {"$lt": seen_before}}]}).deleted_count

    def throttle_state(self, throttle_key):
        with unavailable_as_store_error():
            doc = self.failure_docs.find_one({"_id": throttle_key})
        return {k: doc[k] for k in ("failures", "first_at", "last_at")} if doc else None

    def throttle_failure(self, throttle_key, now, window_s):
        with unavailable_as_store_error():
            self.failure_docs.delete_many({"last_at": {"$lt": now - window_s}})
            doc = self.failure_docs.find_one_and_update(
                {"_id": throttle_key}, {"$inc": {"failures": 1}, "$set": {"last_at": now}, "$setOnInsert": {"first_at": now}},
                upsert=True, return_document=ReturnDocument.AFTER)
        return doc["failures"]

    def throttle_clear(self, throttle_key):
        with unavailable_as_store_error():
            self.failure_docs.delete_one({"_id": throttle_key})
