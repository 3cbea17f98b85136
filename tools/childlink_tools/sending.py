"""Sending many events to the department ingest APIs: batches, parallel workers, a rate cap, a tally.

Used by both `childlink-send` and the simulator. Events keep their input order within a department;
batches go out in order of their first event, `concurrency` at a time.

A batch never holds the same event_id twice (the service rejects such a batch whole), so a resent
duplicate always travels in a later request, as it would from a real department system. When the
service rejects a batch (422), the events it named are counted as rejected and the rest of the batch
is sent once more on its own, since the service stored none of it (`keep_going`, the simulator's way);
without `keep_going` (childlink-send's default) the whole batch counts as rejected and no later batch
of that department is sent.
"""

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from tqdm import tqdm

from .client import IngestClient, IngestError, IngestUnavailable, InvalidEvents, Unauthorised

MAX_PROBLEMS_KEPT = 20
MAX_BATCH = 1000  # the ingest services take at most this many events in one request


@dataclass
class Outgoing:
    department: str
    event: dict
    where: str  # how to point at the event in messages: "events.jsonl line 7", "event 1203"


@dataclass
class Tally:
    """What happened to one department's events."""

    sent: int = 0  # events the service answered for with 202 or 422, each counted once
    repeats: int = 0  # events whose event_id came earlier in the input (deliberate duplicates)
    accepted: int = 0
    duplicate: int = 0  # the service already had the event_id
    rejected: int = 0  # named in a 422
    failed: int = 0  # never answered for: wrong key, service down
    problems: list = field(default_factory=list)

    def note(self, message):
        if len(self.problems) < MAX_PROBLEMS_KEPT:
            self.problems.append(message)


@dataclass
class Batch:
    department: str
    items: list = field(default_factory=list)
    ids: set = field(default_factory=set)


def make_batches(outgoing, batch_size):
    """Split each department's events, in order, into batches of at most `batch_size` distinct ids."""
    open_batches, done = {}, []
    for item in outgoing:
        batch = open_batches.get(item.department)
        event_id = _event_id(item.event)
        if batch is None or len(batch.items) >= batch_size or event_id in batch.ids:
            batch = open_batches[item.department] = Batch(item.department)
            done.append(batch)
        batch.items.append(item)
        if event_id is not None:
            batch.ids.add(event_id)
    return done


class RateLimiter:
    """At most `rate` events a second across all workers, on average."""

    def __init__(self, rate, clock=time.monotonic, sleep=time.sleep):
        self.rate = rate
        self._clock, self._sleep = clock, sleep
        self._free_at = 0.0
        self._lock = threading.Lock()

    def acquire(self, events):
        with self._lock:
            now = self._clock()
            start = max(now, self._free_at)
            self._free_at = start + events / self.rate
        if start > now:
            self._sleep(start - now)


