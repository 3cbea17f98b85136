"""The referral storage contract: referrals (versioned, atomic compare-and-set), their query paths and the
rule reviews, held to the same promises on every ReferralStore adapter.

`ReferralContract` holds the promises; each adapter gets one subclass that only says how to open it.
"""

import concurrent.futures
import copy
import json

import pytest
from childlink_common.testing.store_contract import StoreContract
from childlink_referral.store.mongo_store import MongoTimelineStore
from childlink_referral.store.sqlite_store import SqliteTimelineStore

OPEN = ["requested", "accepted", "scheduled", "in_progress"]


def referral(n, child_id="child-a", status="requested", version=1, due_by=None, reason="dspm_delayed",
             from_=("health", "HC-1001-01", "1001"), to=("medical", "HOSP-1008", "1008"), district="1001", **extra):
    return {
        "referral_id": f"r-{n:03d}", "version": version, "child_id": child_id, "reason": reason,
        "rule": reason, "rule_key": f"{reason}|evt-{n}", "status": status,
        "fhir_status": "requested", "erefer_code": "P",
        "from": {"department": from_[0], "facility": from_[1], "district": from_[2]},
        "to": {"department": to[0], "facility": to[1], "district": to[2], "service": "developmental_clinic"},
        "district": district, "created_at": f"2026-03-01T00:00:{n % 60:02d}.000000Z",
        "updated_at": "2026-03-01T00:00:00.000000Z",
        "due_by": due_by or f"2026-04-{1 + n % 28:02d}T00:00:00.000000Z",
        "note": "พัฒนาการล่าช้า: กล้ามเนื้อมัดเล็ก", "source_event_ids": [f"evt-{n}"], "withdrawn_by_rules": False,
        "history": [{"version": 1, "event_id": f"e-{n}-1", "at": "2026-03-01T00:00:00.000000Z",
                     "by": {"user_id": "system", "role": "rules"}, "action": "raise", "from": None,
                     "to": "requested", "note": "ส่งต่อ", "details": {}}],
        **extra,
    }


def next_version(stored, status="accepted", **changes):
    after = copy.deepcopy(stored)
    after.update(status=status, version=stored["version"] + 1, **changes)
    after["history"].append({"version": after["version"], "event_id": f"e-{after['version']}",
                             "at": "2026-03-02T00:00:00.000000Z", "by": {"user_id": "u-1", "role": "hospital_staff"},
                             "action": "accept", "from": stored["status"], "to": status, "note": None,
                             "details": {}})
    return after


def ids(items):
    return [r["referral_id"] for r in items]


