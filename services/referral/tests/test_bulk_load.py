"""The bulk first load (childlink_referral.bulk_load) against the live consumer's batch handler over the
same shuffled simulated population, on real SQLite stores: the same timelines and identity links, the
same referrals standing, each as the child's whole history calls for it, whatever the file's order; refused lines reported by number and field with nothing of them kept; a re-run
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
from childlink_referral.rules import build_state, evaluate
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


def live_outcome(tmp_path, events, clock):
    store = SqliteTimelineStore(tmp_path / "live.sqlite3")
    service, outbox = live_service(store, clock)
    for department, bodies in runs_by_department(events):
        # what the department's ingest publishes: the checked event, as JSON
        service._take_in_batch([json.loads(json.dumps(validate_event(b, department))) for b in bodies], department)
    return outcome(store, outbox)


def bulk_outcome(tmp_path, events, clock, name="bulk"):
    store = SqliteTimelineStore(tmp_path / f"{name}.sqlite3")
    outbox = ListOutbox()
    tally = BulkReferral(store, outbox, matching=True, clock=clock).load(
        read_lines(write_file(tmp_path / f"{name}.jsonl", events)), batch=64)
    assert not tally.refused and not tally.rules_failed and tally.applied + tally.duplicates == len(events)
    return outcome(store, outbox), store


def standing(referrals):
    return sorted((r["child_id"], r["rule_key"], r["status"], r["reason"], r["to"].get("facility"))
                  for r in referrals if r["status"] != "cancelled")


@pytest.mark.timeout(300)
def test_the_bulk_load_gives_the_live_consumers_children_and_the_referrals_their_whole_history_calls_for(tmp_path):
    events = population()
    clock = Clock()
    clock.now = NOW
    live = live_outcome(tmp_path, events, clock)
    bulk, bulk_store = bulk_outcome(tmp_path, events, clock)

    for part in ("timelines", "keys", "merges", "reviews"):  # one child's records never split or differ
        assert bulk[part] == live[part], part
    assert live["merges"] and len(live["referrals"]) > 10
    # live, the file's order raises referrals its later lines withdraw at once; the bulk load runs the
    # rules on each child's whole history, so it raises only what stands, and the same ones stand
    assert {r["status"] for r in live["referrals"]} >= {"requested", "cancelled"}
    assert {r["status"] for r in bulk["referrals"]} <= {"requested", "completed"}
    assert standing(bulk["referrals"]) == standing(live["referrals"])
    # each referral carries what the child's whole history says now (live, the note of a referral
    # raised early can name a dose a later line records)
    for referral in bulk["referrals"]:
        state = build_state(referral["child_id"], bulk_store.profile(referral["child_id"]),
                            bulk_store.timeline(referral["child_id"]))
        proposal = evaluate(state, NOW).proposals[referral["rule_key"]]
        assert (referral["note"], sorted(referral["source_event_ids"])) == (
            proposal.note, sorted(proposal.source_event_ids)), referral["referral_id"]
    kinds = [e["type"] for e in bulk["outbox"] if e["type"].startswith("referral.")]
    assert kinds.count("referral.requested") == len(bulk["referrals"])
    assert set(kinds) <= {"referral.requested", "referral.evidence_attached", "referral.completed"}, set(kinds)
    linked = [e for e in live["outbox"] if not e["type"].startswith("referral.")]
    assert [e for e in bulk["outbox"] if not e["type"].startswith("referral.")] == linked


def by_child_keys(store):
    """The referrals as (the child's keys, rule key, status, note, source events): what a health worker
    sees, whichever child id a merge kept."""
    keys = {}
    for row in store.db.read("SELECT key, child_id FROM child_keys"):
        keys.setdefault(row["child_id"], []).append(row["key"])
    return sorted((tuple(sorted(keys[r["child_id"]])), r["rule_key"], r["status"], r["note"],
                   tuple(sorted(r["source_event_ids"])))
                  for r in (json.loads(row["doc"]) for row in store.db.read("SELECT doc FROM referrals")))


@pytest.mark.timeout(300)
def test_the_bulk_loads_referrals_do_not_depend_on_the_files_order(tmp_path):
    events = population()
    clock = Clock()
    clock.now = NOW
    _, in_order = bulk_outcome(tmp_path, events, clock, "in_order")
    shuffled = events[:]
    random.Random(11).shuffle(shuffled)
    _, out_of_order = bulk_outcome(tmp_path, shuffled, clock, "shuffled")
    assert len(by_child_keys(in_order)) > 10
    assert by_child_keys(out_of_order) == by_child_keys(in_order)


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
