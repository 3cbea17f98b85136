"""The reliability suite's machinery: a scenario's own vhost on the private broker, the real services
started on it, a stream of simulated events sent through the ingest APIs, and the books kept on what
was accepted, published, confirmed, consumed, suppressed as duplicate, dead-lettered and lost.

"Lost" is the one figure that must be zero: event ids a department answered 202 for (status
"accepted" or "duplicate", both meaning "stored") that are not in the referral store's timeline.
The referral store is read straight from its SQLite file (read-only): the suite runs the embedded
store, and that file is the ground truth of what the referral service kept.
"""

import datetime as dt
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import requests
from childlink_common import topology
from childlink_common.testing.private_broker import Watchdog
from childlink_common.testing.services import DEPARTMENTS, SERVICES, STAFF_KEY, System, api_key
from childlink_tools.client import IngestClient, IngestError
from childlink_tools.dataset import generate_dataset
from kombu import Connection, Producer

SCALE = os.environ.get("RELIABILITY_SCALE", "short")
# children: simulated children per scenario (about 35 events each); rate: events/s the stream sends
SIZES = {
    "short": {"children": 7, "seed": 20261103, "rate": 60, "burst": 20, "store_outage_s": 5,
              "fuzz_examples": 150, "http_fuzz_examples": 40},
    "full": {"children": 60, "seed": 20261101, "rate": 80, "burst": 300, "store_outage_s": 30,
             "fuzz_examples": 1500, "http_fuzz_examples": 300},
}
SIZE = SIZES[SCALE]
NOW = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))
ARTIFACTS = Path(os.environ.get("RELIABILITY_ARTIFACTS", Path(__file__).resolve().parents[2] / "var" / "reliability"))
# Byte-code cached outside the source tree: a service process starts in ~1 s instead of ~3 s here
# (this machine sets PYTHONDONTWRITEBYTECODE, so every start would compile everything again).
FAST_START = {"PYTHONDONTWRITEBYTECODE": "", "PYTHONPYCACHEPREFIX": str(ARTIFACTS / "pycache")}
# The referral's housekeeping timer (expiry of overdue referrals, due reviews) off for a scenario's
# length: it races the arrival of late history. A referral the rules raise on a partial history with
# a due date already past (a DSPM delay screened in 2022, its rescreen still on its way) is expired at
# the next tick, and an expired referral is no longer withdrawn when the rescreen arrives a second
# later; taken in order, the rescreen comes first and no referral is left. A timing effect of the
# referral workflow (see the report), not of delivery: the suite compares the rules' outcomes.
REFERRAL_TIMER = {"REFERRAL_TIMER_INTERVAL_S": "86400"}
CONSUMER_QUEUES = [topology.referral_queue(d).name for d in DEPARTMENTS]


_datasets = {}
SAVED = []  # every scenario's figures line, this session


def dataset(children=None, seed=None):
    """The simulator's events and ground truth, made once per size and seed. The default seeds give
    corrections and retractions to reorder (scenario 4)."""
    key = (children or SIZE["children"], seed or SIZE["seed"])
    if key not in _datasets:
        found = generate_dataset(key[0], key[1], NOW)
        for other in range(key[1] + 1, key[1] + 30 if seed is None else key[1]):
            if found.delivery.corrections and found.delivery.retractions:
                break  # should the simulator change, the next seed that still has both
            found = generate_dataset(key[0], other, NOW)
        _datasets[key] = found
    return _datasets[key]


