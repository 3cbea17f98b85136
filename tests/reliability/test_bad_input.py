"""Scenario 7: bad input at the ingest API gets a clear error naming the problem; nothing is stored or
published. In-process against accept_events with a real SQLite outbox (named cases, then hypothesis),
then a smaller round over HTTP against the real services.

The in-process fuzz also follows each accepted event downstream: as its relay would publish it, the
referral's intake and rules must take it without an error. An event that ingest accepts but the
referral cannot store would be retried, then dead-lettered: accepted, yet never on the timeline.
"""

import json
import tempfile
import time
from pathlib import Path

import pytest
import requests
from childlink_common.ingest import accept_events
from childlink_common.outbox.sqlite_store import SqliteOutbox
from childlink_common.testing.services import api_key
from childlink_contracts import INGEST_DEPARTMENTS
from childlink_referral.intake import take_in
from childlink_referral.store.sqlite_store import SqliteTimelineStore
from childlink_referral.workflow import Referrals
from hypothesis import HealthCheck, given, settings

from .bad_input import answer_mentions, named_cases, request_body, seed_events
from .harness import SCALE, SIZE, Figures, fresh_run

SEEDS = seed_events()
# 409: an event_id the fuzz drew again, with other content (childlink_contracts.content): refused whole
OK_STATUSES = {202, 400, 409, 413, 422}


class Downstream:
    """A department outbox and the referral's store, rules and outbox, as scratch SQLite files."""

    def __init__(self):
        self.folder = tempfile.TemporaryDirectory()
        folder = Path(self.folder.name)
        self.outboxes = {d: SqliteOutbox(folder / f"{d}.sqlite3") for d in INGEST_DEPARTMENTS}
        self.store = SqliteTimelineStore(folder / "referral.sqlite3")
        self.referral_outbox = SqliteOutbox(folder / "referral-outbox.sqlite3")
        for store in (*self.outboxes.values(), self.store, self.referral_outbox):
            store.db.read("PRAGMA synchronous=OFF")
        self.referrals = Referrals(self.store, self.referral_outbox)
        self.tally = {"requests": 0, "accepted": 0, "rejected": 0, "taken_in": 0}

    def count(self):
        return sum(o.db.read("SELECT COUNT(*) AS n FROM outbox")[0]["n"] for o in self.outboxes.values())

    def close(self):
        for store in (*self.outboxes.values(), self.store, self.referral_outbox):
            store.close()
        self.folder.cleanup()


def check_answer(answer_status, body, raw, stored_before, stored_after):
    """What every answer must be, whatever the input."""
    assert answer_status in OK_STATUSES, (answer_status, body, raw[:300])
    json.dumps(body, ensure_ascii=False).encode("utf-8")  # the answer itself can be sent
    if answer_status == 202:
        return
    assert stored_after == stored_before, "a rejected request stored something"
    assert body.get("error") and body.get("detail"), body
    if answer_status == 409:
        assert body["error"] == "conflict" and body["errors"], body
        assert all(list(per_event) == ["event_id"] for per_event in body["errors"].values()), body
    if answer_status == 422:
        assert body["errors"], body
        for per_event in body["errors"].values():
            items = per_event.items() if isinstance(per_event, dict) else [("_batch", per_event)]
            for path, messages in items:
                assert path and messages and all(isinstance(m, str) and m for m in messages), body


@pytest.fixture(scope="module")
def downstream():
    scratch = Downstream()
    yield scratch
    scratch.close()


@pytest.mark.parametrize("case", named_cases(), ids=lambda case: case[0])
def test_each_bad_input_is_refused_with_an_error_naming_it(case, downstream):
    _name, department, raw, status, expected = case
    before = downstream.count()
    answer = accept_events(raw, department, downstream.outboxes[department])
    check_answer(answer.status, answer.body, raw, before, downstream.count())
    assert answer.status == status, answer.body
    for field, words in expected.items():
        assert answer_mentions(answer.body, field, words), (field, words, answer.body)


