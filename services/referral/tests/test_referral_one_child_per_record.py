"""One child per record (issue 12): once a record key (department + facility + local id) belongs to a
child, every later event of that record lands on that child; a national ID arriving on a known record
links the record's child with the child holding the ID (an undoable merge), or opens a review when they
conflict. The plain domain modules on the real SQLite adapter (World), no nameko."""

import pytest
from childlink_common.testing.events import child, event
from childlink_referral.testing import World

NID = "1234567890121"
REGISTRAR = {"user_id": "reg.1", "role": "registrar", "department": "health"}


@pytest.fixture
def world(tmp_path):
    return World(tmp_path, matching=True)


def health(type_="child.registered", **subject):
    payload = {"weight_kg": 9.6, "height_cm": 75.7} if type_ == "child.growth_measured" else None
    return event("health", type_, subject=child(local_id="A", **subject), payload=payload)


def social(**subject):
    return event("social", "child.enrolled", subject=child(local_id="S1", **subject))


def record_children(world):
    """Every record key -> the child its match record (and so its events) belongs to."""
    return {row["record_key"]: row["child_id"] for row in world.store.match_log_since(0, 1000)}


def test_the_issue_scenario_keeps_record_a_on_one_child_and_links_the_two_children(world):
    first = world.take(health(national_id=None, given_name="วรรณา"))
    second = world.take(social(national_id=NID, given_name="วันนา"))
    assert second.child_id != first.child_id and second.how == "review"
    [review] = world.store.identity_reviews_of_child(first.child_id)
    assert review["status"] == "open"
    third = world.take(health("child.growth_measured", national_id=NID, given_name="วรรณา"))
    # the record's events stay together: all three events on one child, none left behind
    kept = third.child_id
    assert {e["event_id"] for e in world.store.timeline(kept)} == {first.event_id, second.event_id, third.event_id}
    assert set(record_children(world).values()) == {kept}
    merged = first.child_id if kept == second.child_id else second.child_id
    assert world.store.merged_into(merged) == kept and world.store.timeline(merged) == []
    [merge] = [m for m in world.store.merges_of_child(kept) if m["status"] == "active"]
    assert merge["how"] == "national_id" and merge["outcome"]["reasons"] == [{"code": "same_national_id"}]
    assert [e["type"] for e in world.outbox.events.values() if e["type"].startswith("child.")] == ["child.linked"]
    # the pending review is settled by the merge: nothing left for a person on either child
    assert world.store.get_identity_review(review["review_id"])["status"] == "linked"
    # a later event of record A, with or without the ID, lands on the same child
    later = world.take(health("child.immunised", national_id=None, given_name="วรรณา"))
    assert later.child_id == kept and later.how == "key"


def test_the_national_id_merge_is_undone_exactly(world):
    first = world.take(health(national_id=None, given_name="วรรณา"))
    second = world.take(social(national_id=NID, given_name="วันนา"))
    third = world.take(health("child.growth_measured", national_id=NID, given_name="วรรณา"))
    [merge] = [m for m in world.store.merges_of_child(third.child_id) if m["status"] == "active"]
    answer = world.linking.undo(REGISTRAR, merge["merge_id"], "two children after all", merge["version"])
    assert answer["ok"], answer
    # record A (all its events, the third too) goes back whole to its own child
    assert {e["event_id"] for e in world.store.timeline(first.child_id)} == {first.event_id, third.event_id}
    assert {e["event_id"] for e in world.store.timeline(second.child_id)} == {second.event_id}
    assert record_children(world)["local:health:HC-1001-01:A"] == first.child_id


def test_a_national_id_on_a_record_whose_birth_date_is_years_off_opens_a_review_and_moves_nothing(world):
    first = world.take(health(national_id=None, birth_date="2019-03-15"))
    second = world.take(social(national_id=NID, given_name="ปิยะ", family_name="รักไทย", birth_date="2024-03-15"))
    assert first.child_id != second.child_id
    third = world.take(health("child.growth_measured", national_id=NID, birth_date="2019-03-15"))
    assert third.child_id == first.child_id  # stays with its record
    assert world.store.merged_into(first.child_id) is None and world.store.merged_into(second.child_id) is None
    reviews = [r for r in world.store.identity_reviews_of_child(first.child_id) if r["status"] == "open"]
    assert [[{"code": "birth_dates_differ", "field": "birth_date"}]] == [
        r["outcome"]["reasons"] for r in reviews if r["outcome"]["reasons"][0]["code"] == "birth_dates_differ"]
    assert {e["event_id"] for e in world.store.timeline(first.child_id)} == {first.event_id, third.event_id}


def test_a_national_id_on_a_record_whose_child_holds_another_opens_a_review(world):
    other = "3100701443816"
    first = world.take(health(national_id=other))
    second = world.take(social(national_id=NID, given_name="ปิยะ", family_name="รักไทย"))
    third = world.take(health("child.growth_measured", national_id=NID))
    assert third.child_id == first.child_id != second.child_id
    assert world.store.merged_into(first.child_id) is None
    reasons = [r["outcome"]["reasons"] for r in world.store.identity_reviews_of_child(first.child_id)
               if r["status"] == "open"]
    assert [{"code": "two_national_ids"}] in reasons


def test_a_new_record_with_a_known_national_id_joins_its_child(world):
    first = world.take(social(national_id=NID))
    second = world.take(health(national_id=NID, given_name="ปิยะ"))
    assert second.child_id == first.child_id and second.how == "key"


def test_both_childrens_pages_show_their_open_identity_review_until_it_is_settled(world):
    from childlink_referral.child_page import child_page
    from childlink_referral.times import utc_now

    nurse = {"user_id": "hc.1", "role": "health_centre_staff", "facility": "HC-1001-01"}
    first = world.take(health(national_id=None, given_name="วรรณา"))
    second = world.take(social(national_id=NID, given_name="วันนา"))
    [review] = world.store.identity_reviews_of_child(first.child_id)
    for child_id, other in ((first.child_id, second.child_id), (second.child_id, first.child_id)):
        [shown] = child_page(world.store, REGISTRAR, child_id, utc_now())["child"]["identity_reviews"]
        assert shown["review_id"] == review["review_id"] and shown["other_child_id"] == other
        assert shown["reasons"] and all(isinstance(r, dict) and r["code"] for r in shown["reasons"])
    # staff who see the child learn that a review is pending, not which other child it names
    [shown] = child_page(world.store, nurse, first.child_id, utc_now())["child"]["identity_reviews"]
    assert "other_child_id" not in shown
    world.take(health("child.growth_measured", national_id=NID, given_name="วรรณา"))
    kept = world.linking.current_id(first.child_id)
    assert child_page(world.store, REGISTRAR, kept, utc_now())["child"]["identity_reviews"] == []
