"""The monitor itself, without nameko: what the taps feed in, what operators read and do.

`MonitorApp` holds the store, the flow book, the broker's management API, the outbox watch and the
replayer. The nameko service (service.py) feeds it from the tap thread, polls it from a timer thread
and exposes its read and action methods over RPC to the gateway's operator pages. Every answer is
plain JSON-able data with no child data in it: ids, types, counts, times.
"""

import collections
import re
import threading
import time
import uuid

from childlink_common.logs import get_logger

from . import alerts as rules
from . import dead_letters as dl
from . import flows, redaction
from .management import ManagementUnavailable
from .tap import SOURCES

log = get_logger(__name__)

ACTION_ROLES = frozenset({"operator"})
MAX_BATCH = 500
REPLAYING_STALE_S = 60.0
PRUNE_EVERY_S = 3600.0
# when each recent event was seen on its exchange, for the pipeline lag: bounded, oldest forgotten
SIGHTINGS = 200_000
# queues whose missing consumer is no alarm: nameko's RPC reply queues come and go with their callers
QUIET_QUEUES = re.compile(r"^(rpc\.reply-|amq\.)")


def refusal(code, message, field=None):
    return {"ok": False, "error": {"code": code, "message": message, "field": field}}


def may_act(viewer, roles=ACTION_ROLES):
    return isinstance(viewer, dict) and viewer.get("role") in roles


def _actor(viewer):
    return {"user_id": (viewer or {}).get("user_id"), "role": (viewer or {}).get("role")}


