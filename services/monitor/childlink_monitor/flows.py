"""Message flows as numbers: per department and event type, per minute, over the last 24 hours.

Flows are keyed by department and envelope type (the body's `type`); a message whose body is not an
event of that department (not JSON, no known type, whatever its routing key) is counted in the
department's one "invalid" row.

Plain Python, no nameko, no broker. The monitor's taps call `FlowBook.seen` for every event it sees
on a `{dept}.events` exchange, and `stored` / `failed` for each outcome the referral service
reports (its `timeline.stored` notices); `drain()` hands the accumulated deltas to the store in one
write. The rest of the module reads the stored minute rows back: rates, sparklines, the usual gap
between messages of a department, lag.

Minute rows carry: seen, stored, failures, dead_letters, and three lags (sum, max and count over
the events stored in that minute):
- `lag_pipeline`: published on the department's exchange (when the monitor's tap saw it) -> stored in
  the timeline: what childlink's own flow takes. The lag alert watches this one.
- `lag_recorded`: recorded_at -> stored: adds the department system's own delay in sending.
- `lag_occurred`: occurred_at -> stored: how late the news of it arrived at all.
recorded_at and occurred_at may be days old for good reasons (a clinic's backlog, history loaded
at go-live), so they are shown, not alerted on.
"""

import datetime as dt
import itertools
import json
import re
from dataclasses import dataclass, field

from childlink_contracts import INGEST_DEPARTMENTS, types_of

MINUTE_S = 60
WINDOW_MINUTES = 24 * 60
COUNTERS = ("seen", "stored", "failures", "dead_letters")
LAGS = ("lag_pipeline", "lag_recorded", "lag_occurred")
LAG_FIELDS = tuple(f"{lag}_{part}" for lag in LAGS for part in ("sum", "max", "count"))
MINUTE_FIELDS = (*COUNTERS, *LAG_FIELDS)


# Flows are keyed by department and the envelope's own `type`, never by a routing key or a header (anyone
# may publish any key): whatever does not parse as an event of that department is counted in one row.
INVALID = "invalid"
_TYPE_PATTERN = re.compile(r"^[a-z_]+\.[a-z_]+$")  # the envelope's (contracts' EnvelopeSchema)
_KNOWN_TYPES = {department: frozenset(types_of(department)) for department in INGEST_DEPARTMENTS}


def flow_type(department, type_):
    """`type_` when it is an event type `department` sends, else INVALID. The referral service's own
    types are not in the contracts' registry: for it, any type of the envelope's form stands."""
    if not isinstance(type_, str):
        return INVALID
    known = _KNOWN_TYPES.get(department)
    if known is not None:
        return type_ if type_ in known else INVALID
    return type_ if _TYPE_PATTERN.fullmatch(type_) else INVALID


def envelope_of(raw):
    """The message body as a JSON object, or None when it is not one."""
    try:
        body = json.loads(raw)
    except (TypeError, ValueError, RecursionError):
        return None
    return body if isinstance(body, dict) else None


def sighting(department, raw, message_id=None):
    """(flow type, event_id) of one tapped message: its envelope's type (or INVALID) and its event_id."""
    body = envelope_of(raw)
    if body is None:
        return INVALID, message_id
    event_id = message_id or (body.get("event_id") if isinstance(body.get("event_id"), str) else None)
    return flow_type(department, body.get("type")), event_id


