"""The insights bulk first load gives the cells its live take (the service's batch function) gives over
the same events, on real SQLite stores; a refused line counts nowhere; a re-run changes nothing."""

import datetime as dt
import json

from childlink_common.event_lines import read_lines
from childlink_contracts import validate_event
from childlink_insights import bulk_load
from childlink_insights.aggregate import Aggregator
from childlink_insights.store.sqlite_store import SqliteInsightsStore
from childlink_insights.taking import take_batch
from childlink_referral.growth import zscores
from childlink_tools.dataset import generate_dataset
from childlink_tools.eventfiles import write_events

NOW = dt.datetime(2026, 12, 7, 5, 0, tzinfo=dt.UTC)


def cells(store):
    return sorted(tuple(r) for r in store.db.read("SELECT * FROM cells"))


def test_bulk_cells_equal_the_live_takes_cells_and_a_rerun_changes_nothing(tmp_path):
    events = generate_dataset(40, seed=6, now=NOW).events
    live = SqliteInsightsStore(tmp_path / "live.sqlite3")
    aggregator = Aggregator(live, zscores)
    for start in range(0, len(events), 50):
        for department in ("health", "social", "education", "medical"):
            bodies = [json.loads(json.dumps(validate_event(e, d))) for d, e in events[start:start + 50]
                      if d == department]
            if bodies:
                take_batch(live, aggregator, bodies)

    path = tmp_path / "history.jsonl"
    with open(path, "w", encoding="utf-8") as handle:
        write_events(handle, events)
    bulk = SqliteInsightsStore(tmp_path / "bulk.sqlite3")
    counted, refused = bulk_load.load(bulk, read_lines(path), batch=64)
    assert counted > 0 and not refused
    assert cells(live) and cells(bulk) == cells(live)
    bulk_load.load(bulk, read_lines(path), batch=64)
    assert cells(bulk) == cells(live)


def test_a_refused_line_counts_nowhere(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CHILDLINK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MONGO_URI", raising=False)
    (department, broken), = generate_dataset(1, seed=2, now=NOW).events[:1]
    broken = {**broken, "occurred_at": "yesterday"}
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"department": department, "event": broken}) + "\n")
    assert bulk_load.main([str(path)]) == 1
    assert "line 1: occurred_at:" in capsys.readouterr().err
    store = SqliteInsightsStore(tmp_path / "data" / "insights.sqlite3")
    assert not cells(store) and bulk_load.is_empty(store)


def test_an_event_id_given_again_with_other_content_is_refused_and_the_same_again_counted_once(tmp_path):
    """As the referral's load and the department's ingest refuse it: the two stores never keep two
    versions of one event."""
    events = [(d, e) for d, e in generate_dataset(12, seed=4, now=NOW).events if "child" in e["subject"]][:30]
    department, first = events[0]
    changed = {**first, "occurred_at": "2024-01-02T09:00:00+07:00"}
    path = tmp_path / "history.jsonl"
    with open(path, "w", encoding="utf-8") as handle:
        write_events(handle, [*events, (department, first), (department, changed)])
    bulk = SqliteInsightsStore(tmp_path / "bulk.sqlite3")
    _counted, refused = bulk_load.load(bulk, read_lines(path), batch=7)
    [refusal] = refused
    assert refusal.number == len(events) + 2
    assert "other content" in " ".join(refusal.errors["event_id"])

    alone = SqliteInsightsStore(tmp_path / "alone.sqlite3")
    with open(tmp_path / "alone.jsonl", "w", encoding="utf-8") as handle:
        write_events(handle, events)
    bulk_load.load(alone, read_lines(tmp_path / "alone.jsonl"), batch=7)
    assert cells(bulk) == cells(alone)  # the changed version counted nowhere, the repeat once
