"""Sending many events: batching, the tally, partial rejection, a wrong key, the rate cap, the two commands."""

import json

import pytest
from childlink_tools import cli, simulator
from childlink_tools.sending import Outgoing, RateLimiter, Sender, make_batches
from childlink_tools.simulator import generate_dataset


@pytest.fixture(scope="module")
def small():
    return generate_dataset(12, seed=5)


def outgoing_of(events, department=None):
    return [Outgoing(d, e, f"event {n}") for n, (d, e) in enumerate(events, 1) if department in (None, d)]


def sender_for(fake, **options):
    departments = ("social", "education", "health", "medical")
    return Sender({d: (fake.url(d), f"dev-{d}-key") for d in departments}, progress=False, **options)


def test_batches_keep_order_respect_the_size_and_never_repeat_an_id(small):
    outgoing = outgoing_of(small.events)
    batches = make_batches(outgoing, 7)
    assert max(len(batch.items) for batch in batches) <= 7
    for batch in batches:
        ids = [item.event["event_id"] for item in batch.items]
        assert len(ids) == len(set(ids)) and {item.department for item in batch.items} == {batch.department}
    for department in ("health", "social"):
        flattened = [item for batch in batches if batch.department == department for item in batch.items]
        assert flattened == [item for item in outgoing if item.department == department]


def test_every_event_is_accepted_once_and_each_resend_is_a_known_duplicate(fake_ingest, small):
    tallies = sender_for(fake_ingest, batch_size=20, concurrency=4).send(outgoing_of(small.events))
    unique = {(d, e["event_id"]) for d, e in small.events}
    assert set(fake_ingest.stored) == unique
    assert sum(t.sent for t in tallies.values()) == len(small.events)
    assert sum(t.accepted for t in tallies.values()) == len(unique)
    assert sum(t.duplicate for t in tallies.values()) == sum(t.repeats for t in tallies.values()) \
        == len(small.events) - len(unique) > 0
    assert not any(t.rejected or t.failed for t in tallies.values())


def test_a_rejected_batch_loses_only_the_bad_event(fake_ingest, small):
    events = [(d, json.loads(json.dumps(e))) for d, e in small.events if d == "health"][:10]
    events[3][1]["occurred_at"] = "2569-01-01T09:00:00+07:00"  # a Buddhist-era year
    tally = sender_for(fake_ingest, batch_size=50).send(outgoing_of(events))["health"]
    assert (tally.sent, tally.accepted, tally.rejected) == (10, 9, 1)
    assert tally.problems[0].startswith("event 4: ") and "occurred_at" in tally.problems[0]
    assert len({e["event_id"] for _, e in events} - {key[1] for key in fake_ingest.stored}) == 1


def test_a_wrong_key_fails_that_department_after_one_request(fake_ingest, small):
    sender = Sender({"health": (fake_ingest.url("health"), "not-the-key")}, batch_size=5, concurrency=1,
                    progress=False)
    outgoing = outgoing_of(small.events, "health")[:20]
    tally = sender.send(outgoing)["health"]
    assert tally.failed == 20 and tally.sent == 0
    assert len(fake_ingest.requests) == 1 and "401" in tally.problems[0]


def test_the_rate_cap_spaces_requests_out():
    clock = [100.0]
    waits = []
    limiter = RateLimiter(50, clock=lambda: clock[0], sleep=waits.append)
    for _ in range(4):
        limiter.acquire(25)
    assert waits == [0.5, 1.0, 1.5]


def test_childlink_send_posts_a_jsonl_file_and_reports(fake_ingest, small, tmp_path, capsys):
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for d, e in small.events if d == "health"),
                    encoding="utf-8")
    code = cli.main(["--department", "health", "--url", fake_ingest.url("health"),
                     "--api-key", "dev-health-key", "--no-progress", str(path)])
    assert code == 0
    assert "health" in capsys.readouterr().out
    assert {key for key in fake_ingest.stored} == {("health", e["event_id"]) for d, e in small.events
                                                    if d == "health"}


def test_childlink_send_points_at_the_line_of_a_bad_event(fake_ingest, small, tmp_path, capsys):
    events = [e for d, e in small.events if d == "education"][:3]
    events[1] = {**events[1], "version": 9}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(events), encoding="utf-8")
    code = cli.main(["--department", "education", "--url", fake_ingest.url("education"), "--no-progress",
                     str(path)])
    out = capsys.readouterr().out
    assert code == 1 and f"{path} item 2: version: unknown version 9" in out
    assert not fake_ingest.stored and not fake_ingest.requests  # all or nothing, like one API batch


def test_childlink_send_with_keep_going_sends_the_valid_events_of_a_file_with_a_bad_one(
        fake_ingest, small, tmp_path, capsys):
    events = [e for d, e in small.events if d == "education"][:3]
    events[1] = {**events[1], "version": 9}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(events), encoding="utf-8")
    code = cli.main(["--department", "education", "--url", fake_ingest.url("education"), "--no-progress",
                     "--keep-going", str(path)])
    assert code == 1 and f"{path} item 2: version: unknown version 9" in capsys.readouterr().out
    assert set(fake_ingest.stored) == {("education", events[0]["event_id"]), ("education", events[2]["event_id"])}


def test_childlink_send_sends_no_later_batch_once_the_service_refuses_one(fake_ingest, small, tmp_path, capsys):
    events = [e for d, e in small.events if d == "health"][:6]
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events), encoding="utf-8")
    fake_ingest.answer_next(422, {"error": "invalid_events", "errors": {"0": {"payload": ["refused"]}}})
    code = cli.main(["--department", "health", "--url", fake_ingest.url("health"), "--no-progress",
                     "--batch-size", "2", str(path)])
    capsys.readouterr()
    assert code != 0 and not fake_ingest.stored and len(fake_ingest.requests) == 1


def test_simulator_dry_run_writes_the_events_and_childlink_send_takes_its_own(fake_ingest, tmp_path, capsys):
    out = tmp_path / "sim.jsonl"
    assert simulator.main(["--children", "8", "--seed", "2", "--dry-run", "--out", str(out)]) == 0
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert {line["department"] for line in lines} >= {"health", "social"}
    code = cli.main(["--department", "social", "--url", fake_ingest.url("social"), "--no-progress", str(out)])
    assert code == 0
    assert {department for department, _ in fake_ingest.stored} == {"social"}
    assert "skipped" in capsys.readouterr().err


def test_simulator_drives_all_four_departments_and_prints_a_summary(fake_ingest, capsys, monkeypatch):
    for department in ("social", "education", "health", "medical"):
        monkeypatch.setenv(f"{department.upper()}_URL", fake_ingest.url(department))
    code = simulator.main(["--children", "30", "--seed", "4", "--batch-size", "25", "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0
    total = next(line for line in out.splitlines() if line.startswith("total")).split()
    sent, dups_sent, accepted, dup_known, rejected, failed = map(int, total[1:])
    assert sent == accepted + dup_known and dups_sent == dup_known > 0 and rejected == failed == 0
    assert accepted == len(fake_ingest.stored)