def minute_of(at):
    return int(at // MINUTE_S)


def parse_instant(value):
    """Epoch seconds from an ISO-8601 instant (Z or offset), or None when it is not one."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp()


def iso(at):
    return None if at is None else dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class MinuteDelta:
    """Counts and lag sums/maxes/counts of one flow in one minute."""

    __slots__ = ("department", "type", "minute", *MINUTE_FIELDS)

    def __init__(self, department, type_, minute):
        self.department, self.type, self.minute = department, type_, minute
        for name in MINUTE_FIELDS:
            setattr(self, name, 0)

    @property
    def key(self):
        return (self.department, self.type, self.minute)

    def add_lag(self, name, lag):
        setattr(self, f"{name}_sum", getattr(self, f"{name}_sum") + lag)
        setattr(self, f"{name}_max", max(getattr(self, f"{name}_max"), lag))
        setattr(self, f"{name}_count", getattr(self, f"{name}_count") + 1)

    def merge(self, other):
        for name in (*COUNTERS, *(f"{lag}_{p}" for lag in LAGS for p in ("sum", "count"))):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for lag in LAGS:
            setattr(self, f"{lag}_max", max(getattr(self, f"{lag}_max"), getattr(other, f"{lag}_max")))

    def as_dict(self):
        return {"department": self.department, "type": self.type, "minute": self.minute,
                **{name: getattr(self, name) for name in MINUTE_FIELDS}}


@dataclass
class FlowTouch:
    """The latest sighting of a flow, kept beside the minute rows (they expire after 24 hours; this does not)."""

    department: str
    type: str
    last_seen: float | None = None
    last_event_id: str | None = None
    last_stored: float | None = None
    last_lag_pipeline: float | None = None
    last_failure: float | None = None

    def as_dict(self):
        return dict(self.__dict__)


@dataclass
class FlowBook:
    """Deltas since the last drain. Cheap to update: a dict lookup and a few additions per message."""

    minutes: dict = field(default_factory=dict)
    touches: dict = field(default_factory=dict)
    pending: int = 0

    def _minute(self, department, type_, at):
        type_ = flow_type(department, type_)
        key = (department, type_, minute_of(at))
        delta = self.minutes.get(key)
        if delta is None:
            delta = self.minutes[key] = MinuteDelta(department, type_, key[2])
        self.pending += 1
        return delta

    def _touch(self, department, type_):
        type_ = flow_type(department, type_)
        touch = self.touches.get((department, type_))
        if touch is None:
            touch = self.touches[(department, type_)] = FlowTouch(department, type_)
        return touch

    def seen(self, department, type_, at, event_id=None):
        self._minute(department, type_, at).seen += 1
        touch = self._touch(department, type_)
        if touch.last_seen is None or at >= touch.last_seen:
            touch.last_seen, touch.last_event_id = at, event_id

    def stored(self, department, type_, stored_at, occurred_at=None, recorded_at=None, published_at=None):
        delta = self._minute(department, type_, stored_at)
        delta.stored += 1
        touch = self._touch(department, type_)
        pipeline = None
        for name, start in (("lag_pipeline", published_at), ("lag_recorded", recorded_at),
                            ("lag_occurred", occurred_at)):
            if start is not None:
                lag = max(0.0, stored_at - start)
                delta.add_lag(name, lag)
                if name == "lag_pipeline":
                    pipeline = lag
        if touch.last_stored is None or stored_at >= touch.last_stored:
            touch.last_stored = stored_at
            touch.last_lag_pipeline = pipeline

    def failed(self, department, type_, at):
        self._minute(department, type_, at).failures += 1
        touch = self._touch(department, type_)
        touch.last_failure = max(at, touch.last_failure or at)

    def dead_lettered(self, department, type_, at):
        self._minute(department, type_, at).dead_letters += 1

    def drain(self):
        """(minute deltas, flow touches) since the last drain, and start again."""
        minutes, touches = list(self.minutes.values()), list(self.touches.values())
        self.minutes, self.touches, self.pending = {}, {}, 0
        return minutes, touches

    def restore(self, minutes, touches):
        """Put back deltas a failed store write did not keep, so the next drain carries them."""
        for delta in minutes:
            mine = self.minutes.get(delta.key)
            if mine is None:
                self.minutes[delta.key] = delta
            else:
                mine.merge(delta)
        for touch in touches:
            key = (touch.department, touch.type)
            mine = self.touches.get(key)
            if mine is None:
                self.touches[key] = touch
                continue
            for name in ("last_seen", "last_stored", "last_failure"):
                theirs, ours = getattr(touch, name), getattr(mine, name)
                if theirs is not None and (ours is None or theirs > ours):
                    setattr(mine, name, theirs)
                    if name == "last_seen":
                        mine.last_event_id = touch.last_event_id
                    if name == "last_stored":
                        mine.last_lag_pipeline = touch.last_lag_pipeline
        self.pending += len(minutes)


# --- reading minute rows back ------------------------------------------------------------------------


def series(rows, now, minutes=60, field_name="seen"):
    """Per-minute values of one field over the last `minutes` minutes, oldest first, zeros filled in."""
    last = minute_of(now)
    first = last - minutes + 1
    values = [0] * minutes
    for row in rows:
        if first <= row["minute"] <= last:
            values[row["minute"] - first] += row.get(field_name) or 0
    return values


def totals(rows):
    """Counts over the rows, and each lag's mean and max (None where no event carried it)."""
    out = {name: 0 for name in COUNTERS}
    for row in rows:
        for name in COUNTERS:
            out[name] += row.get(name) or 0
    for lag in LAGS:
        count = sum(row.get(f"{lag}_count") or 0 for row in rows)
        total = sum(row.get(f"{lag}_sum") or 0.0 for row in rows)
        out[f"{lag}_avg"] = total / count if count else None
        out[f"{lag}_max"] = max((row.get(f"{lag}_max") or 0.0 for row in rows if row.get(f"{lag}_count")),
                                default=None)
    return out


def recent_lag(rows, now, minutes=5, lag="lag_pipeline"):
    """Mean and max of one lag over the events stored in the last few minutes (None if none)."""
    since = minute_of(now) - minutes + 1
    count, lag_sum, lag_max = 0, 0.0, 0.0
    for row in rows:
        if row["minute"] >= since and row.get(f"{lag}_count"):
            count += row[f"{lag}_count"]
            lag_sum += row.get(f"{lag}_sum") or 0.0
            lag_max = max(lag_max, row.get(f"{lag}_max") or 0.0)
    if not count:
        return None
    return {"avg_s": lag_sum / count, "max_s": lag_max, "stored": count}


def rate_per_minute(rows, now, minutes=5, field_name="seen"):
    """Mean messages per minute over the last few whole minutes and the current one."""
    values = series(rows, now, minutes, field_name)
    return sum(values) / minutes


def usual_gap_s(active_minutes, percentile=0.95):
    """The gap a department usually leaves between messages, from the minutes it was active in.

    Gaps between consecutive active minutes, in seconds; the `percentile` one (nearest rank). None
    when there are too few gaps to say (fewer than 3): the caller falls back to its floor.
    """
    minutes = sorted(set(active_minutes))
    gaps = [(b - a) * MINUTE_S for a, b in itertools.pairwise(minutes)]
    if len(gaps) < 3:
        return None
    gaps.sort()
    rank = max(0, min(len(gaps) - 1, round(percentile * len(gaps) + 0.5) - 1))
    return float(gaps[rank])


def silence_threshold_s(usual_gap, floor_s, factor):
    return max(floor_s, (usual_gap or 0.0) * factor)