class MonitorApp:
    def __init__(self, store, *, management=None, outboxes=None, replayer=None, thresholds=None,
                 clock=time.time, raw_view_roles=redaction.RAW_VIEW_ROLES, action_roles=ACTION_ROLES,
                 sources=SOURCES):
        self.store = store
        self.management = management
        self.outboxes = outboxes
        self.replayer = replayer
        self.thresholds = thresholds or rules.Thresholds()
        self.clock = clock
        self.raw_view_roles = frozenset(raw_view_roles)
        self.action_roles = frozenset(action_roles)
        self.sources = tuple(sources)
        self.book = flows.FlowBook()
        self._book_lock = threading.Lock()
        self.sightings = collections.OrderedDict()
        self._idle_since = {}  # queue -> when the monitor first saw it without consumers
        self.queues = []
        self.broker_error = "not polled yet" if management is not None else None
        self.backlogs = {}
        self.latest = None  # the last snapshot, for /metrics and cheap reads
        self._last_prune = 0.0

    # --- fed by the taps ---------------------------------------------------------------------------

    def on_event(self, department, type_, event_id, at):
        with self._book_lock:
            self.book.seen(department, type_, at, event_id)
            if event_id:
                self.sightings[event_id] = at
                if len(self.sightings) > SIGHTINGS:
                    self.sightings.popitem(last=False)

    def on_notice(self, notice):
        """A `timeline.stored` notice from the referral service: what it stored and what failed."""
        with self._book_lock:
            for item in notice.get("stored") or []:
                stored_at = float(item["stored_at"])
                self.book.stored(item.get("department") or "unknown", item.get("type") or "unknown", stored_at,
                                 flows.parse_instant(item.get("occurred_at")),
                                 flows.parse_instant(item.get("recorded_at")),
                                 self.sightings.pop(item.get("event_id"), None))
            for item in notice.get("failed") or []:
                self.book.failed(item.get("department") or "unknown", item.get("type") or "unknown",
                                 float(item.get("at") or self.clock()))

    def on_dead_letter(self, raw, headers, properties, delivery_info):
        try:
            record = dl.record_from_message(raw, headers, properties, delivery_info, self.clock())
        except Exception as exc:  # noqa: BLE001 - keep what can be kept rather than block the queue
            log.error("monitor.dead_letter_unparsed", error=repr(exc))
            record = dl.record_from_message(raw if isinstance(raw, bytes) else str(raw).encode("utf-8", "replace"),
                                            {}, {}, delivery_info, self.clock())
            record["reason"], record["error"] = "unparsed_dead_letter", f"{type(exc).__name__}: {exc}"[:500]
        if self.store.add_dead_letter(record):
            with self._book_lock:
                self.book.dead_lettered(record["department"] or "unknown", record["type"] or "unknown", self.clock())
            log.warning("monitor.dead_letter", dl_id=record["dl_id"], event_id=record["event_id"],
                        correlation_id=record["correlation_id"], department=record["department"],
                        type=record["type"], reason=record["reason"], queue=record["queue"],
                        attempts=record["attempts"])
        return record

    def flush(self):
        with self._book_lock:
            minutes, touches = self.book.drain()
        if not minutes and not touches:
            return 0
        try:
            self.store.touch_flows([t.as_dict() for t in touches])
            self.store.add_flow_minutes([m.as_dict() for m in minutes])
        except Exception:
            with self._book_lock:
                self.book.restore(minutes, touches)
            raise
        return len(minutes)

    # --- polled ------------------------------------------------------------------------------------

    def poll(self):
        now = self.clock()
        if self.management is not None:
            try:
                queues = self.management.queues()
                self.broker_error = None
                for queue in queues:
                    if queue["consumers"]:
                        self._idle_since.pop(queue["name"], None)
                    else:
                        queue["idle_for_s"] = round(now - self._idle_since.setdefault(queue["name"], now), 1)
                self.queues = queues
            except ManagementUnavailable as exc:
                self.broker_error = str(exc) or "unavailable"
        if self.outboxes is not None:
            self.backlogs = self.outboxes.poll(now)
            for service, info in self.backlogs.items():
                if info.get("ok"):
                    self.store.record_backlog(service, flows.minute_of(now), info["backlog"])
        if now - self._last_prune > PRUNE_EVERY_S:
            self.store.prune(flows.minute_of(now) - flows.WINDOW_MINUTES)
            self._last_prune = now
        self.latest = self.snapshot(now)
        return self.latest

    # --- reading -----------------------------------------------------------------------------------

    def _open_dead_letters(self):
        counts = {}
        for row in self.store.dead_letter_counts():
            if row["status"] in dl.REPLAYABLE or row["status"] == "replaying":
                name = row["department"] or "unknown"
                counts[name] = counts.get(name, 0) + row["count"]
        return counts

    def snapshot(self, now=None):
        """Every department's flows, the broker's queues, the outboxes, the dead letters, and the alerts."""
        now = self.clock() if now is None else now
        since = flows.minute_of(now) - flows.WINDOW_MINUTES + 1
        rows = self.store.flow_minutes(since)
        touches = {(f["department"], f["type"]): f for f in self.store.flows()}
        by_flow = {}
        for row in rows:
            by_flow.setdefault((row["department"], row["type"]), []).append(row)
        open_dead = self._open_dead_letters()
        queues = {q["name"]: q for q in self.queues}
        names = list(self.sources) + sorted({d for d, _ in (*by_flow, *touches)} - set(self.sources))
        departments, flow_views, silence_input = [], [], {}
        for name in names:
            keys = sorted({k for k in (*by_flow, *touches) if k[0] == name})
            dept_rows = [r for k in keys for r in by_flow.get(k, [])]
            active = [r["minute"] for r in dept_rows if r.get("seen")]
            usual = flows.usual_gap_s(active)
            last_seen = max((touches[k]["last_seen"] for k in keys if k in touches and touches[k]["last_seen"]),
                            default=None)
            silence_input[name] = {"last_seen": last_seen, "usual_gap_s": usual}
            types = []
            for key in keys:
                view = self._flow_view(key, by_flow.get(key, []), touches.get(key), now)
                types.append(view)
                flow_views.append(view)
            total = flows.totals(dept_rows)
            departments.append({
                "name": name,
                "last_seen": flows.iso(last_seen),
                "last_seen_ago_s": None if last_seen is None else round(now - last_seen, 1),
                "rate_per_min": round(flows.rate_per_minute(dept_rows, now), 2),
                "seen_1h": sum(flows.series(dept_rows, now, 60)),
                "seen_24h": total["seen"], "stored_24h": total["stored"], "failures_24h": total["failures"],
                "dead_letters_24h": total["dead_letters"],
                "series": flows.series(dept_rows, now, 60),
                "usual_gap_s": usual,
                "silence_after_s": flows.silence_threshold_s(usual, self.thresholds.silence_floor_s,
                                                             self.thresholds.silence_factor),
                "lag": flows.recent_lag(dept_rows, now, self.thresholds.lag_window_minutes),
                "dead_letters_open": open_dead.get(name, 0),
                "queue": queues.get(f"referral.{name}.events"),
                "tap_queue": queues.get(f"monitor.{name}.events"),
                "outbox": self._outbox_view(name),
                "types": types,
            })
        watched = [q for q in self.queues if not QUIET_QUEUES.match(q["name"] or "")]
        snapshot = {
            "departments": departments,
            "queues": self.queues,
            "broker_error": self.broker_error,
            "backlogs": {k: self._outbox_view(k) for k in self.backlogs},
            "open_dead_letters": open_dead,
        }
        found = rules.evaluate({**snapshot, "departments": silence_input, "flows": flow_views,
                                "queues": watched}, now, self.thresholds)
        status_of = {}
        for alert in found:  # most severe first: that one names the status
            status_of.setdefault(alert.subject, alert.kind)
        for department in departments:
            department["status"] = self._status(department, status_of)
        snapshot["alerts"] = [a.as_dict() for a in found]
        snapshot["generated_at"] = flows.iso(now)
        snapshot["now"] = now
        snapshot["thresholds"] = self.thresholds.__dict__
        return snapshot

    @staticmethod
    def _status(department, status_of):
        name = department["name"]
        kind = status_of.get(name)
        if kind in ("outbox_unreachable", "dead_letters", "outbox_growing", "silent"):
            return kind
        if any(status_of.get(f"{name}/{t['type']}") == "lag" for t in department["types"]):
            return "lag"
        queue = department.get("queue")
        if queue and status_of.get(queue["name"]) == "no_consumers":
            return "no_consumers"
        return "no_traffic" if department["last_seen"] is None else "ok"

    def _flow_view(self, key, rows, touch, now):
        total = flows.totals(rows)
        touch = touch or {}
        return {
            "department": key[0], "type": key[1],
            "last_seen": flows.iso(touch.get("last_seen")), "last_event_id": touch.get("last_event_id"),
            "last_stored": flows.iso(touch.get("last_stored")),
            "last_lag_pipeline_s": touch.get("last_lag_pipeline"),
            "last_failure": flows.iso(touch.get("last_failure")),
            "rate_per_min": round(flows.rate_per_minute(rows, now), 2),
            "seen_1h": sum(flows.series(rows, now, 60)),
            "seen_24h": total["seen"], "stored_24h": total["stored"], "failures_24h": total["failures"],
            "dead_letters_24h": total["dead_letters"],
            **{f"{lag}_{part}_s": total[f"{lag}_{part}"] for lag in flows.LAGS for part in ("avg", "max")},
            "recent_lag": flows.recent_lag(rows, now, self.thresholds.lag_window_minutes),
        }

    def _outbox_view(self, name):
        info = self.backlogs.get(name)
        if info is None:
            return None
        return {"ok": bool(info.get("ok")), "backlog": info.get("backlog"), "error": info.get("error"),
                "failures": info.get("failures", 0),
                "history": list(info.get("history") or [])[-20:], "relay": info.get("relay") or {}}

    def overview(self):
        return self.snapshot()

    def alerts(self):
        return self.snapshot()["alerts"]

    def flow(self, department, type_=None, minutes=60, bucket_minutes=1):
        """Per-minute (or per-bucket) series of one department or one of its types, for the charts."""
        now = self.clock()
        minutes = max(1, min(int(minutes), flows.WINDOW_MINUTES))
        bucket = max(1, min(int(bucket_minutes), minutes))
        rows = self.store.flow_minutes(flows.minute_of(now) - minutes + 1, department, type_)
        out = {"department": department, "type": type_, "minutes": minutes, "bucket_minutes": bucket,
               "end": flows.iso(flows.minute_of(now) * flows.MINUTE_S + flows.MINUTE_S), "series": {}}
        for name in flows.COUNTERS:
            out["series"][name] = _bucketed(flows.series(rows, now, minutes, name), bucket)
        for lag in flows.LAGS:
            sums = _bucketed(flows.series(rows, now, minutes, f"{lag}_sum"), bucket)
            counts = _bucketed(flows.series(rows, now, minutes, f"{lag}_count"), bucket)
            out["series"][f"{lag}_avg"] = [round(s / n, 3) if n else None for s, n in zip(sums, counts)]
        backlog = self.store.backlog_minutes(flows.minute_of(now) - minutes + 1, department)
        out["series"]["outbox_backlog"] = _bucketed_max(
            flows.series(backlog, now, minutes, "max_backlog"), bucket) if backlog else None
        out["types"] = sorted({r["type"] for r in rows})
        out["totals"] = flows.totals(rows)
        return out

    # --- dead letters -----------------------------------------------------------------------------

    def dead_letters(self, filters=None, page=1, page_size=50):
        page = max(1, int(page or 1))
        page_size = max(1, min(int(page_size or 50), 200))
        filters = dl.normalise_filters(filters)
        total, records = self.store.find_dead_letters(filters, (page - 1) * page_size, page_size)
        return {"ok": True, "total": total, "page": page, "page_size": page_size, "filters": filters,
                "items": [dl.summary(r) for r in records], "counts": self.store.dead_letter_counts()}

    def dead_letter(self, dl_id, viewer=None, raw=False):
        record = self.store.dead_letter(str(dl_id))
        if record is None:
            return refusal("not_found", f"no dead letter {dl_id}")
        if raw and not redaction.may_see_raw(viewer, record.get("department"), self.raw_view_roles):
            return refusal("forbidden", "this role may not open the raw message")
        if raw:
            log.warning("monitor.raw_view", dl_id=dl_id, event_id=record.get("event_id"), **_actor(viewer))
        return {"ok": True, "dead_letter": dl.detail(record, raw=raw), "replays": self.store.replays(record["dl_id"]),
                "may_see_raw": redaction.may_see_raw(viewer, record.get("department"), self.raw_view_roles),
                "may_act": may_act(viewer, self.action_roles)}

    def _selection(self, dl_ids, filters, statuses):
        if dl_ids:
            return [str(i) for i in dl_ids][:MAX_BATCH]
        filters = dl.normalise_filters(filters)
        chosen = []
        for status in ([filters["status"]] if filters.get("status") else statuses):
            _, records = self.store.find_dead_letters({**filters, "status": status}, 0, MAX_BATCH - len(chosen))
            chosen += [r["dl_id"] for r in records]
        return chosen[:MAX_BATCH]

    def _replayable(self, record, now):
        if record["status"] in dl.REPLAYABLE:
            return True
        if record["status"] == "replaying":  # a replay that never finished (the monitor stopped mid-way)
            started = flows.parse_instant((record.get("history") or [{}])[-1].get("at"))
            return started is None or now - started > REPLAYING_STALE_S
        return False

    def replay(self, viewer, dl_ids=None, filters=None):
        """Send each chosen dead letter back to its queue; every outcome recorded and returned."""
        if not may_act(viewer, self.action_roles):
            return refusal("forbidden", "only operators replay dead letters")
        if not dl_ids and not filters:
            return refusal("invalid", "choose dead letters or give a filter", "dl_ids")
        batch_id = str(uuid.uuid4())
        results = []
        for dl_id in self._selection(dl_ids, filters, dl.REPLAYABLE):
            results.append(self._replay_one(dl_id, viewer, batch_id))
        counts = {}
        for result in results:
            counts[result["outcome"]] = counts.get(result["outcome"], 0) + 1
        log.info("monitor.replayed", batch_id=batch_id, counts=counts, **_actor(viewer))
        return {"ok": True, "batch_id": batch_id, "results": results, "counts": counts}

    def _replay_one(self, dl_id, viewer, batch_id):
        now = self.clock()
        record = self.store.dead_letter(dl_id)
        if record is None:
            return {"dl_id": dl_id, "outcome": "not_found"}
        if not self._replayable(record, now) or not record.get("queue"):
            return {"dl_id": dl_id, "event_id": record.get("event_id"), "outcome": "skipped",
                    "status": record["status"]}
        replay_id = str(uuid.uuid4())
        at = dl.now_iso(now)
        actor = _actor(viewer)
        claimed = self.store.transition(dl_id, record["version"], {"status": "replaying"},
                                        {"at": at, "action": "replay_started", "replay_id": replay_id, **actor})
        if claimed is None:
            return {"dl_id": dl_id, "event_id": record.get("event_id"), "outcome": "skipped", "status": "changed"}
        replays = int(record.get("replays") or 0) + 1
        headers = dl.replay_headers(record.get("headers"), replay_id, at, replays)
        error = None
        try:
            self.replayer.publish(record["queue"], dl.raw_body(record), headers, record.get("properties") or {})
            outcome = "confirmed"
        except Exception as exc:  # noqa: BLE001 - shown to the operator, the dead letter stays replayable
            outcome, error = "failed", f"{type(exc).__name__}: {exc}"[:500]
        done_at = dl.now_iso(self.clock())
        self.store.add_replay({"replay_id": replay_id, "batch_id": batch_id, "dl_id": dl_id,
                               "event_id": record.get("event_id"), "queue": record["queue"], "at": done_at,
                               "by": actor["user_id"], "role": actor["role"], "outcome": outcome, "error": error})
        self.store.transition(dl_id, claimed["version"],
                              {"status": "replayed" if outcome == "confirmed" else "replay_failed",
                               "replays": replays, "last_replay_at": done_at},
                              {"at": done_at, "action": "replay", "replay_id": replay_id, "outcome": outcome,
                               "error": error, **actor})
        log.info("monitor.replay", dl_id=dl_id, replay_id=replay_id, event_id=record.get("event_id"),
                 correlation_id=record.get("correlation_id"), queue=record["queue"], outcome=outcome, error=error)
        return {"dl_id": dl_id, "event_id": record.get("event_id"), "replay_id": replay_id, "outcome": outcome,
                "error": error, "queue": record["queue"]}

    def discard(self, viewer, reason, dl_ids=None, filters=None):
        if not may_act(viewer, self.action_roles):
            return refusal("forbidden", "only operators discard dead letters")
        reason = (reason or "").strip()
        if not reason:
            return refusal("invalid", "a reason is required to discard", "reason")
        if not dl_ids and not filters:
            return refusal("invalid", "choose dead letters or give a filter", "dl_ids")
        reason = redaction.mask_text(reason, 500)
        actor = _actor(viewer)
        results = []
        for dl_id in self._selection(dl_ids, filters, dl.REPLAYABLE):
            record = self.store.dead_letter(dl_id)
            if record is None:
                results.append({"dl_id": dl_id, "outcome": "not_found"})
                continue
            if record["status"] not in dl.REPLAYABLE:
                results.append({"dl_id": dl_id, "outcome": "skipped", "status": record["status"]})
                continue
            at = dl.now_iso(self.clock())
            changed = self.store.transition(dl_id, record["version"],
                                            {"status": "discarded", "discarded_at": at, "discard_reason": reason},
                                            {"at": at, "action": "discard", "reason": reason, **actor})
            results.append({"dl_id": dl_id, "event_id": record.get("event_id"),
                            "outcome": "discarded" if changed else "skipped"})
            if changed:
                log.warning("monitor.discarded", dl_id=dl_id, event_id=record.get("event_id"),
                            correlation_id=record.get("correlation_id"), reason=reason, **actor)
        counts = {}
        for result in results:
            counts[result["outcome"]] = counts.get(result["outcome"], 0) + 1
        return {"ok": True, "results": results, "counts": counts}

    def replays(self, limit=50):
        return self.store.replays(None, max(1, min(int(limit), 500)))


def _bucketed(values, size):
    return [sum(values[i:i + size]) for i in range(0, len(values), size)]


def _bucketed_max(values, size):
    return [max(values[i:i + size]) for i in range(0, len(values), size)]