class ReferralContract(StoreContract):
    """Subclasses provide `open_store(request)` (and `open_second(request)`: another connection to the same
    data); every test below runs once per adapter."""

    # --- insert and get --------------------------------------------------------------------------

    def test_a_referral_comes_back_exactly(self, store):
        stored = referral(1)
        assert store.insert_referral(stored) is True
        got = store.get_referral("r-001")
        assert got == stored
        assert json.dumps(got, ensure_ascii=False) == json.dumps(stored, ensure_ascii=False)  # key order too

    def test_inserting_a_known_referral_id_is_refused_and_keeps_the_first(self, store):
        store.insert_referral(referral(1, note="first"))
        assert store.insert_referral(referral(1, note="second")) is False
        assert store.get_referral("r-001")["note"] == "first"

    def test_an_unknown_referral_is_none(self, store):
        assert store.get_referral("r-404") is None

    # --- versioned replace -----------------------------------------------------------------------

    def test_replace_from_the_current_version_stores_the_next(self, store):
        store.insert_referral(referral(1))
        after = next_version(store.get_referral("r-001"))
        assert store.replace_referral(after, 1) is True
        assert store.get_referral("r-001") == after

    def test_replace_from_a_stale_version_changes_nothing(self, store):
        store.insert_referral(referral(1))
        store.replace_referral(next_version(store.get_referral("r-001")), 1)
        current = store.get_referral("r-001")
        stale = next_version(referral(1), status="rejected")
        assert store.replace_referral(stale, 1) is False
        assert store.get_referral("r-001") == current

    def test_replace_of_an_unknown_referral_is_refused(self, store):
        assert store.replace_referral(next_version(referral(9)), 1) is False
        assert store.get_referral("r-009") is None

    def test_of_concurrent_transitions_from_one_version_exactly_one_wins(self, store, request):
        store.insert_referral(referral(1))
        base = store.get_referral("r-001")
        others = [self.open_store(request, reuse=True) for _ in range(3)]
        attempts = [(s, next_version(base, status=status)) for s, status in
                    zip([store, *others] * 2, ["accepted", "rejected", "accepted", "cancelled"] * 2)]
        try:
            with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
                results = list(pool.map(lambda pair: pair[0].replace_referral(pair[1], 1), attempts))
        finally:
            for other in others:
                other.close()
        assert results.count(True) == 1
        winner = attempts[results.index(True)][1]
        assert store.get_referral("r-001") == winner

    # --- outbox marks ----------------------------------------------------------------------------

    def test_a_new_referral_is_pending_until_marked_outboxed(self, store):
        store.insert_referral(referral(1))
        store.insert_referral(referral(2))
        assert sorted(ids(store.referrals_not_outboxed(10))) == ["r-001", "r-002"]
        store.mark_outboxed("r-001", 1)
        assert ids(store.referrals_not_outboxed(10)) == ["r-002"]
        assert store.get_referral("r-001") == referral(1)  # the mark is not part of the referral

    def test_a_new_version_is_pending_again_and_an_old_mark_does_not_clear_it(self, store):
        store.insert_referral(referral(1))
        store.mark_outboxed("r-001", 1)
        store.replace_referral(next_version(referral(1)), 1)
        assert ids(store.referrals_not_outboxed(10)) == ["r-001"]
        store.mark_outboxed("r-001", 1)  # a slow publisher of version 1
        assert ids(store.referrals_not_outboxed(10)) == ["r-001"]
        store.mark_outboxed("r-001", 2)
        assert store.referrals_not_outboxed(10) == []

    def test_referrals_not_outboxed_keeps_to_the_limit(self, store):
        for n in range(5):
            store.insert_referral(referral(n))
        assert len(store.referrals_not_outboxed(3)) == 3

    # --- a child's referrals ---------------------------------------------------------------------

    def test_referrals_of_a_child_oldest_first_and_no_one_elses(self, store):
        store.insert_referral(referral(3, child_id="child-a"))
        store.insert_referral(referral(1, child_id="child-a"))
        store.insert_referral(referral(2, child_id="child-b"))
        assert ids(store.referrals_of_child("child-a")) == ["r-001", "r-003"]
        assert store.referrals_of_child("child-x") == []

    # --- find ------------------------------------------------------------------------------------

    @pytest.fixture
    def inbox(self, store):
        for item in [
            referral(1, to=("medical", "HOSP-1008", "1008")),
            referral(2, to=("medical", "HOSP-1018", "1018"), district="1015", from_=("health", "HC-1015-01", "1015")),
            referral(3, status="completed"),
            referral(4, reason="social_follow_up", to=("social", "DSW-1001", "1001"),
                     from_=("social", "CDC-1001-01", "1001")),
            referral(5, reason="household_support", to=("social", "DSW-1002", "1002"), district="1002",
                     from_=("health", "HC-1002-01", "1002")),
            referral(6, reason="immunisation_overdue", to=("education", "SCH-1001-01", "1001"), child_id="child-b"),
            referral(7, reason="dspm_suspected_delay", to=("health", "HC-1001-01", "1001")),
        ]:
            store.insert_referral(item)
        return store

    def test_find_with_no_groups_is_everything_by_due_date(self, inbox):
        total, items = inbox.find_referrals([], 0, 50)
        assert total == 7
        assert [r["due_by"] for r in items] == sorted(r["due_by"] for r in items)

    def test_find_by_facility_on_either_side(self, inbox):
        total, items = inbox.find_referrals([[{"to_facility": "HC-1001-01"}, {"from_facility": "HC-1001-01"}]], 0, 50)
        assert (total, ids(items)) == (4, ["r-001", "r-003", "r-006", "r-007"])

    def test_find_by_receiving_facility_and_status(self, inbox):
        total, items = inbox.find_referrals([[{"to_facility": "HOSP-1008"}], [{"status": OPEN}]], 0, 50)
        assert (total, ids(items)) == (1, ["r-001"])

    def test_find_by_district_and_reasons_for_social_workers(self, inbox):
        scope = [[{"to_district": "1001", "reason": ["social_follow_up", "household_support"]}]]
        assert ids(inbox.find_referrals(scope, 0, 50)[1]) == ["r-004"]

    def test_find_by_district_on_any_side(self, inbox):
        groups = [[{"district": "1015"}, {"from_district": "1015"}, {"to_district": "1015"}]]
        assert ids(inbox.find_referrals(groups, 0, 50)[1]) == ["r-002"]

    def test_find_by_department_on_either_side(self, inbox):
        groups = [[{"from_department": "education"}, {"to_department": "education"}]]
        assert ids(inbox.find_referrals(groups, 0, 50)[1]) == ["r-006"]

    def test_find_by_child_and_reason(self, inbox):
        assert ids(inbox.find_referrals([[{"child_id": "child-b"}]], 0, 50)[1]) == ["r-006"]
        assert ids(inbox.find_referrals([[{"reason": "dspm_suspected_delay"}]], 0, 50)[1]) == ["r-007"]

    def test_find_overdue(self, inbox):
        groups = [[{"status": OPEN, "due_before": "2026-04-04T00:00:00.000000Z"}]]
        total, items = inbox.find_referrals(groups, 0, 50)
        assert (total, ids(items)) == (2, ["r-001", "r-002"])  # r-003 is due before too, but completed

    def test_find_pages_in_a_stable_order_with_the_total(self, store):
        for n in range(12):
            store.insert_referral(referral(n, due_by="2026-04-01T00:00:00.000000Z"))
        pages = [store.find_referrals([], offset, 5) for offset in (0, 5, 10)]
        assert [total for total, _ in pages] == [12, 12, 12]
        assert [ids(items) for _, items in pages] == [
            [f"r-{n:03d}" for n in range(5)], [f"r-{n:03d}" for n in range(5, 10)], ["r-010", "r-011"]]
        assert store.find_referrals([], 20, 5) == (12, [])

    def test_find_pages_through_either_side_in_due_order_each_referral_once(self, store):
        """An inbox is referrals from OR to a facility; one raised by the facility for itself is on both
        sides and must be counted and listed once; pages interleave both sides by due date."""
        for n in range(30):
            side = n % 3  # from the centre, to the centre, or both (a re-screen it raised for itself)
            store.insert_referral(referral(
                n, due_by=f"2026-04-{1 + (n * 7) % 28:02d}T00:00:{n:02d}.000000Z",
                from_=("health", "HC-1001-01" if side != 1 else "HC-1002-01", "1001"),
                to=("health", "HC-1001-01", "1001") if side != 0 else ("medical", "HOSP-1008", "1008")))
        scope = [[{"from_facility": "HC-1001-01"}, {"to_facility": "HC-1001-01"}], [{"status": OPEN}]]
        pages = [store.find_referrals(scope, offset, 7) for offset in range(0, 35, 7)]
        assert {total for total, _ in pages} == {30}
        listed = [r for _, items in pages for r in items]
        assert len(listed) == 30 and len(set(ids(listed))) == 30
        assert [(r["due_by"], r["referral_id"]) for r in listed] == sorted((r["due_by"], r["referral_id"])
                                                                            for r in listed)

    def test_find_matches_nothing_for_an_unknown_value(self, inbox):
        assert inbox.find_referrals([[{"to_facility": "HOSP-9999"}]], 0, 50) == (0, [])

    # --- expiry ----------------------------------------------------------------------------------

    def test_open_referrals_due_are_open_and_due_earliest_first(self, store):
        store.insert_referral(referral(1, due_by="2026-04-03T00:00:00.000000Z"))
        store.insert_referral(referral(2, due_by="2026-04-01T00:00:00.000000Z"))
        store.insert_referral(referral(3, due_by="2026-04-01T00:00:00.000000Z", status="completed"))
        store.insert_referral(referral(4, due_by="2026-04-09T00:00:00.000000Z"))
        store.insert_referral(referral(5, due_by="2026-04-02T00:00:00.000000Z", status="scheduled"))
        due = store.open_referrals_due("2026-04-03T00:00:00.000000Z", 10)
        assert ids(due) == ["r-002", "r-005", "r-001"]
        assert ids(store.open_referrals_due("2026-04-03T00:00:00.000000Z", 1)) == ["r-002"]

    # --- reviews ---------------------------------------------------------------------------------

    def test_reviews_fall_due_in_order_and_can_be_moved_or_cleared(self, store):
        store.set_review("child-a", "2026-04-05T00:00:00.000000Z")
        store.set_review("child-b", "2026-04-01T00:00:00.000000Z")
        store.set_review("child-c", "2026-05-01T00:00:00.000000Z")
        assert store.due_reviews("2026-04-10T00:00:00.000000Z", 10) == ["child-b", "child-a"]
        assert store.due_reviews("2026-04-10T00:00:00.000000Z", 1) == ["child-b"]
        store.set_review("child-b", "2026-06-01T00:00:00.000000Z")  # moved on
        store.set_review("child-a", None)  # nothing left to wait for
        store.set_review("child-x", None)  # clearing an unknown child is harmless
        assert store.due_reviews("2026-04-10T00:00:00.000000Z", 10) == []
        assert store.due_reviews("2026-06-01T00:00:00.000000Z", 10) == ["child-c", "child-b"]


