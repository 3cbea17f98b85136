"""Flow arithmetic and alert rules: plain functions, no broker, no store."""

from childlink_monitor import alerts, flows
from childlink_monitor.alerts import Thresholds

NOW = 1_800_000_000.0  # a whole minute


def test_the_book_counts_per_minute_and_keeps_the_latest_sighting():
    book = flows.FlowBook()
    book.seen("health", "child.screened", NOW - 61, "a")
    book.seen("health", "child.screened", NOW - 1, "b")
    book.seen("health", "child.screened", NOW - 30, "c")  # late delivery: not the latest sighting
    book.stored("health", "child.screened", NOW, occurred_at=NOW - 86400, recorded_at=NOW - 600,
                published_at=NOW - 0.5)
    book.failed("health", "child.screened", NOW)
    minutes, touches = book.drain()
    by_minute = {m.minute: m.as_dict() for m in minutes}
    assert by_minute[flows.minute_of(NOW - 61)]["seen"] == 1
    this = by_minute[flows.minute_of(NOW)]
    assert (this["stored"], this["failures"], this["lag_pipeline_count"]) == (1, 1, 1)
    assert this["lag_pipeline_max"] == 0.5 and this["lag_recorded_sum"] == 600 and this["lag_occurred_max"] == 86400
    (touch,) = touches
    assert touch.last_seen == NOW - 1 and touch.last_event_id == "b" and touch.last_lag_pipeline == 0.5
    assert book.drain() == ([], [])


def test_a_failed_write_is_put_back_and_merged_with_what_came_meanwhile():
    book = flows.FlowBook()
    book.seen("social", "child.enrolled", NOW, "a")
    minutes, touches = book.drain()
    book.seen("social", "child.enrolled", NOW + 1, "b")
    book.stored("social", "child.enrolled", NOW + 2, published_at=NOW + 1)
    book.restore(minutes, touches)
    (minute,), (touch,) = book.drain()
    assert minute.seen == 2 and minute.stored == 1 and minute.lag_pipeline_count == 1
    assert touch.last_seen == NOW + 1 and touch.last_event_id == "b"


def test_series_totals_and_recent_lag_read_minute_rows():
    m = flows.minute_of(NOW)
    rows = [{"minute": m - 2, "seen": 3, "stored": 3, "lag_pipeline_sum": 3.0, "lag_pipeline_max": 2.0,
             "lag_pipeline_count": 3},
            {"minute": m, "seen": 1, "stored": 0}, {"minute": m - 100, "seen": 7}]
    assert flows.series(rows, NOW, 3) == [3, 0, 1]
    total = flows.totals(rows)
    assert total["seen"] == 11 and total["lag_pipeline_avg"] == 1.0 and total["lag_recorded_avg"] is None
    assert flows.recent_lag(rows, NOW, 5) == {"avg_s": 1.0, "max_s": 2.0, "stored": 3}
    assert flows.recent_lag(rows, NOW, 1) is None
    assert flows.rate_per_minute(rows, NOW, 5) == 0.8


def test_the_usual_gap_is_a_high_percentile_of_the_gaps_between_active_minutes():
    assert flows.usual_gap_s([1, 2]) is None  # too little to say
    assert flows.usual_gap_s([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 80]) == 60.0
    assert flows.usual_gap_s(list(range(0, 100, 5))) == 300.0
    assert flows.silence_threshold_s(None, 900, 3) == 900
    assert flows.silence_threshold_s(600.0, 900, 3) == 1800
    assert flows.parse_instant("2025-03-01T07:00:00+07:00") == flows.parse_instant("2025-03-01T00:00:00Z")
    assert flows.parse_instant("yesterday") is None


def test_silence_follows_the_departments_usual_gap_and_ignores_departments_never_heard():
    t = Thresholds(silence_floor_s=60, silence_factor=3)
    found = alerts.silent({"health": {"last_seen": NOW - 200, "usual_gap_s": 60.0},
                           "social": {"last_seen": NOW - 100, "usual_gap_s": 60.0},
                           "medical": {"last_seen": None, "usual_gap_s": None}}, NOW, t)
    assert [(a.kind, a.subject, a.threshold) for a in found] == [("silent", "health", 180.0)]


def test_lag_dead_letters_outbox_and_consumers_rules():
    t = Thresholds(lag_s=10, outbox_growth_polls=3, outbox_backlog=100, no_consumer_grace_s=30)
    lagging = alerts.lag([{"department": "health", "type": "child.screened", "recent_lag": {"avg_s": 12, "max_s": 40}},
                          {"department": "health", "type": "child.registered", "recent_lag": {"avg_s": 1, "max_s": 2}},
                          {"department": "social", "type": "child.enrolled", "recent_lag": None}], t)
    assert [a.subject for a in lagging] == ["health/child.screened"]
    assert [a.subject for a in alerts.dead_letters({"health": 2, "social": 0})] == ["health"]
    outbox = alerts.outbox({"health": {"ok": True, "history": [0, 1, 1, 3]},
                            "social": {"ok": True, "history": [5, 4, 3, 2]},
                            "education": {"ok": True, "history": [150]},
                            "medical": {"ok": False, "error": "ConnectionError", "failures": 2},
                            "social-slow": {"ok": False, "error": "ReadTimeout", "failures": 1},
                            "referral": {"ok": True, "history": [0, 0, 0, 0]}}, t)
    assert sorted((a.kind, a.subject) for a in outbox) == [
        ("outbox_growing", "education"), ("outbox_growing", "health"), ("outbox_unreachable", "medical")]
    queues = [{"name": "referral.health.events", "durable": True, "consumers": 0, "messages": 5, "idle_for_s": 40},
              {"name": "referral.social.events", "durable": True, "consumers": 0, "messages": 0, "idle_for_s": 5},
              {"name": "rpc-referral", "durable": True, "consumers": 1, "messages": 0}]
    assert [(a.subject, a.severity) for a in alerts.no_consumers(queues, t)] == [("referral.health.events", "critical")]


def test_evaluate_puts_the_most_severe_first_and_skips_queues_when_the_broker_is_away():
    t = Thresholds(silence_floor_s=1)
    snapshot = {"departments": {"health": {"last_seen": NOW - 10, "usual_gap_s": None}},
                "open_dead_letters": {"health": 1}, "broker_error": "ConnectionError",
                "queues": [{"name": "q", "durable": True, "consumers": 0, "idle_for_s": 999}]}
    kinds = [a.kind for a in alerts.evaluate(snapshot, NOW, t)]
    assert kinds == ["broker_unreachable", "dead_letters", "silent"]


def test_thresholds_come_from_the_environment():
    t = Thresholds.from_env({"MONITOR_SILENCE_MIN_S": "5", "MONITOR_LAG_ALERT_S": "2.5",
                             "MONITOR_OUTBOX_GROWTH_POLLS": "4"})
    assert (t.silence_floor_s, t.lag_s, t.outbox_growth_polls, t.silence_factor) == (5.0, 2.5, 4, 3.0)
