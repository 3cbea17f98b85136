"""Ingest on a fake outbox: all or nothing, every bad field named, nothing stored on refusal."""

import json

from childlink_common.ingest import MAX_BATCH, accept_events
from childlink_common.logs import drop_personal_data
from childlink_common.outbox.sqlite_store import SqliteOutbox
from childlink_common.testing.events import event


class FakeOutbox:
    def __init__(self):
        self.stored = {}

    def add(self, events, accepted_at, refuse_conflicts=False):
        statuses = []
        for e in events:
            statuses.append("duplicate" if e["event_id"] in self.stored else "accepted")
            self.stored.setdefault(e["event_id"], e)
        return statuses


def body(value):
    return json.dumps(value).encode()


def test_one_event_or_a_batch_is_accepted_with_its_ids():
    outbox = FakeOutbox()
    single = event("health", "child.registered")
    answer = accept_events(body(single), "health", outbox)
    assert answer.status == 202 and answer.body["accepted"] == [{"event_id": single["event_id"], "status": "accepted"}]
    batch = [event("health", "child.immunised"), single]
    answer = accept_events(body(batch), "health", outbox)
    assert [a["status"] for a in answer.body["accepted"]] == ["accepted", "duplicate"]
    assert outbox.stored[single["event_id"]]["correlation_id"] == single["event_id"]


def test_an_invalid_event_refuses_the_whole_batch_naming_each_field():
    outbox = FakeOutbox()
    bad = event("health", "child.growth_measured", payload={"weight_kg": -1})
    bad["subject"]["child"]["national_id"] = "1234567890122"
    answer = accept_events(body([event("health", "child.registered"), bad]), "health", outbox)
    assert answer.status == 422
    assert set(answer.body["errors"]["1"]) == {"payload.weight_kg", "payload.height_cm",
                                               "subject.child.national_id"}
    assert outbox.stored == {}


def test_malformed_empty_oversized_and_repeated_batches_are_refused():
    outbox = FakeOutbox()
    assert accept_events(b"{nope", "health", outbox).status == 400
    assert accept_events(b"[]", "health", outbox).status == 422
    assert accept_events(body([{}] * (MAX_BATCH + 1)), "health", outbox).status == 413
    twice = event("health", "child.registered")
    answer = accept_events(body([twice, twice]), "health", outbox)
    assert answer.status == 422 and answer.body["errors"]["1"] == {"event_id": ["appears twice in this batch"]}
    assert outbox.stored == {}


def test_errors_name_the_requests_own_positions():
    # before: positions were counted over the valid events only, so the repeated id was named "5"
    batch = [event("health", "child.registered") for _ in range(8)]
    batch[3]["payload"] = {"birth_weight_g": -1}
    batch[6]["event_id"] = batch[5]["event_id"]
    answer = accept_events(body(batch), "health", FakeOutbox())
    assert answer.status == 422
    assert set(answer.body["errors"]) == {"3", "6"}
    assert answer.body["errors"]["6"] == {"event_id": ["appears twice in this batch"]}
    assert "payload.birth_weight_g" in answer.body["errors"]["3"]


def test_an_event_id_sent_again_with_other_content_is_a_conflict_and_nothing_is_stored(tmp_path):
    outbox = SqliteOutbox(tmp_path / "health.sqlite3")
    try:
        first = event("health", "child.growth_measured")
        assert accept_events(body(first), "health", outbox).status == 202
        changed = {**first, "payload": {"weight_kg": 10.1, "height_cm": 76.0}}
        fresh = event("health", "child.immunised")
        answer = accept_events(body([fresh, changed]), "health", outbox)
        assert answer.status == 409 and answer.body["error"] == "conflict"
        assert list(answer.body["errors"]) == ["1"] and list(answer.body["errors"]["1"]) == ["event_id"]
        assert outbox.get(fresh["event_id"]) is None
        assert outbox.get(first["event_id"])["event"]["payload"] == first["payload"]
        # the same content again (a new recorded_at is no new content) stays a duplicate
        again = {**first, "recorded_at": event("health", "child.registered", occurred_days_ago=1)["recorded_at"]}
        answer = accept_events(body(again), "health", outbox)
        assert answer.status == 202 and answer.body["accepted"][0]["status"] == "duplicate"
    finally:
        outbox.close()


def test_log_lines_lose_personal_fields_whoever_logs_them():
    line = drop_personal_data(None, "info", {"event": "x", "national_id": "1234567890121", "given_name": "สมใจ",
                                             "event_id": "e1"})
    assert line == {"event": "x", "national_id": "[redacted]", "given_name": "[redacted]", "event_id": "e1"}
