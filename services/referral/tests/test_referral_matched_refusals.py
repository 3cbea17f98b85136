"""Scored matching never makes an event fail on a merge that cannot be (found on the synthetic first
load): the matcher does not propose linking two children whose valid national IDs differ, a refused
merge leaves the event on its record's own child with a review item, and a store batch that rolls back
leaves no phantom records in the in-memory matcher. World (the domain modules on SQLite), no nameko."""

import pytest
from childlink_common.testing.events import child, event
from childlink_contracts.national_id import with_check_digit
from childlink_referral.identity import KnownRecords, matched_subject
from childlink_referral.matching.decision import NEW, REVIEW
from childlink_referral.matching.linker import Matcher
from childlink_referral.store.sqlite_store import SqliteTimelineStore
from childlink_referral.testing import World

NID_X, NID_Y = with_check_digit("500000000001"), with_check_digit("500000000777")
GUARDIAN = {"relation": "mother", "given_name": "มาลี", "family_name": "ใจดี", "phone": "0812345678"}


@pytest.fixture
def world(tmp_path):
    return World(tmp_path, matching=True)


def record(department, local_id, national_id, type_="child.enrolled", **subject):
    subject = child(local_id=local_id, national_id=national_id, **({"guardian": GUARDIAN} | subject))
    subject = {k: v for k, v in subject.items() if v is not None}
    return event(department, type_, subject=subject)


def test_the_matcher_sees_a_childs_national_id_on_any_of_its_records():
    matcher = Matcher()
    matcher.add(child(national_id=NID_X, guardian=GUARDIAN), child_id="c-1", record_id="a")
    matcher.add(child(national_id=None, guardian=GUARDIAN), child_id="c-1", record_id="b")
    outcome = matcher.match(child(national_id=NID_Y, guardian=GUARDIAN))
    # record b (no national ID) scores best, but the child carries another valid one: two children
    assert outcome.child_id == "c-1" and outcome.decision == REVIEW
    assert {"code": "two_national_ids"} in outcome.reasons
    matcher.reassign("a", "c-2")  # the ID went with its record (an unmerge): c-1 holds none now
    assert matcher.national_ids_of("c-1") == set() and matcher.national_ids_of("c-2") == {NID_X}


def test_a_record_with_another_valid_national_id_is_reviewed_not_linked(world):
    kept = world.take(record("health", "A", NID_X, "child.registered"))
    linked = world.take(record("social", "S1", None))
    assert linked.how == "matched" and linked.child_id == kept.child_id
    other = world.take(record("education", "E1", NID_Y))  # before: Linking.merge raised Refusal here
    assert other.how == "review" and other.child_id != kept.child_id
    assert [e["event_id"] for e in world.store.timeline(other.child_id)] == [other.event_id]
    [review] = [r for r in world.store.identity_reviews_of_child(other.child_id) if r["status"] == "open"]
    assert review["candidate_id"] == kept.child_id
    assert {"code": "two_national_ids"} in review["outcome"]["reasons"]


def test_a_merge_refused_after_matching_leaves_the_event_on_its_own_child_with_a_review(world):
    one = world.take(record("health", "A", NID_X, "child.registered"))
    two = world.take(record("social", "S9", NID_Y, given_name="ปิติ", family_name="มีสุข", sex="male",
                            birth_date="2023-01-09", guardian=None))
    assert two.how == "new"
    outcome = {"decision": "link", "reasons": [{"code": "above_link"}], "score": 30.0}
    stays = world.linking.link_matched(one.child_id, two.child_id, outcome, "local:social:CDC-1001-01:S9")
    assert stays == two.child_id and world.store.merged_into(two.child_id) is None
    assert world.store.merges_of_child(two.child_id) == []
    [review] = world.store.identity_reviews_of_child(two.child_id)
    assert review["status"] == "open" and review["outcome"]["decision"] == "review"
    assert review["outcome"]["reasons"] == [{"code": "above_link"}, {"code": "two_national_ids"}]
    assert not [e for e in world.outbox.events.values() if e["type"] == "child.linked"]


def test_a_rolled_back_batch_leaves_no_phantom_record_in_the_matcher(tmp_path):
    store = SqliteTimelineStore(tmp_path / "referral.sqlite3")
    known = KnownRecords(store)
    subject = matched_subject(record("health", "A", None, "child.registered"))
    mark = known.opened()
    with pytest.raises(RuntimeError), store.batch():
        store.upsert_match_record("local:health:HC-1001-01:A", "c-gone", subject)
        assert known.match(subject).child_id == "c-gone"  # read inside the batch, as intake does
        raise RuntimeError("the batch fails")
    known.rolled_back(mark)
    assert known.match(subject).decision == NEW and len(known) == 0
    # SQLite gives the next row the rolled-back seq: the matcher reads it all the same
    store.upsert_match_record("local:health:HC-1001-01:B", "c-kept", subject)
    assert known.match(subject).child_id == "c-kept" and len(known) == 1
    store.close()


def test_two_units_of_work_open_at_once_roll_back_cleanly(tmp_path):
    store = SqliteTimelineStore(tmp_path / "referral.sqlite3")
    known = KnownRecords(store)
    subject = matched_subject(record("health", "A", None, "child.registered"))
    store.upsert_match_record("local:health:HC-1001-01:K", "c-kept", subject)
    known.catch_up()
    assert len(known) == 1
    first = known.opened()
    store.upsert_match_record("local:health:HC-1001-01:X", "c-x", subject)
    known.catch_up()
    second = known.opened()  # another worker's batch, opened meanwhile
    known.rolled_back(first)  # (as if the store forgot X)
    assert len(known) == 1
    known.catch_up()  # X is still in this store: read again, it is known again
    store.upsert_match_record("local:health:HC-1001-01:Y", "c-y", subject)
    known.catch_up()
    known.rolled_back(second)  # what the second saw since the first rolled back is forgotten too
    assert len(known) == 1 and known.matcher.record("local:health:HC-1001-01:K").child_id == "c-kept"
    known.committed(known.opened())
    known.catch_up()
    assert len(known) == 3  # the store still holds K, X and Y: all read again
    store.close()