@dataclass
class Figures:
    scenario: str
    scale: str = SCALE
    sent: int = 0  # events posted to the ingest APIs, repeats included
    accepted: int = 0  # distinct events (department, event_id) answered 202 ("accepted" or "duplicate")
    ingest_duplicates: int = 0  # 202 answers with status "duplicate" (suppressed at the outbox)
    rejected: int = 0  # events named in a 4xx answer
    published: int = 0  # publishes the relays sent, confirmed or not
    confirmed: int = 0  # publishes the broker confirmed (and routed)
    consumed: int = 0  # deliveries the referral handled: applied + duplicates
    applied: int = 0  # distinct events in the referral timeline
    duplicates_suppressed: int = 0  # deliveries the referral recognised by event_id and did not apply
    dead_lettered: int = 0  # messages in the dead-letter queue
    lost: int = 0  # accepted, yet not in the timeline
    recovery_s: float | None = None  # fault over -> everything accepted before then in the timeline
    duration_s: float = 0.0
    notes: dict = field(default_factory=dict)

    def line(self):
        recovery = "-" if self.recovery_s is None else f"{self.recovery_s:.1f}s"
        return (f"[{self.scenario}] sent={self.sent} accepted={self.accepted} published={self.published} "
                f"confirmed={self.confirmed} consumed={self.consumed} applied={self.applied} "
                f"duplicates_suppressed={self.duplicates_suppressed} (ingest {self.ingest_duplicates}) "
                f"dead_lettered={self.dead_lettered} lost={self.lost} recovery={recovery} "
                f"duration={self.duration_s:.1f}s {json.dumps(self.notes, ensure_ascii=False)}")

    def save(self):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / f"{SCALE}-{self.scenario}.json").write_text(json.dumps(asdict(self), indent=2))
        SAVED.append(self.line())  # shown at the end of the session (conftest), passed or failed
        print(self.line())