@pytest.mark.timeout(300 if SCALE == "short" else 3600)
@settings(max_examples=SIZE["fuzz_examples"], deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(request=request_body(SEEDS))
def test_fuzzed_requests_are_answered_cleanly_and_whatever_is_accepted_can_be_taken_in(request, downstream):
    department, raw = request
    before = downstream.count()
    answer = accept_events(raw, department, downstream.outboxes[department])
    downstream.tally["requests"] += 1
    check_answer(answer.status, answer.body, raw, before, downstream.count())
    if answer.status != 202:
        downstream.tally["rejected"] += 1
        return
    for item in answer.body["accepted"]:
        stored = downstream.outboxes[department].get(item["event_id"])
        assert stored is not None
        downstream.tally["accepted"] += 1
        body = json.loads(json.dumps(stored["event"], separators=(",", ":")))  # as the relay publishes it
        intake = take_in(downstream.store, body, department)  # anything but success is a defect here
        if not intake.child_id.startswith("centre:"):
            downstream.referrals.reconcile_child(intake.child_id)
        downstream.tally["taken_in"] += 1


def test_record_in_process_figures(downstream):
    tally = downstream.tally
    Figures(scenario="7a-bad-input-in-process", sent=tally["requests"], accepted=tally["accepted"],
            rejected=tally["rejected"], applied=tally["taken_in"], consumed=tally["taken_in"],
            lost=tally["accepted"] - tally["taken_in"],
            notes={"named_cases": len(named_cases()), "fuzzed_requests": tally["requests"],
                   "fuzz_examples_setting": SIZE["fuzz_examples"]}).save()
    assert tally["accepted"] == tally["taken_in"]


# --- over HTTP, against the real services ----------------------------------------------------------

@pytest.fixture(scope="module")
def http_run(private_broker):
    run = fresh_run(private_broker, "7b-bad-input-http", services=("health", "social", "referral"))
    run.start()
    yield run
    run.stop()


def _post(run, department, raw, key=None):
    return requests.post(f"{run.system[department].url}/v1/events", data=raw, timeout=60,
                         headers={"X-API-Key": api_key(department) if key is None else key,
                                  "Content-Type": "application/json"})


def _ids_in(raw):
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):
        return []
    events = document if isinstance(document, list) else [document]
    return [e["event_id"] for e in events if isinstance(e, dict) and isinstance(e.get("event_id"), str)]


def _not_stored(run, department, event_ids):
    for event_id in event_ids[:5]:
        response = requests.get(f"{run.system[department].url}/v1/events/{event_id}", timeout=10,
                                headers={"X-API-Key": api_key(department)})
        assert response.status_code in (404, 405), (event_id, response.status_code)


@pytest.mark.e2e
@pytest.mark.timeout(300 if SCALE == "short" else 3600)
def test_bad_input_over_http(http_run):
    run = http_run
    refused = 0
    for name, department, raw, status, expected in named_cases():
        response = _post(run, department, raw)
        assert response.status_code == status, (name, response.status_code, response.text[:500])
        body = response.json()
        for field, words in expected.items():
            assert answer_mentions(body, field, words), (name, field, words, body)
        _not_stored(run, department, _ids_in(raw))
        refused += 1
    valid = json.dumps([SEEDS[("health", "child.registered")]]).encode()
    response = _post(run, "health", valid, key="test-social-key")  # another department's key
    assert response.status_code == 401 and "X-API-Key" in response.json()["detail"]
    response = _post(run, "health", valid, key="")
    assert response.status_code == 401
    _not_stored(run, "health", _ids_in(valid))
    refused += 2
    run.http_refused = refused


@pytest.mark.e2e
@pytest.mark.timeout(300 if SCALE == "short" else 3600)
def test_fuzzed_requests_over_http(http_run):
    run = http_run
    statuses = {}

    @settings(max_examples=SIZE["http_fuzz_examples"], deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(request=request_body({k: v for k, v in SEEDS.items() if k[0] in ("health", "social")}))
    def round_trip(request):
        department, raw = request
        response = _post(run, department, raw)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert response.status_code in OK_STATUSES, (response.status_code, response.text[:500], raw[:300])
        body = response.json()
        if response.status_code == 202:
            for item in body["accepted"]:
                run.accepted[item["event_id"]] = department
                run.accepted_pairs.add((department, item["event_id"]))
        else:  # ids accepted by an earlier request are stored, rightly
            _not_stored(run, department, [i for i in _ids_in(raw) if i not in run.accepted])

    round_trip()
    started = time.monotonic()
    waited = run.wait_until_quiet(timeout=120)
    figures = run.figures(
        scenario="7b-bad-input-http", recovery_s=None,
        http_statuses={str(k): v for k, v in sorted(statuses.items())},
        named_cases_refused=getattr(run, "http_refused", None))
    figures.sent = sum(statuses.values()) + (getattr(run, "http_refused", 0) or 0)
    figures.rejected = sum(v for k, v in statuses.items() if k != 202) + (getattr(run, "http_refused", 0) or 0)
    figures.save()
    assert waited is not None, f"accepted events missing after {time.monotonic() - started:.0f}s"
    assert figures.lost == 0
    # nothing published but what was accepted: each accepted event confirmed once, nothing else.
    # (Counted per department: hypothesis may send one event_id to two departments; each stores it.)
    assert figures.confirmed == len(run.accepted_pairs), figures
    assert figures.dead_lettered == 0