# Every query path the service uses, as (name, groups): each must be served by an index.
QUERY_PATHS = [
    ("facility inbox", [[{"from_facility": "HC-1001-01"}, {"to_facility": "HC-1001-01"}], [{"status": OPEN}]]),
    ("receiving facility", [[{"to_facility": "HOSP-1008"}]]),
    ("social worker", [[{"to_district": "1001", "reason": ["social_follow_up", "household_support"]}]]),
    ("district officer", [[{"district": "1001"}, {"from_district": "1001"}, {"to_district": "1001"}]]),
    ("department", [[{"from_department": "health"}, {"to_department": "health"}]]),
    ("child", [[{"from_facility": "HC-1001-01"}, {"to_facility": "HC-1001-01"}], [{"child_id": "child-a"}]]),
    ("overdue", [[{"status": OPEN, "due_before": "2026-04-01T00:00:00.000000Z"}]]),
]


class TestSqliteReferralStore(ReferralContract):
    def open_store(self, request, reuse=False):
        return SqliteTimelineStore(request.getfixturevalue("tmp_path") / "referral.sqlite3")

    @pytest.mark.parametrize("name, groups", QUERY_PATHS, ids=[p[0] for p in QUERY_PATHS])
    def test_every_query_path_uses_an_index(self, store, name, groups):
        plan = store.query_plan(groups)
        scans = [step for step in plan if step.startswith("SCAN") and "INDEX" not in step]
        assert not scans, plan
        assert any("INDEX" in step for step in plan), plan


class TestMongoReferralStore(ReferralContract):
    def open_store(self, request, reuse=False):
        if not reuse:
            request.node.mongo_database_name = request.getfixturevalue("mongo_database")
        return MongoTimelineStore(request.getfixturevalue("mongo_uri"), request.node.mongo_database_name)

    def test_every_query_path_has_an_index(self, store):
        keys = [[field for field, _ in index] for index in store.index_keys()]
        for wanted in (["to.facility", "status", "due_by"], ["from.facility", "status", "due_by"],
                       ["to.district", "reason", "status", "due_by"], ["district", "status", "due_by"],
                       ["from.district", "status", "due_by"], ["to.department", "status", "due_by"],
                       ["from.department", "status", "due_by"], ["child_id", "created_at"],
                       ["status", "due_by"], ["outbox_pending"]):
            assert wanted in keys, (wanted, keys)