class Run:
    """One scenario: a fresh vhost on the private broker, a fresh data folder, the services on them."""

    def __init__(self, broker, work_dir, name, services=SERVICES, env=None):
        self.broker = broker
        self.name = name
        self.work_dir = Path(work_dir)
        self.vhost = f"rel-{name}-{uuid.uuid4().hex[:6]}"
        broker.management(f"vhosts/{self.vhost}", method="PUT")
        broker.management(f"permissions/{self.vhost}/guest", method="PUT",
                           json={"configure": ".*", "write": ".*", "read": ".*"})
        self.amqp_uri = f"{broker.amqp_uri}{self.vhost}"
        env = {name: {**FAST_START, **REFERRAL_TIMER, **(env or {}).get(name, {})} for name in services}
        self.system = System(self.amqp_uri, self.work_dir, services=services, env=env)
        self.accepted = {}  # event_id -> department, every id answered 202
        self.accepted_pairs = set()  # (department, event_id): each is stored and published once
        self.answers = Counter()  # "accepted", "duplicate", "rejected", "failed"
        self.sent = 0
        self._lock = threading.Lock()
        self.started_at = time.monotonic()

    # --- services ---------------------------------------------------------------------------------

    def start(self, names=None):
        names = list(names or self.system.processes)
        for name in names:
            self.system[name].start()
            Watchdog.get().watch(self.system[name].process.pid, "nameko run")
        for name in names:
            self.system[name].wait_healthy(90)
        return self

    def restart(self, name):
        """Start a service again (after a kill), on the same port and data folder."""
        return self.start([name])

    def stop(self, timeout=15):
        """SIGTERM to every service at once (nameko finishes its workers), then wait for them all."""
        running = [p.process for p in self.system.processes.values() if p.process and p.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in running:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for process in self.system.processes.values():
            if process.process is not None:
                Watchdog.get().forget(process.process.pid)

    def logs_tail(self, chars=3000):
        return "\n".join(f"----- {name} log (tail) -----\n{process.logs()[-chars:]}"
                         for name, process in self.system.processes.items())

    # --- sending ----------------------------------------------------------------------------------

    def _record(self, department, events, answer=None, error=None):
        with self._lock:
            self.sent += len(events)
            if answer is not None:
                for item in answer["accepted"]:
                    self.answers[item["status"]] += 1
                    self.accepted[item["event_id"]] = department
                    self.accepted_pairs.add((department, item["event_id"]))
            elif error is not None:
                kind = "rejected" if error.status and 400 <= error.status < 500 else "failed"
                self.answers[kind] += len(events)

    def post(self, department, events, client=None):
        """POST one batch; record the answer. Returns the 202 body or the IngestError."""
        own = client is None
        client = client or IngestClient(self.system[department].url, api_key(department), timeout=30)
        try:
            answer = client.send(events)
        except IngestError as error:
            self._record(department, events, error=error)
            return error
        finally:
            if own:
                client.close()
        self._record(department, events, answer=answer)
        return answer

    def send(self, events, batch_size=25, rate=None, progress=None, stop=None):
        """Send [(department, event)] in order, batched per department; at most `rate` events/s."""
        clients = {d: IngestClient(self.system[d].url, api_key(d), timeout=30, retries=8) for d in DEPARTMENTS}
        pending = {d: [] for d in DEPARTMENTS}
        started, done = time.monotonic(), 0

        def flush(department):
            nonlocal done
            batch = pending[department]
            if not batch:
                return
            pending[department] = []
            if rate:
                ahead = started + done / rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
            self.post(department, batch, clients[department])
            done += len(batch)
            if progress is not None:
                progress(done)

        try:
            for department, event in events:
                if stop is not None and stop.is_set():
                    break
                batch = pending[department]
                if len(batch) >= batch_size or any(e["event_id"] == event["event_id"] for e in batch):
                    flush(department)
                pending[department].append(event)
            for department in DEPARTMENTS:
                flush(department)
        finally:
            for client in clients.values():
                client.close()

    def stream(self, events, rate, batch_size=25):
        """Send in a background thread; returns a Stream to watch and join."""
        return Stream(self, events, rate, batch_size).start()

    # --- the broker, directly -----------------------------------------------------------------------

    def publish_raw(self, department, bodies, *, content_type="application/json", routing_key=None,
                    message_ids=None):
        """Publish straight onto a department's exchange (as a relay would, or as a rogue producer)."""
        exchange = topology.events_exchange(department)
        with Connection(self.amqp_uri, transport_options={"confirm_publish": True}) as connection:
            channel = connection.channel()
            topology.declare_all(channel)
            producer = Producer(channel, exchange=exchange)
            for index, body in enumerate(bodies):
                raw = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":"))
                event_id = (message_ids[index] if message_ids else
                            body.get("event_id") if isinstance(body, dict) else None)
                producer.publish(raw, routing_key=routing_key or (body.get("type", "x.y") if isinstance(
                    body, dict) else "poison.message"), content_type=content_type,
                    content_encoding="utf-8", delivery_mode=2, mandatory=True,
                    message_id=event_id or str(uuid.uuid4()), retry=False)

    def queue_depths(self):
        """Messages ready per queue (not counting those delivered and not yet acked), exact: passive
        declares, not the management API's figures, which lag by up to its statistics interval."""
        names = [*CONSUMER_QUEUES, topology.DEAD_LETTER_QUEUE, "referral.referral.events"]
        depths = {}
        with Connection(self.amqp_uri) as connection:
            for name in names:
                channel = connection.channel()
                try:
                    _, ready, _ = channel.queue_declare(name, passive=True)
                except Exception:  # noqa: BLE001, S112 - not declared (yet): the broker closed the channel
                    continue
                depths[name] = ready
                channel.close()
        return depths

    def dead_letters(self):
        """Every dead letter of this vhost, read and put back (the queue keeps them for operators)."""
        letters = []
        with Connection(self.amqp_uri) as connection:
            channel = connection.channel()
            topology.declare_all(channel)
            while (message := channel.basic_get(queue=topology.DEAD_LETTER_QUEUE, no_ack=False)) is not None:
                letters.append({"headers": dict(message.headers or {}), "body": message.body,
                                "message_id": (message.properties or {}).get("message_id")})
            channel.close()  # unacked: all of them go back to the queue
        return letters

    # --- the referral store, read-only ----------------------------------------------------------------

    @property
    def referral_db(self):
        return self.work_dir / "data" / "referral.sqlite3"

    def _read(self, sql, params=()):
        if not self.referral_db.exists():
            return []
        connection = sqlite3.connect(f"file:{self.referral_db}?mode=ro", uri=True, timeout=10)
        try:
            return connection.execute(sql, params).fetchall()
        except sqlite3.OperationalError:
            return None
        finally:
            connection.close()

    def stored_ids(self):
        rows = self._read("SELECT event_id FROM timeline")
        return None if rows is None else {row[0] for row in rows}

    def stored_pairs(self):
        """(department, event_id) of every timeline entry: an event's key (childlink_contracts.content)."""
        rows = self._read("SELECT department, event_id FROM timeline")
        return None if rows is None else {(row[0], row[1]) for row in rows}

    def children(self):
        """{child_id: sorted keys}, identities as the referral resolved them."""
        rows = self._read("SELECT child_id, key FROM child_keys") or []
        found = {}
        for child_id, key in rows:
            found.setdefault(child_id, []).append(key)
        return {child_id: sorted(keys) for child_id, keys in found.items()}

    def centre_entries(self):
        rows = self._read("SELECT DISTINCT child_id FROM timeline WHERE child_id LIKE 'centre:%'") or []
        return [row[0] for row in rows]

    def referral_stats(self):
        return requests.get(f"{self.system['referral'].url}/health", timeout=30).json()

    def department_health(self, department):
        return requests.get(f"{self.system[department].url}/health", timeout=30).json()

    def timeline(self, child_id):
        response = requests.get(f"{self.system['referral'].url}/v1/children/{child_id}/timeline",
                                headers={"X-API-Key": STAFF_KEY}, timeout=30)
        response.raise_for_status()
        return response.json()

    def timelines(self):
        """Every timeline, keyed by what identifies the child whatever its random child_id: its keys."""
        result = {}
        for child_id, keys in self.children().items():
            result[tuple(keys)] = normalise_view(self.timeline(child_id))
        for centre_id in self.centre_entries():
            result[(centre_id,)] = normalise_view(self.timeline(centre_id))
        return result

    def referrals(self):
        """{child keys: normalised referrals}, from the referral store (read-only)."""
        rows = self._read("SELECT child_id, doc FROM referrals") or []
        docs = {}
        for child_id, doc in rows:
            docs.setdefault(child_id, []).append(json.loads(doc))
        keys = self.children()
        standing = {tuple(keys.get(child_id, [child_id])): normalise_referrals(found)
                     for child_id, found in docs.items()}
        return {key: found for key, found in standing.items() if found}

    def referral_counts(self):
        rows = self._read("SELECT status, COUNT(*) FROM referrals GROUP BY status") or []
        return dict(rows)

    # --- waiting and counting -------------------------------------------------------------------------

    def missing(self, ids=None):
        """Accepted and not stored: by event key (department, event_id), or among `ids` by event_id."""
        if ids is None:
            return set(self.accepted_pairs) - (self.stored_pairs() or set())
        return set(ids) - (self.stored_ids() or set())

    def wait_until_stored(self, ids=None, timeout=120, interval=0.25):
        """Until every id (default: every accepted id) is in the timeline; returns seconds waited."""
        started = time.monotonic()
        deadline = started + timeout
        while True:
            missing = self.missing(ids)
            if not missing:
                return time.monotonic() - started
            if time.monotonic() > deadline:
                return None
            time.sleep(interval)

    def wait_until_quiet(self, timeout=120):
        """Until every accepted event is stored, every outbox is drained and every queue is empty."""
        deadline = time.monotonic() + timeout
        waited = self.wait_until_stored(timeout=timeout)
        while time.monotonic() < deadline:
            backlogs = [self.department_health(d)["outbox_backlog"] for d in DEPARTMENTS
                        if d in self.system.processes]
            depths = self.queue_depths()
            if not any(backlogs) and not any(depths.get(q, 0) for q in CONSUMER_QUEUES):
                break
            time.sleep(0.25)
        return waited

    def figures(self, scenario=None, recovery_s=None, **notes):
        relays = [self.department_health(d)["relay"] for d in DEPARTMENTS if d in self.system.processes]
        stats = self.referral_stats()
        figures = Figures(
            scenario=scenario or self.name,
            sent=self.sent,
            accepted=len(self.accepted_pairs),
            ingest_duplicates=self.answers["duplicate"],
            rejected=self.answers["rejected"],
            published=sum(r["attempted"] for r in relays),
            confirmed=sum(r["confirmed"] for r in relays),
            applied=stats["events"],
            duplicates_suppressed=stats["duplicates"],
            consumed=stats["events"] + stats["duplicates"],
            dead_lettered=self.queue_depths().get(topology.DEAD_LETTER_QUEUE, 0),
            lost=len(self.missing()),
            recovery_s=None if recovery_s is None else round(recovery_s, 2),
            duration_s=round(time.monotonic() - self.started_at, 1),
            notes=notes,
        )
        return figures


