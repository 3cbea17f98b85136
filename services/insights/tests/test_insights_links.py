"""The referral's `child.linked` / `child.unlinked`, followed: two records of one child count once after a
link, twice again after its undo, the cells exactly as if the events had arrived that way, in any order.

The link events are built by the referral service's own `identity_event`, so a change there shows here."""

import itertools

import pytest
from childlink_insights.aggregate import Aggregator
from childlink_insights.store.sqlite_store import SqliteInsightsStore
from childlink_referral.growth import zscores
from childlink_referral.identity import new_child_id
from childlink_referral.linking import identity_event

from .fixtures import child_event, screened

SCOPES = ("city", "district", "facility", "centre")
HC02 = {"code": "HC02", "district_code": "1001"}


def all_cells(store):
    return sorted((r["scope"], r["scope_id"], r["month"], r["counter"], r["value"])
                  for scope in SCOPES for r in store.cells(scope))


@pytest.fixture
def stores(tmp_path):
    made = []

    def make():
        store = SqliteInsightsStore(tmp_path / f"insights-{len(made)}.sqlite3")
        made.append(store)
        aggregator = Aggregator(store, zscores)

        def take(*events):
            with store.batch():
                for event in events:
                    aggregator.take(event)
                aggregator.flush()
        return store, take, aggregator
    yield make
    for store in made:
        store.close()


def child_id(local_id, facility="HC01", department="health"):
    return new_child_id(f"local:{department}:{facility}:{local_id}")


def link_events(kept, merged, merge_id="m-1"):
    merge = {"merge_id": merge_id, "kept_id": kept, "merged_id": merged, "how": "reviewed", "record_keys": ["k"],
             "outcome": {"score": 0.97, "probability": 0.99}, "review_id": "r-1"}
    by = {"user_id": "registrar.somchai", "role": "registrar"}
    linked = identity_event(merge, "linked", {"event_id": f"{merge_id}-1", "at": "2025-01-05T03:00:00Z",
                                              "version": 1, "by": by, "event_ids": [], "referral_ids": []})
    unlinked = identity_event(merge, "unlinked", {"event_id": f"{merge_id}-2", "at": "2025-02-05T03:00:00Z",
                                                  "version": 2, "by": by, "reason": "twins", "event_ids": [],
                                                  "referral_ids": []})
    return linked, unlinked


def records(national_id=None):
    """One child's events under two records: health centre HC01 (A1) and HC02 (B1)."""
    ids = {"national_id": national_id} if national_id else {}
    a = [screened("2024-10-15", 9, {"fine_motor": "suspected_delay"}, local_id="A1", **ids),
         child_event("child.immunised", "2024-01-10", {"vaccine": "BCG", "dose": 1}, local_id="A1", **ids)]
    b = [screened("2024-11-05", 9, rescreen=True, local_id="B1", facility=HC02, **ids),
         child_event("child.immunised", "2024-01-12", {"vaccine": "HBV", "dose": 1}, local_id="B1", facility=HC02,
                     **ids)]
    return a, b


def as_one_child(stores, events):
    """The cells of the same events arriving as one child (both records carrying one national ID)."""
    store, take, _ = stores()
    take(*events)
    return all_cells(store)


def test_a_link_after_the_events_counts_the_child_once_and_its_undo_twice_again(stores):
    a, b = records()
    linked, unlinked = link_events(child_id("A1"), child_id("B1", "HC02"))
    store, take, _ = stores()
    take(*a, *b)
    apart = all_cells(store)
    assert ("district", "1001", "2024-10", "dspm.9.target", 2) in apart
    take(linked)
    one = all_cells(store)
    assert ("district", "1001", "2024-10", "dspm.9.target", 1) in one
    na, nb = records(national_id="1234567890121")
    assert one == as_one_child(stores, [*na, *nb])  # every cell exactly as one child's: the re-screen joins
    take(linked)  # redelivered: nothing twice
    assert all_cells(store) == one
    take(unlinked)
    assert all_cells(store) == apart
    take(unlinked)
    assert all_cells(store) == apart


def test_events_of_the_merged_record_after_the_link_go_back_with_it_on_undo(stores):
    a, b = records()
    linked, unlinked = link_events(child_id("A1"), child_id("B1", "HC02"))
    later = screened("2025-07-20", 18, local_id="B1", facility=HC02)
    store, take, _ = stores()
    take(*a, *b, linked, later)
    assert ("district", "1001", "2025-07", "dspm.18.screened", 1) in all_cells(store)
    take(unlinked)
    separate, take_separate, _ = stores()
    take_separate(*a, *b, later)
    assert all_cells(store) == all_cells(separate)


@pytest.mark.parametrize("order", ["link first", "link between", "link last"])
def test_the_order_of_the_link_and_the_events_does_not_matter(stores, order):
    a, b = records()
    linked, _ = link_events(child_id("A1"), child_id("B1", "HC02"))
    sequence = {"link first": [linked, *a, *b], "link between": [*a, linked, *b], "link last": [*a, *b, linked]}
    store, take, _ = stores()
    for event in sequence[order]:
        take(event)
    na, nb = records(national_id="1234567890121")
    assert all_cells(store) == as_one_child(stores, [*na, *nb])


def test_an_undo_arriving_before_its_link_leaves_the_children_apart(stores):
    a, b = records()
    linked, unlinked = link_events(child_id("A1"), child_id("B1", "HC02"))
    store, take, _ = stores()
    take(*a, *b)
    apart = all_cells(store)
    take(unlinked, linked)
    assert all_cells(store) == apart


def test_links_undone_last_in_first_out_through_a_chain(stores):
    a, b = records()
    c = [screened("2024-10-20", 9, local_id="C1", facility={"code": "HC03", "district_code": "1001"})]
    c_into_b, c_out = link_events(child_id("B1", "HC02"), child_id("C1", "HC03"), "m-cb")
    b_into_a, b_out = link_events(child_id("A1"), child_id("B1", "HC02"), "m-ba")
    store, take, _ = stores()
    take(*a, *b, *c)
    apart = all_cells(store)
    take(c_into_b)
    b_and_c = all_cells(store)
    take(b_into_a)
    assert ("district", "1001", "2024-10", "dspm.9.target", 1) in all_cells(store)
    take(b_out)
    assert all_cells(store) == b_and_c
    take(c_out)
    assert all_cells(store) == apart


def test_a_rebuild_gives_the_same_cells_after_links_and_undos(stores):
    a, b = records()
    c = [screened("2024-10-20", 9, local_id="C1", facility={"code": "HC03", "district_code": "1001"})]
    ab, _ = link_events(child_id("A1"), child_id("B1", "HC02"), "m-ab")
    ac, ac_out = link_events(child_id("A1"), child_id("C1", "HC03"), "m-ac")
    for sequence in itertools.islice(itertools.permutations([*a, *b, *c, ab, ac]), 0, 720, 97):
        store, take, aggregator = stores()
        take(*sequence)
        take(ac_out)
        before = all_cells(store)
        assert ("district", "1001", "2024-10", "dspm.9.target", 2) in before  # A+B one child, C apart again
        with store.batch():
            aggregator.rebuild()
        assert all_cells(store) == before
