"""Event identity at the referral service: department + event_id, told apart by the content hash
(childlink_contracts.content), on the real SQLite store."""

import pytest
from childlink_common.errors import EventConflict
from childlink_common.testing.events import child, event
from childlink_referral.intake import take_in
from childlink_referral.store.sqlite_store import SqliteTimelineStore
from childlink_referral.timeline import with_status


@pytest.fixture
def store(tmp_path):
    opened = SqliteTimelineStore(tmp_path / "referral.sqlite3")
    yield opened
    opened.close()


def test_two_departments_events_under_one_event_id_both_reach_their_childs_timeline(store):
    # before: the social event was counted as a duplicate of the health one and never stored
    health = event("health", "child.growth_measured", subject=child("H1", national_id="1234567890121"))
    social = event("social", "child.enrolled", event_id=health["event_id"],
                   subject=child("S1", national_id="3101700000016", given_name="ดวงใจ"))
    first, second = take_in(store, health, "health"), take_in(store, social, "social")
    assert first.applied and second.applied and first.child_id != second.child_id
    assert [e["type"] for e in store.timeline(first.child_id)] == ["child.growth_measured"]
    assert [e["type"] for e in store.timeline(second.child_id)] == ["child.enrolled"]


def test_the_same_event_again_is_a_duplicate_even_recorded_again(store):
    body = event("health", "child.growth_measured")
    take_in(store, body, "health")
    again = take_in(store, {**body, "recorded_at": event("health", "child.registered", occurred_days_ago=1)["recorded_at"]},
                    "health")
    assert again.applied is False
    assert store.timeline(again.child_id)[0]["duplicates"] == 1


def test_same_department_and_event_id_with_other_content_is_a_conflict_and_nothing_is_written(store):
    body = event("health", "child.growth_measured", subject=child("H1"))
    kept = take_in(store, body, "health")
    profile_before, keys_before = store.child(kept.child_id), store.stats()
    other = {**body, "payload": {"weight_kg": 11.0, "height_cm": 80.0},
             "subject": {"child": child("H9", national_id="3101700000016", given_name="ดวงใจ")}}
    with pytest.raises(EventConflict) as raised:
        take_in(store, other, "health")
    assert raised.value.dead_letter_reason == "conflict" and list(raised.value.errors) == ["event_id"]
    assert store.child(kept.child_id) == profile_before and store.stats() == keys_before
    assert store.find_child("local:health:HC-1001-01:H9") is None
    assert store.timeline(kept.child_id)[0]["payload"] == body["payload"]


def test_a_retraction_withdraws_only_its_own_departments_event():
    health = event("health", "child.growth_measured")
    social = event("social", "child.enrolled", event_id=health["event_id"])
    retract = event("health", "event.retracted", supersedes=health["event_id"], payload={"reason": "wrong child"})
    entries = [{"event_id": e["event_id"], "department": e["source"]["department"], "type": e["type"],
                "supersedes": e.get("supersedes"), "occurred_at_utc": e["occurred_at"]}
               for e in (health, social, retract)]
    status = {(e["department"], e["type"]): e["status"] for e in with_status(entries)}
    assert status[("health", "child.growth_measured")] == "retracted"
    assert status[("social", "child.enrolled")] == "current"
