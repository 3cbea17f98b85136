"""The gateway store on MongoDB: users keyed by user_id, audit entries keyed by audit_id.

Single-document writes only. Username uniqueness rests on a unique index, so two seeders racing
cannot create the same login twice.
"""

from childlink_common.mongo import SERVER_SELECTION_TIMEOUT_MS, connect, unavailable_as_store_error
from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from .mongo_sessions import MongoSessions

FILTER_FIELDS = ("user_id", "action", "target_id", "outcome")


def _plain(doc):
    return {k: v for k, v in doc.items() if k != "_id"} if doc else None


class MongoGatewayStore(MongoSessions):
    def __init__(self, uri, database="childlink_gateway", server_selection_timeout_ms=SERVER_SELECTION_TIMEOUT_MS):
        self.client, self.db = connect(uri, database, server_selection_timeout_ms)
        self.user_docs = self.db["users"]
        self.audit = self.db["audit"]
        with unavailable_as_store_error():
            self.user_docs.create_index([("username", ASCENDING)], unique=True)
            self.audit.create_index([("at", DESCENDING), ("_id", DESCENDING)])
            self.audit.create_index([("user_id", ASCENDING), ("at", DESCENDING)])
            self.audit.create_index([("target_id", ASCENDING), ("at", DESCENDING)])
        self._session_indexes()

    def add_user(self, user):
        with unavailable_as_store_error():
            if self.user_docs.find_one({"username": user["username"]}, {"_id": 1}):
                return False  # also checked here: the unique index is the guard, this is the common path
            try:
                self.user_docs.insert_one({"_id": user["user_id"], **user})
                return True
            except DuplicateKeyError:
                return False

    def user_by_username(self, username):
        with unavailable_as_store_error():
            return _plain(self.user_docs.find_one({"username": username}))

    def user_by_id(self, user_id):
        with unavailable_as_store_error():
            return _plain(self.user_docs.find_one({"_id": user_id}))

    def set_password_hash(self, user_id, password_hash):
        with unavailable_as_store_error():
            result = self.user_docs.update_one({"_id": user_id}, {"$set": {"password_hash": password_hash}})
        return result.matched_count == 1

    def users(self):
        with unavailable_as_store_error():
            return [_plain(doc) for doc in self.user_docs.find({}).sort([("username", ASCENDING)])]

    def append_audit(self, entry):
        with unavailable_as_store_error():
            try:
                self.audit.insert_one({"_id": entry["audit_id"], **entry})
                return True
            except DuplicateKeyError:
                return False

    def audit_entries(self, filters, page=1, page_size=50):
        query = {field: filters[field] for field in FILTER_FIELDS if filters.get(field)}
        at = {}
        if filters.get("since"):
            at["$gte"] = filters["since"]
        if filters.get("until"):
            at["$lt"] = filters["until"]
        if at:
            query["at"] = at
        with unavailable_as_store_error():
            total = self.audit.count_documents(query)
            docs = (self.audit.find(query).sort([("at", DESCENDING), ("_id", DESCENDING)])
                    .skip((max(page, 1) - 1) * page_size).limit(page_size))
            return total, [_plain(doc) for doc in docs]

    def close(self):
        self.client.close()
