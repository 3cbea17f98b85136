"""The batch deduplication after a first load of history (taken in with matching off): the plain domain
function on the real SQLite adapter (World), its command, and its precision on the simulator's labelled set."""

import datetime as dt
import json

import pytest
from childlink_common.testing.events import child, event
from childlink_referral import dedup
from childlink_referral.dedup import deduplicate
from childlink_referral.identity import (
    KnownRecords,
    matched_subject,
    profile_of,
    record_key_of,
    resolve,
)
from childlink_referral.testing import World
from childlink_tools.identity_errors import generate_identity_dataset

MOTHER = {"national_id": "3100701443816", "phone": "0812345678", "relation": "mother"}
REGISTRAR = {"user_id": "reg.1", "role": "registrar", "department": "health"}
FIXED_NOW = dt.datetime(2025, 6, 30, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path, matching=False)  # a first load of history: no record scored at intake
    yield w
    w.store.close()


def registered(department, local_id, given_name="สมใจ", guardian=MOTHER, days=30, **kw):
    type_ = {"health": "child.registered", "social": "child.enrolled", "medical": "child.diagnosed",
             "education": "child.enrolled"}[department]
    if guardian is not None:
        kw["guardian"] = guardian
    return event(department, type_, subject=child(local_id=local_id, national_id=None, given_name=given_name, **kw),
                 occurred_days_ago=days)


def run(world, **kw):
    return deduplicate(world.store, world.linking, KnownRecords(world.store), **kw)


def reviews(world, status=None):
    return world.store.find_identity_reviews(status, 0, 100)[1]


def identity_events(world):
    return [e for e in world.outbox.events.values() if e["type"].startswith("child.")]


def load_a_child_in_two_departments_and_twins(world):
    health = world.send(registered("health", "HN1", given_name="ด.ญ.สมใจ", days=60),
                        event("health", "child.immunised", subject=child(local_id="HN1", national_id=None),
                              payload={"vaccine": "MMR", "dose": 1}, occurred_days_ago=50))
    social = world.send(registered("social", "S1", given_name="สมใจ", days=20))  # title dropped: the same child
    twin = world.send(registered("health", "HN2", given_name="สมหญิง", days=60))  # her twin sister
    return health, social, twin


def test_a_child_registered_by_two_departments_without_national_id_becomes_one(world):
    health, social, twin = load_a_child_in_two_departments_and_twins(world)
    assert len({health, social, twin}) == 3  # matching was off: three children
    seen = []
    report = run(world, progress=lambda done, total: seen.append((done, total)))
    assert (report.records, report.children_before, report.children_after, report.links) == (3, 3, 2, 1)
    assert seen[-1] == (3, 3) and len(seen) == 3
    # the older child (first stored) is kept; the other's timeline moved to it
    assert world.store.merged_into(social) == health and world.store.merged_into(health) is None
    timeline = world.store.timeline(health)
    assert len(timeline) == 3 and {e["department"] for e in timeline} == {"health", "social"}
    assert world.store.timeline(social) == []
    [merge] = world.store.merges_of_child(social)
    assert (merge["how"], merge["by"]["role"], merge["outcome"]["decision"]) == ("dedup", "dedup", "link")
    assert merge["outcome"]["reasons"][0]["code"] == "above_link" and merge["outcome"]["comparison"]
    [linked] = [e for e in identity_events(world) if e["type"] == "child.linked"]
    assert linked["payload"]["kept_id"] == health and linked["payload"]["how"] == "dedup"
    # later events for the social record land on the one child
    assert world.send(event("social", "household.risk_assessed", subject=child(local_id="S1", national_id=None))) \
        == health


def test_twins_are_sent_to_review_not_merged(world):
    health, _, twin = load_a_child_in_two_departments_and_twins(world)
    report = run(world)
    assert world.store.merged_into(twin) is None and len(world.store.timeline(twin)) == 1
    assert report.reviews == 1
    [review] = reviews(world)
    # the newer child is the one in question, the older the candidate (kept if a person links them)
    assert (review["status"], review["child_id"], review["candidate_id"]) == ("open", twin, health)
    assert review["record_key"] == "local:health:HC-1001-01:HN2" and review["outcome"]["decision"] == "review"


def test_a_pair_kept_apart_by_a_person_is_not_sent_to_review_again(world):
    _, _, twin = load_a_child_in_two_departments_and_twins(world)
    run(world)
    [review] = reviews(world)
    assert world.linking.decide(REGISTRAR, review["review_id"], "keep_apart", "twins", expected_version=1)["ok"]
    again = run(world)
    assert (again.reviews, again.already_reviewed, again.links) == (0, 1, 0)
    assert [r["status"] for r in reviews(world)] == ["kept_apart"]
    assert world.store.merged_into(twin) is None


