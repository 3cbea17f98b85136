"""The monitor store on MongoDB: single-document atomic updates only ($inc / $max upserts, versioned
dead letters), no transactions, no change streams."""

from childlink_common.mongo import SERVER_SELECTION_TIMEOUT_MS, connect, unavailable_as_store_error
from pymongo import ASCENDING, DESCENDING, UpdateOne
from pymongo.errors import DuplicateKeyError

from ..flows import MINUTE_FIELDS

COUNT_FIELDS = tuple(f for f in MINUTE_FIELDS if not f.endswith("_max"))
MAX_FIELDS = tuple(f for f in MINUTE_FIELDS if f.endswith("_max"))
FILTER_FIELDS = ("department", "type", "reason", "queue", "status", "event_id")


def _plain(doc):
    return {k: v for k, v in doc.items() if k != "_id"} if doc else None


class MongoMonitorStore:
    def __init__(self, uri, database="childlink_monitor", server_selection_timeout_ms=SERVER_SELECTION_TIMEOUT_MS):
        self.client, self.db = connect(uri, database, server_selection_timeout_ms)
        self.minutes = self.db["flow_minutes"]
        self.flow_docs = self.db["flows"]
        self.outbox = self.db["outbox_minutes"]
        self.dead = self.db["dead_letters"]
        self.replay_docs = self.db["replays"]
        with unavailable_as_store_error():
            self.minutes.create_index([("minute", ASCENDING)])
            self.minutes.create_index([("department", ASCENDING), ("type", ASCENDING), ("minute", ASCENDING)])
            self.outbox.create_index([("minute", ASCENDING)])
            self.dead.create_index([("received_at", DESCENDING), ("_id", DESCENDING)])
            self.dead.create_index([("status", ASCENDING), ("received_at", DESCENDING)])
            self.dead.create_index([("event_id", ASCENDING)])
            self.replay_docs.create_index([("dl_id", ASCENDING), ("at", DESCENDING)])
            self.replay_docs.create_index([("at", DESCENDING)])

    # --- flows -------------------------------------------------------------------------------------

    def add_flow_minutes(self, deltas):
        if not deltas:
            return
        ops = []
        for d in deltas:
            key = f"{d['department']}|{d['type']}|{int(d['minute'])}"
            ops.append(UpdateOne(
                {"_id": key},
                {"$setOnInsert": {"department": d["department"], "type": d["type"], "minute": int(d["minute"])},
                 "$inc": {f: d.get(f) or 0 for f in COUNT_FIELDS},
                 "$max": {f: float(d.get(f) or 0.0) for f in MAX_FIELDS}},
                upsert=True))
        with unavailable_as_store_error():
            self.minutes.bulk_write(ops, ordered=True)

    def touch_flows(self, touches):
        with unavailable_as_store_error():
            for t in touches:
                key = f"{t['department']}|{t['type']}"
                maxes = {f: t[f] for f in ("last_seen", "last_stored", "last_failure") if t.get(f) is not None}
                self.flow_docs.update_one(
                    {"_id": key}, {"$setOnInsert": {"department": t["department"], "type": t["type"]},
                                   **({"$max": maxes} if maxes else {})}, upsert=True)
                # the value that goes with the instant: set only if this touch's instant is still the latest
                if t.get("last_seen") is not None:
                    self.flow_docs.update_one({"_id": key, "last_seen": {"$lte": t["last_seen"]}},
                                              {"$set": {"last_event_id": t.get("last_event_id")}})
                if t.get("last_stored") is not None:
                    self.flow_docs.update_one({"_id": key, "last_stored": {"$lte": t["last_stored"]}},
                                              {"$set": {"last_lag_pipeline": t.get("last_lag_pipeline")}})

    def flow_minutes(self, since_minute, department=None, type=None):
        query = {"minute": {"$gte": int(since_minute)}}
        if department is not None:
            query["department"] = department
        if type is not None:
            query["type"] = type
        with unavailable_as_store_error():
            docs = self.minutes.find(query).sort([("department", ASCENDING), ("type", ASCENDING),
                                                  ("minute", ASCENDING)])
            return [self._minute(doc) for doc in docs]

    @staticmethod
    def _minute(doc):
        row = _plain(doc)
        for name in (*COUNT_FIELDS, *MAX_FIELDS):
            row.setdefault(name, 0)
        return row

    def flows(self):
        fields = ("last_seen", "last_event_id", "last_stored", "last_lag_pipeline", "last_failure")
        with unavailable_as_store_error():
            docs = self.flow_docs.find({}).sort([("department", ASCENDING), ("type", ASCENDING)])
            return [{"department": d["department"], "type": d["type"], **{f: d.get(f) for f in fields}}
                    for d in docs]

    def prune(self, before_minute):
        with unavailable_as_store_error():
            gone = self.minutes.delete_many({"minute": {"$lt": int(before_minute)}}).deleted_count
            gone += self.outbox.delete_many({"minute": {"$lt": int(before_minute)}}).deleted_count
        return gone

    # --- outbox samples ------------------------------------------------------------------------------

    def record_backlog(self, service, minute, backlog):
        with unavailable_as_store_error():
            self.outbox.update_one(
                {"_id": f"{service}|{int(minute)}"},
                {"$setOnInsert": {"service": service, "minute": int(minute)},
                 "$max": {"max_backlog": int(backlog)}, "$set": {"last_backlog": int(backlog)}},
                upsert=True)

    def backlog_minutes(self, since_minute, service=None):
        query = {"minute": {"$gte": int(since_minute)}}
        if service is not None:
            query["service"] = service
        with unavailable_as_store_error():
            docs = self.outbox.find(query).sort([("service", ASCENDING), ("minute", ASCENDING)])
            return [_plain(doc) for doc in docs]

    # --- dead letters -------------------------------------------------------------------------------

    def add_dead_letter(self, record):
        doc = {"_id": record["dl_id"], **record, "version": record.get("version", 1)}
        with unavailable_as_store_error():
            try:
                self.dead.insert_one(doc)
                return True
            except DuplicateKeyError:
                return False

    def dead_letter(self, dl_id):
        with unavailable_as_store_error():
            return _plain(self.dead.find_one({"_id": dl_id}))

    def find_dead_letters(self, filters, offset=0, limit=50):
        query = {f: filters[f] for f in FILTER_FIELDS if (filters or {}).get(f) is not None}
        with unavailable_as_store_error():
            total = self.dead.count_documents(query)
            docs = self.dead.find(query).sort([("received_at", DESCENDING), ("_id", DESCENDING)]) \
                .skip(int(offset)).limit(int(limit))
            return total, [_plain(doc) for doc in docs]

    def transition(self, dl_id, version, changes, history):
        changes = {k: v for k, v in changes.items() if k not in ("_id", "dl_id", "version", "history")}
        with unavailable_as_store_error():
            result = self.dead.update_one(
                {"_id": dl_id, "version": version},
                {"$set": {**changes, "version": version + 1}, "$push": {"history": history}})
            if result.modified_count != 1:
                return None
            return _plain(self.dead.find_one({"_id": dl_id}))

    def dead_letter_counts(self):
        counts = {}
        with unavailable_as_store_error():
            for doc in self.dead.find({}, {"department": 1, "type": 1, "reason": 1, "status": 1}):
                key = (doc.get("department"), doc.get("type"), doc.get("reason"), doc.get("status"))
                counts[key] = counts.get(key, 0) + 1
        return [{"department": k[0], "type": k[1], "reason": k[2], "status": k[3], "count": n}
                for k, n in sorted(counts.items(), key=lambda kv: tuple(str(x) for x in kv[0]))]

    # --- replays ------------------------------------------------------------------------------------

    def add_replay(self, replay):
        with unavailable_as_store_error():
            try:
                self.replay_docs.insert_one({"_id": replay["replay_id"], **replay})
            except DuplicateKeyError:
                pass

    def replays(self, dl_id=None, limit=50):
        query = {} if dl_id is None else {"dl_id": dl_id}
        with unavailable_as_store_error():
            docs = self.replay_docs.find(query).sort([("at", DESCENDING), ("_id", DESCENDING)]).limit(int(limit))
            return [_plain(doc) for doc in docs]

    def close(self):
        self.client.close()