class Sender:
    def __init__(self, endpoints, batch_size=50, concurrency=4, rate=None, timeout=10.0,
                 progress=True, client_factory=IngestClient, keep_going=True):
        """`endpoints`: {department: (base_url, api_key)}."""
        self.endpoints = endpoints
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.limiter = RateLimiter(rate) if rate else None
        self.timeout = timeout
        self.progress = progress
        self.client_factory = client_factory
        self.keep_going = keep_going
        self._local = threading.local()
        self._clients = []  # every thread's clients, closed when sending is done
        self._lock = threading.Lock()
        self._stopped = set()  # departments whose remaining batches are not sent: wrong key, service down

    def send(self, outgoing):
        """Send [Outgoing]; return {department: Tally}."""
        tallies = {item.department: Tally() for item in outgoing}
        seen = set()
        for item in outgoing:
            key = (item.department, _event_id(item.event))
            if key[1] is not None and key in seen:
                tallies[item.department].repeats += 1
            seen.add(key)
        batches = make_batches(outgoing, self.batch_size)
        with tqdm(total=len(outgoing), unit="ev", disable=not self.progress, dynamic_ncols=True) as bar:
            def run(batch):
                self._send_batch(batch, tallies[batch.department])
                with self._lock:
                    bar.update(len(batch.items))

            try:
                with ThreadPoolExecutor(max_workers=max(1, self.concurrency)) as pool:
                    for future in [pool.submit(run, batch) for batch in batches]:
                        future.result()
            finally:
                for client in self._clients:
                    client.close()
        return tallies

    def _client(self, department):
        clients = getattr(self._local, "clients", None)
        if clients is None:
            clients = self._local.clients = {}
        if department not in clients:
            url, key = self.endpoints[department]
            clients[department] = self.client_factory(url, key, timeout=self.timeout)
            with self._lock:
                self._clients.append(clients[department])
        return clients[department]

    def _send_batch(self, batch, tally, retrying=False):
        if batch.department in self._stopped:
            with self._lock:
                tally.failed += len(batch.items)
            return
        if self.limiter:
            self.limiter.acquire(len(batch.items))
        try:
            answer = self._client(batch.department).send([item.event for item in batch.items])
        except InvalidEvents as exc:
            self._count_rejection(batch, tally, exc, retrying)
            return
        except IngestError as exc:
            with self._lock:
                tally.failed += len(batch.items)
                tally.note(f"{batch.items[0].where}..{batch.items[-1].where}: {exc}")
                if isinstance(exc, (Unauthorised, IngestUnavailable)):
                    self._stopped.add(batch.department)
            return
        statuses = Counter(entry.get("status") for entry in answer.get("accepted", []))
        with self._lock:
            tally.sent += len(batch.items)
            tally.accepted += statuses.get("accepted", 0)
            tally.duplicate += statuses.get("duplicate", 0)

    def _count_rejection(self, batch, tally, exc, retrying):
        named = exc.errors_by_index()
        if not self.keep_going:
            with self._lock:
                self._stopped.add(batch.department)
        resend = [] if retrying or not named or not self.keep_going else [
            item for index, item in enumerate(batch.items) if index not in named
        ]
        with self._lock:
            tally.sent += len(batch.items) - len(resend)
            tally.rejected += len(batch.items) - len(resend)
            if not named or retrying:
                tally.note(f"{batch.items[0].where}..{batch.items[-1].where}: {exc}")
            for index, fields in sorted(named.items()):
                if index < len(batch.items):
                    tally.note(f"{batch.items[index].where}: {_fields_text(fields)}")
        if resend:
            self._send_batch(Batch(batch.department, resend), tally, retrying=True)


def _event_id(event):
    return event.get("event_id") if isinstance(event, dict) else None


def _fields_text(fields):
    if not isinstance(fields, dict):
        return str(fields)
    return "; ".join(f"{path}: {' '.join(map(str, msgs))}" for path, msgs in sorted(fields.items()))


COLUMNS = (  # Tally field, column heading, meaning
    ("sent", "sent", "events answered by the service"),
    ("repeats", "dups_sent", "of them resent with an event_id sent before"),
    ("accepted", "accepted", "stored as new"),
    ("duplicate", "dup_known", "answered 'duplicate': already stored"),
    ("rejected", "rejected", "named in a 422"),
    ("failed", "failed", "never answered: wrong key, service down"),
)


def format_summary(tallies):
    """A small table: one row per department, a total, a legend and the first problems."""
    rows = [f"{'department':<11}" + "".join(f"{heading:>11}" for _, heading, _ in COLUMNS)]
    total = Counter()
    for department, tally in sorted(tallies.items()):
        rows.append(f"{department:<11}" + "".join(f"{getattr(tally, name):>11}" for name, _, _ in COLUMNS))
        total.update({name: getattr(tally, name) for name, _, _ in COLUMNS})
    rows.append(f"{'total':<11}" + "".join(f"{total[name]:>11}" for name, _, _ in COLUMNS))
    rows.append("  " + "; ".join(f"{heading}: {meaning}" for _, heading, meaning in COLUMNS))
    notes = [f"  {department}: {problem}" for department, tally in sorted(tallies.items())
             for problem in tally.problems]
    return "\n".join(rows + (["problems (the first few of each department):"] + notes if notes else []))
