"""Group commit of ingest on the real SQLite outbox: requests taken in at once share one commit, each
keeps its own all-or-nothing answer, and none is answered before its events are committed."""

import json
import sqlite3

import eventlet
import pytest
from childlink_common.errors import StoreUnavailable
from childlink_common.ingest import accept_events
from childlink_common.outbox.group_commit import GroupCommit
from childlink_common.outbox.sqlite_store import SqliteOutbox
from childlink_common.testing.events import event


@pytest.fixture
def outbox(tmp_path):
    store = SqliteOutbox(tmp_path / "health.sqlite3")
    yield store
    store.close()


def on_file(path):
    conn = sqlite3.connect(path)
    try:
        return {row[0] for row in conn.execute("SELECT event_id FROM outbox")}
    finally:
        conn.close()


def test_requests_at_once_share_one_commit_and_each_is_committed_when_answered(outbox, tmp_path):
    group = GroupCommit(outbox)
    events = [event("health", "child.registered") for _ in range(20)]
    seen_on_file = {}

    def post(one):
        answer = accept_events(json.dumps(one).encode(), "health", group)
        seen_on_file[one["event_id"]] = one["event_id"] in on_file(tmp_path / "health.sqlite3")
        return answer

    pool = eventlet.GreenPool()
    answers = list(pool.imap(post, events))
    assert [a.status for a in answers] == [202] * 20
    assert [a.body["accepted"][0]["event_id"] for a in answers] == [e["event_id"] for e in events]
    assert all(seen_on_file.values())  # committed (on the file, seen by another connection) before the answer
    assert group.adds == 20 and group.commits < 5


def test_a_conflicting_request_is_refused_alone(outbox):
    group = GroupCommit(outbox)
    first = event("health", "child.registered")
    assert accept_events(json.dumps(first).encode(), "health", group).status == 202
    changed = {**first, "payload": {"birth_weight_g": 3200}}
    others = [event("health", "child.registered") for _ in range(3)]
    requests = [others[0], [others[1], changed], others[2]]
    answers = list(eventlet.GreenPool().imap(
        lambda body: accept_events(json.dumps(body).encode(), "health", group), requests))
    assert [a.status for a in answers] == [202, 409, 202]
    assert outbox.get(others[1]["event_id"]) is None  # the refused request's other event was not kept
    assert outbox.get(others[0]["event_id"]) and outbox.get(others[2]["event_id"])


def test_a_failed_commit_fails_every_request_of_the_group(outbox, monkeypatch):
    group = GroupCommit(outbox)
    real = outbox.db.transaction

    def failing(*args, **kwargs):
        if outbox.db.in_transaction():
            return real(*args, **kwargs)
        raise StoreUnavailable("sqlite: disk I/O error")

    monkeypatch.setattr(outbox.db, "transaction", failing)
    bodies = [event("health", "child.registered") for _ in range(3)]

    def post(body):
        try:
            return accept_events(json.dumps(body).encode(), "health", group).status
        except StoreUnavailable:
            return "unavailable"

    assert list(eventlet.GreenPool().imap(post, bodies)) == ["unavailable"] * 3
    monkeypatch.undo()
    assert outbox.backlog() == 0


def test_an_outbox_without_batches_is_called_directly():
    class Plain:
        def add(self, events, accepted_at, refuse_conflicts=False):
            return ["accepted"] * len(events)

    group = GroupCommit(Plain())
    assert group.add([{"event_id": "x"}], 1.0) == ["accepted"]
    assert group.commits == 0
