"""The bulk first load (childlink_referral.bulk_load) against the live consumer's batch handler over the
same shuffled simulated population, on real SQLite stores: the same timelines, identity links, referrals
and referral events; refused lines reported by number and field with nothing of them kept; a re-run
stores nothing twice; the command refuses a store that is not empty."""

import datetime as dt
import json
import random

import pytest
from childlink_common.event_lines import read_lines
from childlink_common.testing.events import child, event
from childlink_contracts import validate_event
from childlink_referral import bulk_load
from childlink_referral.bulk_load import BulkReferral
from childlink_referral.identity import KnownRecords
from childlink_referral.linking import Linking
from childlink_referral.service import ReferralService
from childlink_referral.store.sqlite_store import SqliteTimelineStore
from childlink_referral.testing import Clock, ListOutbox
from childlink_referral.workflow import Referrals
from childlink_tools.dataset import generate_dataset
from childlink_tools.eventfiles import write_events

NOW = dt.datetime(2026, 12, 7, 5, 0, tzinfo=dt.UTC)


def population():
    """A simulated population shuffled in windows, a sixth sent twice, and records that link children
    (a national ID arriving on a record of a child known without it)."""
    dataset = generate_dataset(30, seed=5, now=NOW)
    events = list(dataset.events)
    rng = random.Random(3)
    for start in range(0, len(events), 40):
        window = events[start:start + 40]
        rng.shuffle(window)
        events[start:start + 40] = window
    events += [events[i] for i in sorted(rng.sample(range(len(events)), len(events) // 6))]
    middle = len(events) // 2
    events[middle:middle] = [
        ("health", event("health", "child.registered", subject=child(local_id="BULK-1", national_id=None))),
        ("social", event("social", "child.enrolled", subject=child(local_id="BULK-S", national_id="1234567890121")))]
    events.append(("health", event("health", "child.immunised",
                                   subject=child(local_id="BULK-1", national_id="1234567890121"))))
    return events


def live_service(store, clock):
    """ReferralService's consumer work without nameko (as test_referral_differential builds it)."""
    outbox = ListOutbox()

    class Backend:
        pass

    backend = Backend()
    backend.store = store
    backend.referrals = Referrals(store, outbox, clock=clock)
    backend.linking = Linking(store, outbox, backend.referrals, clock=clock)
    backend.known = KnownRecords(store)
    service = ReferralService.__new__(ReferralService)
    service.backend = backend
    return service, outbox


def runs_by_department(events):
    """Consecutive events of one department, as its queue hands a batch over, in the file's order."""
    run, department = [], None
    for each_department, body in events:
        if run and each_department != department:
            yield department, run
            run = []
        department = each_department
        run.append(body)
    if run:
        yield department, run


def outcome(store, outbox):
    def rows(sql):
        return [json.loads(row["doc"]) for row in store.db.read(sql)]

    return {
        "referrals": rows("SELECT doc FROM referrals ORDER BY referral_id"),
        "reviews": rows("SELECT doc FROM identity_reviews ORDER BY review_id"),
        "merges": rows("SELECT doc FROM merges ORDER BY merge_id"),
        "keys": [dict(r) for r in store.db.read("SELECT key, child_id FROM child_keys ORDER BY key")],
        "outbox": sorted(outbox.events.values(), key=lambda e: e["event_id"]),
        "timelines": [dict(r) for r in store.db.read(
            "SELECT department, event_id, child_id, duplicates FROM timeline ORDER BY department, event_id")],
    }


def write_file(path, events):
    with open(path, "w", encoding="utf-8") as handle:
        write_events(handle, events)
    return path


@pytest.mark.timeout(300)
def test_the_bulk_load_gives_what_the_live_consumer_gives(tmp_path):
    events = population()
    clock = Clock()
    clock.now = NOW
    live_store = SqliteTimelineStore(tmp_path / "live.sqlite3")
    service, live_outbox = live_service(live_store, clock)
    for department, bodies in runs_by_department(events):
        # what the department's ingest publishes: the checked event, as JSON
        service._take_in_batch([json.loads(json.dumps(validate_event(b, department))) for b in bodies], department)
    live = outcome(live_store, live_outbox)

    bulk_store = SqliteTimelineStore(tmp_path / "bulk.sqlite3")
    bulk_outbox = ListOutbox()
    tally = BulkReferral(bulk_store, bulk_outbox, matching=True, clock=clock).load(
        read_lines(write_file(tmp_path / "history.jsonl", events)), batch=64)
    bulk = outcome(bulk_store, bulk_outbox)

    assert not tally.refused and tally.applied + tally.duplicates == len(events)
    assert len(live["referrals"]) > 10 and live["merges"] and live["outbox"]
    assert {r["status"] for r in live["referrals"]} >= {"requested", "cancelled"}
    for part in live:
        assert bulk[part] == live[part], part


def store_env(tmp_path, monkeypatch, matching="0"):
    monkeypatch.setenv("CHILDLINK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MONGO_URI", raising=False)
    monkeypatch.setattr(bulk_load, "MATCHING", matching == "1")


def test_a_refused_line_is_named_by_number_and_field_and_nothing_of_it_is_kept(tmp_path, monkeypatch, capsys):
    store_env(tmp_path, monkeypatch)
    good = event("health", "child.registered", subject=child(local_id="OK-1"))
    broken = event("health", "child.registered", subject=child(local_id="BAD-1"))
    broken["subject"]["child"]["birth_date"] = "not a date"
    after = event("health", "child.registered", subject=child(local_id="OK-2"))
    path = write_file(tmp_path / "history.jsonl", [("health", good), ("health", broken)])
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("{not json\n")
        handle.write(json.dumps({"department": "health", "event": after}) + "\n")

    assert bulk_load.main([str(path), "--no-progress", "--batch", "10"]) == 1
    err = capsys.readouterr().err
    assert "line 2: subject.child.birth_date:" in err and "line 3: _line: not JSON" in err, err
    store = SqliteTimelineStore(tmp_path / "data" / "referral.sqlite3")
    stored = {r["event_id"] for r in store.db.read("SELECT event_id FROM timeline")}
    assert stored == {good["event_id"], after["event_id"]}
    assert not [r for r in store.db.read("SELECT key FROM child_keys") if "BAD-1" in r["key"]]


def test_a_rerun_stores_nothing_twice_and_a_store_not_empty_is_refused_without_the_flag(tmp_path, monkeypatch,
                                                                                    capsys):
    store_env(tmp_path, monkeypatch)
    path = write_file(tmp_path / "history.jsonl", population())
    assert bulk_load.main([str(path), "--no-progress"]) == 0
    store = SqliteTimelineStore(tmp_path / "data" / "referral.sqlite3")
    first = outcome_rows(store)
    assert first["outbox"] > 0  # the raised referrals' events wait in the referral's outbox for the relay

    assert bulk_load.main([str(path), "--no-progress"]) == 3
    assert "already holds events" in capsys.readouterr().err
    assert bulk_load.main([str(path), "--no-progress", "--into-existing"]) == 0
    assert " 0 applied" in capsys.readouterr().out
    assert outcome_rows(store) == first


def outcome_rows(store):
    def count(sql):
        return store.db.read(sql)[0][0]

    return {"timeline": count("SELECT COUNT(*) FROM timeline"), "referrals": count("SELECT COUNT(*) FROM referrals"),
            "children": count("SELECT COUNT(*) FROM children"), "outbox": count("SELECT COUNT(*) FROM outbox"),
            "docs": [r["doc"] for r in store.db.read("SELECT doc FROM referrals ORDER BY referral_id")]}


def test_with_insights_fills_the_citys_store_from_the_same_file_in_a_second_process(tmp_path, monkeypatch):
    store_env(tmp_path, monkeypatch)
    path = write_file(tmp_path / "history.jsonl", population())
    assert bulk_load.main([str(path), "--no-progress", "--with-insights"]) == 0
    from childlink_insights.store.sqlite_store import SqliteInsightsStore

    insights = SqliteInsightsStore(tmp_path / "data" / "insights.sqlite3")
    assert insights.db.read("SELECT COUNT(*) FROM cells")[0][0] > 0
    # its own empty-store check: a second run without the flag is refused by both
    assert bulk_load.main([str(path), "--no-progress", "--with-insights"]) == 3