def fresh_run(broker, name, **kwargs):
    """A Run whose data and service logs live in var/reliability/runs/<pid>/<scale>-<name>, kept
    afterwards for a look at the logs. Per test process, as two sessions may share a checkout; the
    folders of sessions that ended over an hour ago are removed."""
    runs = ARTIFACTS / "runs"
    if runs.exists():
        for old in runs.iterdir():
            if old.name.isdigit() and old.name != str(os.getpid()) and not _alive(int(old.name)) \
                    and time.time() - old.stat().st_mtime > 3600:
                shutil.rmtree(old, ignore_errors=True)
    work_dir = runs / str(os.getpid()) / f"{SCALE}-{name}"
    shutil.rmtree(work_dir, ignore_errors=True)
    return Run(broker, work_dir, name, **kwargs)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Stream:
    def __init__(self, run, events, rate, batch_size):
        self.run, self.events, self.rate, self.batch_size = run, events, rate, batch_size
        self.done = 0
        self.error = None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._go, daemon=True)

    def _go(self):
        try:
            self.run.send(self.events, self.batch_size, self.rate, progress=self._progress, stop=self.stop)
        except BaseException as exc:  # noqa: BLE001 - reported by join()
            self.error = exc

    def _progress(self, done):
        self.done = done

    def start(self):
        self.thread.start()
        return self

    def wait_for(self, share, timeout=120):
        """Until `share` (0..1) of the events went out."""
        deadline = time.monotonic() + timeout
        while self.done < share * len(self.events) and self.thread.is_alive():
            if time.monotonic() > deadline:
                raise TimeoutError(f"stream stuck at {self.done}/{len(self.events)}")
            time.sleep(0.05)

    def join(self, timeout=600):
        self.thread.join(timeout)
        if self.thread.is_alive():
            self.stop.set()
            raise TimeoutError("stream did not finish")
        if self.error:
            raise self.error


def normalise_referrals(referrals):
    """The referrals that stand for a child, without ids and times that differ between two correct runs.

    Left out: those the rules raised and then withdrew themselves (cancelled, withdrawn_by_rules). They
    are the trace of the order events arrived in (an immunisation looks overdue until the dose recorded
    late arrives), so two correct runs that took events in different orders differ in them; what the
    child's state calls for, the standing referrals, must not."""
    return sorted(
        (json.loads(json.dumps({
            "rule_key": r["rule_key"], "reason": r["reason"], "status": r["status"],
            "from": r["from"].get("department"), "to": r["to"].get("department"),
            "to_facility": r["to"].get("facility"), "source_event_ids": sorted(r["source_event_ids"]),
        })) for r in referrals if not r.get("withdrawn_by_rules")),
        key=lambda r: (r["rule_key"], r["status"]))


def normalise_view(view):
    """A timeline without what differs between two correct runs (random child ids, store times,
    duplicate counters), so two runs compare equal when staff would see the same thing."""
    if view is None:
        return None
    return {
        "profile": view.get("profile"),
        "entries": [
            {k: v for k, v in entry.items() if k not in ("child_id", "stored_at", "duplicates")}
            for entry in view["entries"]
        ],
    }
