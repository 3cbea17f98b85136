"""The referral service's plain domain modules, on a fake store."""

from childlink_common.testing.events import child, event
from childlink_referral.identity import keys_for, resolve
from childlink_referral.intake import take_in
from childlink_referral.queries import timeline_view
from childlink_referral.timeline import utc_key, with_status


class FakeStore:
    def __init__(self):
        self.keys, self.entries, self.profiles = {}, {}, {}

    def children_for_keys(self, keys):
        return {k: self.keys[k] for k in keys if k in self.keys}

    def claim_key(self, key, child_id):
        return self.keys.setdefault(key, child_id)

    def save_profile(self, child_id, profile, as_of):
        if child_id not in self.profiles or self.profiles[child_id][1] <= as_of:
            self.profiles[child_id] = (profile, as_of)

    def append_to_timeline(self, entry):
        key = (entry["department"], entry["event_id"])
        if key in self.entries:
            self.entries[key]["duplicates"] += 1
            return False
        self.entries[key] = {**entry, "duplicates": 0}
        return True

    def content_hash_of(self, department, event_id):
        return self.entries.get((department, event_id), {}).get("content_hash")

    def timeline(self, child_id):
        found = [e for e in self.entries.values() if e["child_id"] == child_id]
        return sorted(found, key=lambda e: (e["occurred_at_utc"], e["event_id"]))

    def upsert_match_record(self, record_key, child_id, subject):
        self.records = {**getattr(self, "records", {}), record_key: (child_id, subject)}

    def child(self, child_id):
        if child_id not in self.profiles:
            return None
        return {"child_id": child_id, "profile": self.profiles[child_id][0],
                "keys": sorted(k for k, v in self.keys.items() if v == child_id)}


def test_keys_use_the_national_id_only_when_its_checksum_is_valid():
    assert keys_for(event("health", "child.registered", subject=child(national_id="1234567890121"))) == [
        "nid:1234567890121", "local:health:HC-1001-01:L1"]
    no_id = event("health", "child.registered", subject=child(national_id=None))
    assert keys_for(no_id) == ["local:health:HC-1001-01:L1"]


def test_a_local_id_seen_first_is_linked_when_the_national_id_arrives():
    store = FakeStore()
    first = resolve(store, event("health", "child.registered", subject=child(local_id="A", national_id=None)))
    second = resolve(store, event("health", "child.immunised", subject=child(local_id="A")))
    third = resolve(store, event("social", "child.enrolled", subject=child(local_id="S1")))
    assert first.child_id == second.child_id == third.child_id and second.conflicts == []
    assert (first.how, second.how, third.how) == ("new", "key", "key")


def test_two_children_known_apart_then_shown_to_share_a_national_id_keep_the_event_on_its_record():
    store = FakeStore()
    a = resolve(store, event("health", "child.registered", subject=child(local_id="A", national_id=None))).child_id
    b = resolve(store, event("health", "child.registered", subject=child(local_id="B"))).child_id
    again = resolve(store, event("health", "child.immunised", subject=child(local_id="A")))
    # the event stays with record A's child; the child holding the ID is named for a link or a review
    assert a != b and again.child_id == a and again.national_id_holder == b
    assert again.conflicts == ["nid:1234567890121"]


def test_take_in_is_idempotent_and_orders_by_occurred_at():
    store = FakeStore()
    late = event("health", "child.screened", occurred_days_ago=1)
    early = event("health", "child.registered", occurred_days_ago=90)
    assert take_in(store, late, "health").applied
    assert take_in(store, early, "health").applied
    repeat = take_in(store, late, "health")
    assert not repeat.applied
    view = timeline_view(store, repeat.child_id)
    assert [e["event_id"] for e in view["entries"]] == [early["event_id"], late["event_id"]]
    assert view["entries"][1]["duplicates"] == 1
    assert "occurred_at_utc" not in view["entries"][0]


def test_utc_key_orders_instants_across_timezones():
    assert utc_key("2026-01-01T06:00:00+07:00") < utc_key("2026-01-01T00:00:00Z")
    assert utc_key("2026-01-01T00:00:00Z") == "2026-01-01T00:00:00.000000Z"


def test_utc_key_is_the_stored_form_for_every_year():
    """Keys already stored were made by strftime: the faster form must give the same text, day
    boundaries, offsets, microseconds and years before 1000 included."""
    import datetime as dt
    import random

    def stored_form(instant):
        parsed = dt.datetime.fromisoformat(instant)
        return parsed.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    rng = random.Random(14)
    instants = ["2026-01-01T00:00:00Z", "2026-01-01T06:59:59.999999+07:00", "0999-05-05T01:02:03+07:00",
                "0001-01-01T07:00:00+07:00", "2024-02-29T23:59:59-05:00"]
    for _ in range(20_000):
        offset = dt.timezone(dt.timedelta(minutes=rng.randint(-900, 900)))
        moment = dt.datetime(rng.randint(1, 9998), 1, 1, tzinfo=offset) + dt.timedelta(
            seconds=rng.randint(0, 364 * 86400), microseconds=rng.choice([0, rng.randint(0, 999_999)]))
        instants.append(moment.isoformat())
    assert [utc_key(i) for i in instants] == [stored_form(i) for i in instants]


def test_a_correction_and_a_retraction_mark_what_they_replace_whichever_arrives_first():
    store = FakeStore()
    original = event("health", "child.growth_measured", occurred_days_ago=5)
    correction = event("health", "child.growth_measured", occurred_days_ago=5, supersedes=original["event_id"],
                       payload={"weight_kg": 10.1, "height_cm": 76.0})
    mistaken = event("health", "child.immunised", occurred_days_ago=3)
    retraction = event("health", "event.retracted", occurred_days_ago=2, supersedes=mistaken["event_id"],
                       payload={"reason": "wrong child"})
    for body in (correction, retraction, original, mistaken):  # corrections before what they correct
        result = take_in(store, body, "health")
    statuses = {e["event_id"]: e["status"] for e in with_status(store.timeline(result.child_id))}
    assert statuses == {original["event_id"]: "superseded", correction["event_id"]: "current",
                        mistaken["event_id"]: "retracted", retraction["event_id"]: "current"}


def test_a_centre_event_keeps_its_own_timeline():
    store = FakeStore()
    body = event("social", "centre.registered", payload={"name": "ศูนย์ฯ วัดใหม่", "capacity": 40})
    body["subject"] = {"centre": {"centre_id": "CDC-1001-01", "district_code": "1001"}}
    assert take_in(store, body, "social").child_id == "centre:CDC-1001-01"
