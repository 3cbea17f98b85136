"""Identity resolution wired into intake, merges and their undoing, and the review queue: the plain domain
modules on the real SQLite adapter (World), no nameko."""

import pytest
from childlink_common.testing.events import child, event
from childlink_referral.identity_views import get_review, list_reviews
from childlink_referral.queries import timeline_view
from childlink_referral.testing import World, screening

MOTHER = {"national_id": "3100701443816", "phone": "0812345678", "relation": "mother"}
REGISTRAR = {"user_id": "reg.1", "role": "registrar", "department": "health"}
NURSE = {"user_id": "hc.1", "role": "health_centre_staff", "facility": "HC-1001-01"}


@pytest.fixture
def world(tmp_path):
    return World(tmp_path, matching=True)


def registered(department, local_id, given_name="สมใจ", guardian=MOTHER, days=30, **kw):
    type_ = {"health": "child.registered", "social": "child.enrolled", "medical": "child.diagnosed",
             "education": "child.enrolled"}[department]
    if guardian is not None:
        kw["guardian"] = guardian
    return event(department, type_, subject=child(local_id=local_id, national_id=None, given_name=given_name, **kw),
                 occurred_days_ago=days)


def entries_of(world, child_id):
    return [{k: v for k, v in e.items()} for e in world.store.timeline(child_id)]


def test_a_second_department_record_of_the_same_child_is_linked_automatically_with_why(world):
    health = world.take(registered("health", "HN1", given_name="ด.ญ.สมใจ"))
    social = world.take(registered("social", "S1", given_name="สมใจ"))  # title dropped, same child
    assert (health.how, social.how) == ("new", "matched")
    assert social.child_id == health.child_id
    assert len(world.store.timeline(health.child_id)) == 2
    [merge] = [m for m in world.store.merges_of_child(health.child_id) if m["status"] == "active"]
    assert merge["how"] == "automatic" and merge["outcome"]["decision"] == "link"
    assert {c["field"]: c["level"] for c in merge["outcome"]["comparison"]}["guardian_national_id"] == "exact"
    linked = [e for e in world.outbox.events.values() if e["type"] == "child.linked"]
    assert len(linked) == 1 and linked[0]["payload"]["kept_id"] == health.child_id
    assert "3100701443816" not in str(linked[0])  # no national ID travels in the event
    # later events of either record follow the one child
    later = world.take(event("social", "household.risk_assessed", subject=child(local_id="S1", national_id=None)))
    assert later.child_id == health.child_id and later.how == "key"


def test_twins_sharing_birth_date_and_guardian_are_not_merged(world):
    first = world.take(registered("health", "HN1", given_name="สมใจ"))
    twin = world.take(registered("health", "HN2", given_name="สมหญิง"))
    assert twin.child_id != first.child_id
    assert twin.how == "review"  # a person looks: same household, another given name
    assert world.store.merged_into(twin.child_id) is None
    assert len(world.store.timeline(first.child_id)) == 1 and len(world.store.timeline(twin.child_id)) == 1


def test_a_child_unlike_any_known_is_new(world):
    first = world.take(registered("health", "HN1"))
    other = world.take(registered("health", "HN9", given_name="ธนพล", family_name="ศรีสุข", birth_date="2022-01-09",
                                  sex="male", guardian={"phone": "0899999999"}))
    assert other.how == "new" and other.child_id != first.child_id
    assert world.store.find_identity_reviews(None, 0, 10)[0] == 0


def test_merge_then_unmerge_restores_both_timelines_and_referrals_exactly(world):
    a = world.send(registered("health", "HN1", guardian=None),
                   screening({"gross_motor": "delayed"}, subject=child(local_id="HN1", national_id=None),
                             occurred_days_ago=5))
    b = world.send(registered("social", "S7", given_name="ทองดี", guardian=None, family_name="มีสุข"))
    assert a != b
    before = {a: entries_of(world, a), b: entries_of(world, b)}
    referrals_before = {a: {r["referral_id"] for r in world.store.referrals_of_child(a)},
                        b: {r["referral_id"] for r in world.store.referrals_of_child(b)}}
    assert referrals_before[a]
    merge = world.linking.merge(a, b, REGISTRAR, "staff", "one child")
    assert world.store.timeline(b) == [] and len(world.store.timeline(a)) == len(before[a]) + len(before[b])
    assert world.store.merged_into(b) == a
    assert timeline_view(world.store, b)["merged_into"] == a
    # an event for the merged child's record now follows the kept child ...
    late = world.take(event("social", "household.risk_assessed", subject=child(local_id="S7", national_id=None)))
    assert late.child_id == a
    answer = world.linking.undo(REGISTRAR, merge["merge_id"], "two children after all", merge["version"])
    assert answer["ok"], answer
    # ... and goes back with it; everything else is as it was
    assert entries_of(world, a) == before[a]
    assert [e for e in entries_of(world, b) if e["event_id"] != late.event_id] == before[b]
    assert late.event_id in {e["event_id"] for e in world.store.timeline(b)}
    assert {r["referral_id"] for r in world.store.referrals_of_child(a)} >= referrals_before[a]
    assert referrals_before[b] <= {r["referral_id"] for r in world.store.referrals_of_child(b)}
    assert world.store.merged_into(b) is None
    assert [e["type"] for e in world.outbox.events.values() if e["type"].startswith("child.")] == [
        "child.linked", "child.unlinked"]
    again = world.linking.undo(REGISTRAR, merge["merge_id"], "again", answer["merge"]["version"])
    assert again["error"]["code"] == "conflict"


