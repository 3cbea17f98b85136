"""The outbox on MongoDB: `_id` is the event_id, a counter document gives the order."""

from childlink_contracts import content_hash
from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import BulkWriteError

from ..mongo import SERVER_SELECTION_TIMEOUT_MS, connect, unavailable_as_store_error
from .port import OutboxRecord

DUPLICATE_KEY = 11000


def _stored_hash(doc):
    # documents stored before content hashes were kept: the body is the normalised event, so hash it now
    return doc.get("content_hash") or content_hash(doc["body"])


def _statuses(events, digests, stored, inserted=()):
    """"accepted" (new, or `inserted` by this call), "duplicate" or "conflict" per event, in order; the
    first of an event_id repeated in the batch stands for the later ones."""
    statuses, first = [], {}
    for event, digest in zip(events, digests):
        event_id = event["event_id"]
        if event_id not in first and event_id in stored and event_id not in inserted:
            first[event_id] = stored[event_id]
        if event_id in first:
            statuses.append("duplicate" if first[event_id] == digest else "conflict")
        else:
            statuses.append("accepted")
            first[event_id] = digest
    return statuses


class MongoOutbox:
    def __init__(self, uri, database, server_selection_timeout_ms=SERVER_SELECTION_TIMEOUT_MS):
        self.client, self.db = connect(uri, database, server_selection_timeout_ms)
        self.outbox = self.db["outbox"]
        self.counters = self.db["counters"]
        with unavailable_as_store_error():
            self.outbox.create_index([("published_at", ASCENDING), ("seq", ASCENDING)])

    def _next_seqs(self, count):
        doc = self.counters.find_one_and_update(
            {"_id": "outbox_seq"}, {"$inc": {"value": count}}, upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return range(doc["value"] - count + 1, doc["value"] + 1)

    def add(self, events, accepted_at, refuse_conflicts=False):
        digests = [content_hash(event) for event in events]
        with unavailable_as_store_error():
            ids = [event["event_id"] for event in events]
            stored = {doc["_id"]: _stored_hash(doc)
                      for doc in self.outbox.find({"_id": {"$in": ids}}, {"_id": 1, "content_hash": 1, "body": 1})}
            statuses = _statuses(events, digests, stored)
            if refuse_conflicts and "conflict" in statuses:
                return statuses
            fresh = [(event, digest) for event, digest, status in zip(events, digests, statuses)
                     if status == "accepted"]
            if not fresh:
                return statuses
            docs = [
                {"_id": event["event_id"], "seq": seq, "type": event["type"],
                 "correlation_id": event["correlation_id"], "body": event, "content_hash": digest,
                 "accepted_at": accepted_at, "published_at": None, "lease_owner": None, "lease_until": None}
                for (event, digest), seq in zip(fresh, self._next_seqs(len(fresh)))
            ]
            try:
                self.outbox.insert_many(docs, ordered=False)
            except BulkWriteError as exc:
                # a concurrent request stored the same event_id first: that one stands
                if any(err["code"] != DUPLICATE_KEY for err in exc.details["writeErrors"]):
                    raise
                lost = [docs[err["index"]]["_id"] for err in exc.details["writeErrors"]]
                stored.update({doc["_id"]: _stored_hash(doc) for doc in self.outbox.find(
                    {"_id": {"$in": lost}}, {"_id": 1, "content_hash": 1, "body": 1})})
                statuses = _statuses(events, digests, stored, inserted={d["_id"] for d in docs} - set(lost))
                if refuse_conflicts and "conflict" in statuses:
                    # no multi-document transactions: take back what this batch wrote, so it stores nothing
                    # (a relay that claimed one in this instant may still publish it: it was accepted then)
                    self.outbox.delete_many({"_id": {"$in": [d["_id"] for d in docs if d["_id"] not in lost]},
                                             "published_at": None})
        return statuses

    def claim(self, owner, limit, now, lease_seconds):
        if limit <= 0:
            return []  # pymongo reads limit(0) as "no limit"
        with unavailable_as_store_error():
            candidates = list(self.outbox.find(
                {"published_at": None, "$or": [{"lease_until": None}, {"lease_until": {"$lt": now}},
                                               {"lease_owner": owner}]},
                {"_id": 1},
            ).sort("seq", ASCENDING).limit(limit))
            ids = [doc["_id"] for doc in candidates]
            if not ids:
                return []
            self.outbox.update_many(
                {"_id": {"$in": ids}, "published_at": None,
                 "$or": [{"lease_until": None}, {"lease_until": {"$lt": now}}, {"lease_owner": owner}]},
                {"$set": {"lease_owner": owner, "lease_until": now + lease_seconds}},
            )
            docs = self.outbox.find({"_id": {"$in": ids}, "lease_owner": owner}).sort("seq", ASCENDING)
            return [OutboxRecord(d["seq"], d["_id"], d["type"], d["correlation_id"], d["body"]) for d in docs]

    def mark_published(self, event_ids, now):
        if event_ids:
            with unavailable_as_store_error():
                self.outbox.update_many(
                    {"_id": {"$in": list(event_ids)}},
                    {"$set": {"published_at": now, "lease_owner": None, "lease_until": None}},
                )

    def release(self, owner, event_ids):
        if event_ids:
            with unavailable_as_store_error():
                self.outbox.update_many(
                    {"_id": {"$in": list(event_ids)}, "lease_owner": owner, "published_at": None},
                    {"$set": {"lease_owner": None, "lease_until": None}},
                )

    def backlog(self):
        with unavailable_as_store_error():
            return self.outbox.count_documents({"published_at": None})

    def get(self, event_id):
        with unavailable_as_store_error():
            doc = self.outbox.find_one({"_id": event_id})
        if doc is None:
            return None
        return {"event": doc["body"], "published": doc["published_at"] is not None}

    def close(self):
        self.client.close()