def test_a_merge_a_person_undid_is_not_made_again(world):
    health, social, _ = load_a_child_in_two_departments_and_twins(world)
    run(world)
    [merge] = world.store.merges_of_child(social)
    assert world.linking.undo(REGISTRAR, merge["merge_id"], "two children", 1)["ok"]
    again = run(world)
    assert (again.links, again.unlinked_before) == (0, 1)
    assert world.store.merged_into(social) is None and world.store.merged_into(health) is None


def test_running_twice_makes_no_second_link(world):
    load_a_child_in_two_departments_and_twins(world)
    first = run(world)
    linked_events = len(identity_events(world))
    second = run(world)
    assert first.links == 1 and second.links == 0 and second.reviews == 0
    assert second.children_before == second.children_after == first.children_after
    assert len(identity_events(world)) == linked_events
    assert len([m for m in world.store.merges_of_child(world.store.find_child("local:social:CDC-1001-01:S1"))]) == 1


def test_dry_run_writes_nothing_and_counts_what_a_run_does(world):
    load_a_child_in_two_departments_and_twins(world)
    log_before = world.store.match_log_since(0, 1000)
    dry = run(world, dry_run=True)
    assert dry.dry_run and (dry.links, dry.reviews, dry.children_after) == (1, 1, 2)
    assert world.store.match_log_since(0, 1000) == log_before
    assert reviews(world) == [] and identity_events(world) == []
    assert world.store.stats()["children"] == 3
    assert all(world.store.merged_into(r["child_id"]) is None for r in log_before)
    real = run(world)
    assert (real.links, real.reviews, real.children_after) == (dry.links, dry.reviews, dry.children_after)


def test_the_command_prints_a_table_and_writes_the_report(world, tmp_path, monkeypatch, capsys):
    load_a_child_in_two_departments_and_twins(world)
    monkeypatch.setenv("CHILDLINK_DATA_DIR", str(tmp_path))  # the World's file is the command's store
    monkeypatch.delenv("MONGO_URI", raising=False)
    path = tmp_path / "dedup.json"
    assert dedup.main(["--dry-run", "--report", str(path), "--no-progress"]) == 0
    assert "links made (dry run)" in capsys.readouterr().out
    written = json.loads(path.read_text())
    assert (written["records"], written["links"], written["reviews"], written["dry_run"]) == (3, 1, 1, True)
    assert reviews(world) == []
    assert dedup.main(["--limit", "1"]) == 0  # the first record only: the health one, linked to the social one
    out, err = capsys.readouterr()
    assert out.splitlines()[0].split() == ["records", "scanned", "1"] and "1/1" in err  # the progress bar is on stderr
    health = world.store.find_child("local:health:HC-1001-01:HN1")
    assert len(world.store.merges_of_child(health)) == 1 and reviews(world) == []


# --- the simulator's labelled set ------------------------------------------------------------------


def load_directly(store, dataset):
    """Each registration taken in as a first load would: its child by keys only (a valid national ID or
    the record key), its match record and profile. The subjects are as departments keyed them."""
    for record in dataset.records:
        body = {"source": {"department": record.department, "facility": {"code": record.facility_code}},
                "subject": {"child": record.subject}}
        found = resolve(store, body)  # no KnownRecords: deterministic keys only
        store.upsert_match_record(record_key_of(body), found.child_id, matched_subject(body))
        store.save_profile(found.child_id, profile_of(body), record.registered_on.isoformat())
    return {f"local:{r.department}:{r.facility_code}:{r.local_id}": r.child_key for r in dataset.records}


def test_links_on_the_labelled_simulated_set_are_precise(world):
    dataset = generate_identity_dataset(300, seed=5, now=FIXED_NOW)
    truth = load_directly(world.store, dataset)
    start = {key: world.store.match_record(key)["child_id"] for key in truth}
    ticks = iter(range(1_000_000))
    world.linking.clock = lambda: FIXED_NOW + dt.timedelta(seconds=next(ticks))  # merges in the order made
    report = run(world)
    assert report.records == len(dataset.records) and report.links > 20
    # replay the merges on the starting partition: each must join records of one true child
    members = {}
    for key, child_id in start.items():
        members.setdefault(child_id, set()).add(truth[key])
    merges = sorted((m for child_id in members for m in world.store.merges_of_child(child_id)
                     if m["how"] == "dedup"), key=lambda m: (m["at"], m["merge_id"]))
    merges = list({m["merge_id"]: m for m in merges}.values())
    assert len(merges) == report.links
    right = 0
    for merge in merges:
        kept, merged = members[merge["kept_id"]], members.pop(merge["merged_id"])
        right += bool(kept & merged)
        kept |= merged
    assert right / len(merges) >= 0.99, (right, len(merges))
    assert report.children_after == len(members)
