"""Dead letters: what is kept, what operators see (no child data), what a replay sends, who may do what."""

import json

import pytest
from childlink_common.testing.events import child, event
from childlink_monitor import dead_letters as dl
from childlink_monitor import redaction
from childlink_monitor.console import MonitorApp
from childlink_monitor.store.sqlite_store import SqliteMonitorStore
from childlink_monitor.testing import RecordingReplayer

NATIONAL_ID = "1234567890121"
OPERATOR = {"user_id": "u-ops", "role": "operator"}


def failed_headers(ev, **extra):
    return {"event_id": ev["event_id"], "correlation_id": ev["event_id"], "department": "health",
            "type": ev["type"], "version": 1, "x-childlink-reason": "invalid",
            "x-childlink-error": f"PermanentFailure: national_id {NATIONAL_ID} bad checksum",
            "x-childlink-error-fields": {"subject.child.national_id": [f"{NATIONAL_ID} is not valid"]},
            "x-childlink-traceback": "Traceback ...", "x-childlink-queue": "referral.health.events",
            "x-childlink-exchange": "health.events", "x-childlink-routing-key": ev["type"],
            "x-childlink-attempts": 1, "x-childlink-first-failure": "2025-03-01T00:00:00+00:00",
            "x-childlink-last-failure": "2025-03-01T00:00:00+00:00", "x-delivery-count": 0,
            "x-death": [{"count": 1}], **extra}


def the_event():
    return event("health", "child.screened", subject=child(national_id=NATIONAL_ID))


def test_a_dead_letter_keeps_the_raw_message_and_shows_operators_no_child_data():
    ev = the_event()
    raw = json.dumps(ev, ensure_ascii=False)  # py-amqp may hand a decoded str
    record = dl.record_from_message(raw, failed_headers(ev), {"content_encoding": "utf-8", "message_id": "m"},
                                    {"routing_key": "referral.health.events"}, 1_800_000_000.0)
    assert record["dl_id"].startswith("dl-") and record["department"] == "health"
    assert (record["reason"], record["attempts"], record["queue"]) == ("invalid", 1, "referral.health.events")
    assert json.loads(dl.raw_body(record)) == ev  # kept exactly
    shown = json.dumps(dl.detail(record)) + json.dumps(dl.summary(record))
    for secret in (NATIONAL_ID, "สมใจ", "ใจดี", "2024-03-15", "Traceback"):
        assert secret not in shown
    view = dl.detail(record)
    assert view["body"]["subject"]["child"]["local_id"] == "L1"
    assert view["body"]["payload"]["domains"]["gross_motor"] == "[redacted]"
    assert "subject.child.national_id" in view["error_fields"]
    raw_view = dl.detail(record, raw=True)["raw"]
    assert raw_view["body"] == ev and raw_view["traceback"] == "Traceback ..."
    same = dl.record_from_message(raw.encode(), failed_headers(ev), {}, {}, 1_800_000_999.0)
    assert same["dl_id"] == record["dl_id"]  # one dead-lettering, one id, however often it is delivered


def test_an_undecodable_body_is_described_not_shown():
    record = dl.record_from_message(b"\xff\xfe{not json", {"x-childlink-reason": "undecodable"}, {}, {}, 0.0)
    assert dl.detail(record)["body"] == {"_note": "undecodable body (11 bytes)"}
    assert record["department"] is None and record["reason"] == "undecodable"


def test_replay_headers_drop_failure_and_broker_headers_and_mark_the_replay():
    ev = the_event()
    headers = dl.replay_headers(failed_headers(ev, **{"x-childlink-replay-id": "old"}), "r1", "2025-03-02T00:00:00Z", 2)
    assert headers == {"event_id": ev["event_id"], "correlation_id": ev["event_id"], "department": "health",
                       "type": ev["type"], "version": 1, "x-childlink-replay-id": "r1",
                       "x-childlink-replayed-at": "2025-03-02T00:00:00Z", "x-childlink-replays": 2}


def test_raw_view_is_for_the_departments_own_staff_or_named_roles():
    staff = {"role": "department_staff", "department": "health"}
    assert redaction.may_see_raw(staff, "health")
    assert not redaction.may_see_raw(staff, "social")
    assert not redaction.may_see_raw({"role": "operator"}, "health")
    assert redaction.may_see_raw({"role": "data_steward"}, "health", frozenset({"data_steward"}))
    assert redaction.mask_text(f"id {NATIONAL_ID} and 1-2345-67890-12-1") == "id [national-id] and [national-id]"


@pytest.fixture
def app(tmp_path):
    store = SqliteMonitorStore(tmp_path / "monitor.sqlite3")
    yield MonitorApp(store, replayer=RecordingReplayer())
    store.close()


def add(app, **headers):
    ev = the_event()
    return app.on_dead_letter(json.dumps(ev).encode(), failed_headers(ev, **headers),
                              {"content_type": "application/json", "content_encoding": "utf-8"}, {})


def test_only_operators_replay_or_discard_and_a_discard_needs_a_reason(app):
    record = add(app)
    assert app.replay({"role": "auditor"}, [record["dl_id"]])["error"]["code"] == "forbidden"
    assert app.discard(OPERATOR, "  ", [record["dl_id"]])["error"]["field"] == "reason"
    assert app.replay(OPERATOR)["error"]["code"] == "invalid"
    assert app.dead_letter(record["dl_id"], OPERATOR, raw=True)["error"]["code"] == "forbidden"
    assert app.store.dead_letter(record["dl_id"])["status"] == "open" and not app.replayer.published


def test_a_failed_replay_stays_replayable_and_is_recorded(app):
    record = add(app)
    app.replayer.fail_with = ConnectionError("broker away")
    result = app.replay(OPERATOR, [record["dl_id"]])
    assert [r["outcome"] for r in result["results"]] == ["failed"]
    assert app.store.dead_letter(record["dl_id"])["status"] == "replay_failed"
    app.replayer.fail_with = None
    assert [r["outcome"] for r in app.replay(OPERATOR, [record["dl_id"]])["results"]] == ["confirmed"]
    assert [r["outcome"] for r in app.replays()] == ["confirmed", "failed"]
    assert app.replayer.published[0]["headers"]["x-childlink-replays"] == 2


def test_a_replay_left_half_done_is_taken_up_again_only_once_stale(app, monkeypatch):
    record = add(app)
    stuck = app.store.transition(record["dl_id"], 1, {"status": "replaying"},
                                 {"at": dl.now_iso(app.clock()), "action": "replay_started"})
    assert stuck["status"] == "replaying"
    assert [r["outcome"] for r in app.replay(OPERATOR, [record["dl_id"]])["results"]] == ["skipped"]
    later = app.clock() + 120
    monkeypatch.setattr(app, "clock", lambda: later)
    assert [r["outcome"] for r in app.replay(OPERATOR, [record["dl_id"]])["results"]] == ["confirmed"]


def test_replay_by_filter_takes_open_and_failed_ones_only(app):
    a, b, c = add(app), add(app), add(app, **{"x-childlink-reason": "max_attempts"})
    app.discard(OPERATOR, "duplicate of a", [b["dl_id"]])
    result = app.replay(OPERATOR, filters={"reason": "invalid"})
    assert [r["dl_id"] for r in result["results"]] == [a["dl_id"]]
    assert app.store.dead_letter(c["dl_id"])["status"] == "open"
    listing = app.dead_letters({"status": "open"})
    assert listing["total"] == 1 and listing["items"][0]["dl_id"] == c["dl_id"]
