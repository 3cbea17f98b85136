"""The insights store on MongoDB: single-document writes ($inc upserts for cells), no transactions.

Without a transaction, a process killed between a subject's save and its cells' update leaves those
cells off by that subject's change until `python -m childlink_insights.rebuild` derives them again."""

import contextlib

from childlink_common.mongo import SERVER_SELECTION_TIMEOUT_MS, connect, unavailable_as_store_error
from pymongo import ASCENDING, UpdateOne

from .cells import decode_facts, encode_facts

CELL_FIELDS = ("scope", "scope_id", "month", "counter")


def _cell_id(key):
    return "|".join(str(part) for part in key)


class MongoInsightsStore:
    def __init__(self, uri, database="childlink_insights", server_selection_timeout_ms=SERVER_SELECTION_TIMEOUT_MS):
        self.client, self.db = connect(uri, database, server_selection_timeout_ms)
        self.subject_docs = self.db["subjects"]
        self.alias_docs = self.db["aliases"]
        self.cell_docs = self.db["cells"]
        with unavailable_as_store_error():
            self.cell_docs.create_index([("scope", ASCENDING), ("month", ASCENDING), ("counter", ASCENDING)])

    @contextlib.contextmanager
    def batch(self):
        yield

    def get_subject(self, key):
        with unavailable_as_store_error():
            doc = self.subject_docs.find_one({"_id": key})
        return (doc["state"], decode_facts(doc["facts"])) if doc else None

    def put_subject(self, key, state, facts):
        with unavailable_as_store_error():
            self.subject_docs.replace_one({"_id": key}, {"_id": key, "state": state, "facts": encode_facts(facts)},
                                          upsert=True)

    def delete_subject(self, key):
        with unavailable_as_store_error():
            self.subject_docs.delete_one({"_id": key})

    def subjects(self):
        last = ""
        while True:
            with unavailable_as_store_error():
                docs = list(self.subject_docs.find({"_id": {"$gt": last}}).sort("_id", ASCENDING).limit(500))
            if not docs:
                return
            for doc in docs:
                yield doc["_id"], doc["state"], decode_facts(doc["facts"])
            last = docs[-1]["_id"]

    def alias_of(self, record):
        with unavailable_as_store_error():
            doc = self.alias_docs.find_one({"_id": record})
        return doc["key"] if doc else None

    def set_alias(self, record, key):
        with unavailable_as_store_error():
            self.alias_docs.replace_one({"_id": record}, {"_id": record, "key": key}, upsert=True)

    def add_cells(self, deltas):
        if not deltas:
            return
        updates = [UpdateOne({"_id": _cell_id(key)},
                             {"$inc": {"value": value}, "$setOnInsert": dict(zip(CELL_FIELDS, key, strict=True))},
                             upsert=True) for key, value in deltas.items()]
        with unavailable_as_store_error():
            self.cell_docs.bulk_write(updates, ordered=False)
            self.cell_docs.delete_many({"_id": {"$in": [_cell_id(key) for key in deltas]}, "value": 0})

    def cells(self, scope, scope_ids=None, months=None, prefix=""):
        query = {"scope": scope}
        if scope_ids is not None:
            query["scope_id"] = {"$in": list(scope_ids)}
        if months is not None:
            query["month"] = {"$in": list(months)}
        if prefix:
            query["counter"] = {"$gte": prefix, "$lt": prefix + "\uffff"}
        with unavailable_as_store_error():
            docs = list(self.cell_docs.find(query))
        return [{**{field: doc[field] for field in CELL_FIELDS}, "value": doc["value"]} for doc in docs]

    def clear_cells(self):
        with unavailable_as_store_error():
            self.cell_docs.delete_many({})

    def stats(self):
        return {}

    def close(self):
        self.client.close()
