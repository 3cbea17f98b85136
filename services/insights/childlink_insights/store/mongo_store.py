"""The insights store on MongoDB: single-document writes, no transactions, and a journal in their place.

Inside `batch()` the subject and alias writes are held in memory (reads see them) until the next
`add_cells` (the aggregator's flush): then one journal document names every write and cell delta of that
step, is inserted (one atomic write), applied, and deleted. Subject and alias writes are replacements,
so applying them twice is harmless; a cell's $inc is applied only if the cell does not already carry the
journal's id (`j`). A process killed anywhere in between leaves the journal behind, and the next open of
the store applies it again before anything else: the cells never miss or double a subject's change, and
the events redelivered after the crash find their subjects already saved (no change to add).

Batches run one at a time in the process (a lock, as SQLite's connection lock does there): the service's
five consumers would otherwise interleave their read-modify-writes of one child. One insights process per
database, as with the SQLite file."""

import contextlib
import json
import threading
import uuid

from childlink_common.mongo import SERVER_SELECTION_TIMEOUT_MS, connect, unavailable_as_store_error
from pymongo import ASCENDING, DeleteOne, ReplaceOne, UpdateOne

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
        self.journal_docs = self.db["journal"]
        self._lock = threading.RLock()
        self._held = None  # {"subjects": {key: doc or None}, "aliases": {record: key}} inside a batch
        with unavailable_as_store_error():
            self.cell_docs.create_index([("scope", ASCENDING), ("month", ASCENDING), ("counter", ASCENDING)])
            self.cell_docs.create_index([("scope", ASCENDING), ("counter", ASCENDING), ("month", ASCENDING)])
            for journal in self.journal_docs.find().sort("_id", ASCENDING):  # left by a crash: finish it
                self._apply(journal)

    @contextlib.contextmanager
    def batch(self):
        with self._lock:
            outer = self._held is None
            if outer:
                self._held = {"subjects": {}, "aliases": {}}
            try:
                yield
                if outer:
                    self._commit({})
            finally:
                if outer:
                    self._held = None

    def _commit(self, deltas):
        held = self._held or {"subjects": {}, "aliases": {}}
        if not (held["subjects"] or held["aliases"] or deltas):
            return
        # ids in time order, so journals left by a crash are applied in the order they were written
        journal = {"_id": f"{uuid.uuid1().time:020d}-{uuid.uuid4().hex[:8]}",
                   "subjects": [[key, doc] for key, doc in held["subjects"].items()],
                   "aliases": [[record, key] for record, key in held["aliases"].items()],
                   "cells": [[*key, value] for key, value in deltas.items()]}
        with unavailable_as_store_error():
            self.journal_docs.insert_one(journal)
        held["subjects"], held["aliases"] = {}, {}
        self._apply(journal)

    def _apply(self, journal):
        jid = journal["_id"]
        with unavailable_as_store_error():
            subjects = [ReplaceOne({"_id": key}, doc, upsert=True) if doc else DeleteOne({"_id": key})
                        for key, doc in journal["subjects"]]
            if subjects:
                self.subject_docs.bulk_write(subjects, ordered=True)
            if journal["aliases"]:
                self.alias_docs.bulk_write([ReplaceOne({"_id": record}, {"_id": record, "key": key}, upsert=True)
                                            for record, key in journal["aliases"]], ordered=False)
            cells = [(_cell_id(item[:4]), item[:4], item[4]) for item in journal["cells"]]
            if cells:
                self.cell_docs.bulk_write([UpdateOne({"_id": cid}, {"$setOnInsert": {
                    **dict(zip(CELL_FIELDS, key, strict=True)), "value": 0}}, upsert=True)
                    for cid, key, _ in cells], ordered=False)
                self.cell_docs.bulk_write([UpdateOne({"_id": cid, "j": {"$ne": jid}},
                                                     {"$inc": {"value": value}, "$set": {"j": jid}})
                                           for cid, _, value in cells], ordered=False)
                self.cell_docs.delete_many({"_id": {"$in": [cid for cid, _, _ in cells]}, "value": 0})
            self.journal_docs.delete_one({"_id": jid})

    def get_subject(self, key):
        if self._held is not None and key in self._held["subjects"]:
            doc = self._held["subjects"][key]
        else:
            with unavailable_as_store_error():
                doc = self.subject_docs.find_one({"_id": key})
        return (doc["state"], decode_facts(doc["facts"])) if doc else None

    def put_subject(self, key, state, facts):
        doc = {"_id": key, "state": state, "facts": encode_facts(facts)}
        if self._held is not None:
            self._held["subjects"][key] = json.loads(json.dumps(doc))  # held as stored: later changes stay out
            return
        with unavailable_as_store_error():
            self.subject_docs.replace_one({"_id": key}, doc, upsert=True)

    def delete_subject(self, key):
        if self._held is not None:
            self._held["subjects"][key] = None
            return
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
        if self._held is not None and record in self._held["aliases"]:
            return self._held["aliases"][record]
        with unavailable_as_store_error():
            doc = self.alias_docs.find_one({"_id": record})
        return doc["key"] if doc else None

    def set_alias(self, record, key):
        if self._held is not None:
            self._held["aliases"][record] = key
            return
        with unavailable_as_store_error():
            self.alias_docs.replace_one({"_id": record}, {"_id": record, "key": key}, upsert=True)

    def add_cells(self, deltas):
        if self._held is not None:
            self._commit(deltas)
            return
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