def test_a_reviewer_links_a_pair_and_the_decision_is_recorded(world):
    first = world.take(registered("health", "HN1"))
    maybe = world.take(registered("medical", "M1", given_name="สมจัย", guardian={"phone": "0899999999"}))
    assert maybe.how == "review"
    listed = list_reviews(world.store, REGISTRAR)
    assert listed["total"] == 1
    review_id = listed["items"][0]["review_id"]
    shown = get_review(world.store, REGISTRAR, review_id)
    assert shown["child"]["records"][0]["subject"]["given_name"] == "สมจัย"
    assert shown["candidate"]["child_id"] == first.child_id
    assert list_reviews(world.store, NURSE)["error"]["code"] == "forbidden"
    refused = world.linking.decide(NURSE, review_id, "link", None, 1)
    assert refused["error"]["code"] == "forbidden"
    stale = world.linking.decide(REGISTRAR, review_id, "link", None, 7)
    assert stale["error"]["code"] == "conflict"
    done = world.linking.decide(REGISTRAR, review_id, "link", "same mother, nickname", 1)
    assert done["ok"] and done["review"]["status"] == "linked" and done["review"]["merge_id"]
    assert done["review"]["history"][-1]["by"]["user_id"] == "reg.1"
    assert world.store.merged_into(maybe.child_id) == first.child_id
    assert len(world.store.timeline(first.child_id)) == 2
    twice = world.linking.decide(REGISTRAR, review_id, "keep_apart", "no", 2)
    assert twice["error"]["code"] == "conflict"


def test_keeping_apart_needs_a_reason_and_merges_nothing(world):
    world.take(registered("health", "HN1"))
    twin = world.take(registered("health", "HN2", given_name="สมหญิง"))
    [review] = world.store.identity_reviews_of_child(twin.child_id)
    missing = world.linking.decide(REGISTRAR, review["review_id"], "keep_apart", "  ", 1)
    assert missing["error"] == {"code": "invalid", "message": "a reason is required", "field": "reason"}
    assert world.store.get_identity_review(review["review_id"])["status"] == "open"
    bad = world.linking.decide(REGISTRAR, review["review_id"], "merge", "x", 1)
    assert bad["error"]["field"] == "decision"
    kept = world.linking.decide(REGISTRAR, review["review_id"], "keep_apart", "twins: two birth certificates", 1)
    assert kept["ok"] and kept["review"]["status"] == "kept_apart"
    assert world.store.merged_into(twin.child_id) is None


def test_children_with_two_different_national_ids_are_never_merged(world):
    a = world.send(event("health", "child.registered", subject=child(local_id="HN1", national_id="1234567890121")))
    b = world.send(event("social", "child.enrolled", subject=child(local_id="S1", national_id="3100701443816")))
    assert a != b
    with pytest.raises(Exception, match="different valid national IDs"):
        world.linking.merge(a, b, REGISTRAR, "staff")
    assert world.store.merges_of_child(b) == []


def test_the_matcher_of_a_second_replica_catches_up_from_the_store(world, tmp_path):
    from childlink_referral.identity import KnownRecords

    world.take(registered("health", "HN1"))
    replica = KnownRecords(world.store)
    assert replica.catch_up() == 1 and len(replica) == 1
    world.take(registered("health", "HN2", given_name="ธนพล", guardian={"phone": "0899999999"}))
    outcome = replica.match({"given_name": "ธนพล", "family_name": "ใจดี", "birth_date": "2024-03-15", "sex": "female",
                             "guardian": {"phone": "0899999999"}, "district_code": "1001"})
    assert len(replica) == 2 and outcome.decision == "link"


def test_the_page_of_a_merged_child_points_to_the_kept_child_only_for_who_may_see_it(world):
    from childlink_referral.child_page import child_page
    from childlink_referral.times import utc_now

    a = world.send(registered("health", "HN1", guardian=None))
    b = world.send(registered("social", "S7", given_name="ทองดี", guardian=None, family_name="มีสุข"))
    world.linking.merge(a, b, REGISTRAR, "staff", "one child")
    assert child_page(world.store, REGISTRAR, b, utc_now())["error"] == {
        "code": "merged", "message": f"child {b} was linked to child {a}: see that child", "field": a}
    stranger = {"user_id": "hc.9", "role": "health_centre_staff", "facility": "HC-9999-01"}
    assert child_page(world.store, stranger, b, utc_now())["error"]["code"] == "not_found"
