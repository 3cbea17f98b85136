"""Alert rules over a snapshot of the flows, the broker and the outboxes. Plain functions, no I/O.

Rules (thresholds from the environment, see `Thresholds.from_env`):
- silent: a department has been quiet longer than max(floor, factor x its usual gap);
- lag: events stored in the last few minutes took longer than the threshold from their publication
  on the department's exchange to the timeline (pipeline lag; see childlink_monitor.flows);
- dead_letters: dead letters are waiting for someone (open or replay_failed);
- outbox_growing: a department's outbox backlog rose over the last polls and is not empty, or is
  above the absolute threshold;
- outbox_unreachable: a department service's /health did not answer twice in a row (one slow answer
  on a busy machine is no outage);
- no_consumers: a durable queue nobody has consumed for longer than a grace period;
- broker_unreachable: the RabbitMQ management API did not answer.
"""

import itertools
import os
from dataclasses import asdict, dataclass

SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}
KINDS = ("silent", "lag", "dead_letters", "outbox_growing", "outbox_unreachable", "no_consumers",
         "broker_unreachable")


@dataclass(frozen=True)
class Thresholds:
    silence_floor_s: float = 900.0
    silence_factor: float = 3.0
    lag_s: float = 60.0
    lag_window_minutes: int = 5
    outbox_growth_polls: int = 3
    outbox_backlog: int = 1000
    no_consumer_grace_s: float = 30.0
    unreachable_polls: int = 2

    @classmethod
    def from_env(cls, env=os.environ):
        def num(name, default, kind=float):
            raw = env.get(name)
            return kind(raw) if raw not in (None, "") else default

        return cls(
            silence_floor_s=num("MONITOR_SILENCE_MIN_S", cls.silence_floor_s),
            silence_factor=num("MONITOR_SILENCE_FACTOR", cls.silence_factor),
            lag_s=num("MONITOR_LAG_ALERT_S", cls.lag_s),
            lag_window_minutes=num("MONITOR_LAG_WINDOW_MIN", cls.lag_window_minutes, int),
            outbox_growth_polls=num("MONITOR_OUTBOX_GROWTH_POLLS", cls.outbox_growth_polls, int),
            outbox_backlog=num("MONITOR_OUTBOX_ALERT_BACKLOG", cls.outbox_backlog, int),
            no_consumer_grace_s=num("MONITOR_NO_CONSUMER_GRACE_S", cls.no_consumer_grace_s),
            unreachable_polls=num("MONITOR_UNREACHABLE_POLLS", cls.unreachable_polls, int),
        )


@dataclass(frozen=True)
class Alert:
    kind: str
    subject: str  # a department, a queue, "broker"
    severity: str
    value: float | int | None
    threshold: float | int | None
    detail: str

    def as_dict(self):
        return asdict(self)


def silent(departments, now, thresholds):
    """departments: {name: {"last_seen": epoch|None, "usual_gap_s": float|None}}"""
    out = []
    for name, info in sorted(departments.items()):
        last = info.get("last_seen")
        if last is None:
            continue  # never heard from: nothing to compare with (shown as "no traffic", not alerted)
        limit = max(thresholds.silence_floor_s, (info.get("usual_gap_s") or 0.0) * thresholds.silence_factor)
        quiet = now - last
        if quiet > limit:
            out.append(Alert("silent", name, "warning", round(quiet, 1), round(limit, 1),
                             f"{name}: no event for {quiet:.0f}s (usual gap allows {limit:.0f}s)"))
    return out


def lag(flows, thresholds):
    """flows: [{"department", "type", "recent_lag": {"avg_s", "max_s"} | None}]"""
    out = []
    for flow in flows:
        recent = flow.get("recent_lag")
        if recent and recent["avg_s"] > thresholds.lag_s:
            subject = f"{flow['department']}/{flow['type']}"
            out.append(Alert("lag", subject, "warning", round(recent["avg_s"], 1), thresholds.lag_s,
                             f"{subject}: exchange-to-timeline lag {recent['avg_s']:.1f}s on average "
                             f"(max {recent['max_s']:.1f}s) over the last {thresholds.lag_window_minutes} min"))
    return out


def dead_letters(open_counts):
    """open_counts: {department or "unknown": count of open dead letters}"""
    return [Alert("dead_letters", department, "critical", count, 0,
                  f"{department}: {count} dead letter(s) waiting for replay or discard")
            for department, count in sorted(open_counts.items()) if count]


def outbox(backlogs, thresholds):
    """backlogs: {department: {"ok": bool, "history": [backlog, ...] oldest first, "error": str}}"""
    out = []
    for name, info in sorted(backlogs.items()):
        if not info.get("ok"):
            if info.get("failures", thresholds.unreachable_polls) >= thresholds.unreachable_polls:
                out.append(Alert("outbox_unreachable", name, "critical", info.get("failures"), None,
                                 f"{name}: /health did not answer {info.get('failures') or ''} poll(s) in a row "
                                 f"({info.get('error') or 'no answer'})"))
            continue
        history = [h for h in info.get("history") or [] if h is not None]
        if not history:
            continue
        latest = history[-1]
        polls = thresholds.outbox_growth_polls
        recent = history[-(polls + 1):]
        rising = (len(recent) == polls + 1 and latest > 0 and recent[-1] > recent[0]
                  and all(b >= a for a, b in itertools.pairwise(recent)))
        if latest >= thresholds.outbox_backlog or rising:
            out.append(Alert("outbox_growing", name, "critical" if latest >= thresholds.outbox_backlog else "warning",
                             latest, thresholds.outbox_backlog,
                             f"{name}: {latest} event(s) accepted and not yet confirmed by the broker"
                             + (f", rising over the last {polls} polls" if rising else "")))
    return out


def no_consumers(queues, thresholds):
    """queues: the management API's queues (name, durable, consumers, messages) with `idle_for_s`, how
    long the monitor has seen the queue without consumers (the API's counts lag by a few seconds,
    and a service restarting is no emergency: only a lasting absence is alerted)."""
    return [Alert("no_consumers", q["name"], "critical" if q.get("messages") else "warning", q.get("consumers", 0), 1,
                  f"queue {q['name']}: no consumer for {q.get('idle_for_s', 0):.0f}s "
                  f"({q.get('messages', 0)} message(s) waiting)")
            for q in queues if q.get("durable") and not q.get("consumers")
            and q.get("idle_for_s", 0) >= thresholds.no_consumer_grace_s]


def broker(error):
    return [Alert("broker_unreachable", "broker", "critical", None, None,
                  f"RabbitMQ management API: {error}")] if error else []


def evaluate(snapshot, now, thresholds):
    """Every alert that holds for this snapshot, most severe first."""
    found = []
    found += silent(snapshot.get("departments") or {}, now, thresholds)
    found += lag(snapshot.get("flows") or [], thresholds)
    found += dead_letters(snapshot.get("open_dead_letters") or {})
    found += outbox(snapshot.get("backlogs") or {}, thresholds)
    if snapshot.get("broker_error"):
        found += broker(snapshot["broker_error"])
    else:
        found += no_consumers(snapshot.get("queues") or [], thresholds)
    return sorted(found, key=lambda a: (SEVERITY_ORDER.get(a.severity, 9), a.kind, a.subject))
