"""The identity storage contract: match records and their log, identity reviews, merges, moving a child's
records and marking a child merged, held to the same promises on every IdentityStore adapter.

`IdentityContract` holds the promises; each adapter gets one subclass that only says how to open it.
"""

import abc
import concurrent.futures
import copy

import pytest
from childlink_common.errors import StoreUnavailable
from childlink_common.testing.store_contract import StoreContract
from childlink_referral.store.mongo_store import MongoTimelineStore
from childlink_referral.store.sqlite_store import SqliteTimelineStore

PROFILE = {"given_name": "สมหญิง", "family_name": "ใจดี", "birth_date": "2021-03-04", "sex": "F"}


def rec(n, dept="health", facility="HC-0042"):
    return f"local:{dept}:{facility}:{n}"


def subject(given="สมหญิง", birth_date="2021-03-04", **extra):
    return {"national_id": None, "given_name": given, "family_name": "ใจดี", "birth_date": birth_date,
            "sex": "F", "district_code": "1001", **extra}


def review(n, child_id="child-a", candidate_id="child-b", status="open", created_at=None, version=1):
    return {"review_id": f"ir-{n:03d}", "version": version, "status": status, "child_id": child_id,
            "candidate_id": candidate_id, "created_at": created_at or f"2026-03-01T00:00:{n:02d}.000000Z",
            "score": 4.25, "fields": {"given_name": "agree", "birth_date": "partial"}, "note": "ชื่อคล้ายกัน",
            "history": []}


def merge(n, kept_id="child-a", merged_id="child-b", status="merged", at=None, version=1):
    return {"merge_id": f"m-{n:03d}", "version": version, "kept_id": kept_id, "merged_id": merged_id,
            "status": status, "at": at or f"2026-03-01T00:00:{n:02d}.000000Z", "reason": "คนเดียวกัน",
            "moved": {"keys": [], "event_ids": [], "referral_ids": [], "record_keys": []}}


def next_version(doc, **changes):
    after = copy.deepcopy(doc)
    after.update(version=doc["version"] + 1, **changes)
    return after


def entry(event_id, child_id="child-b", occurred_at_utc="2024-05-01T02:30:00.000000Z"):
    return {"event_id": event_id, "child_id": child_id, "department": "health", "type": "health.growth_measured",
            "version": 1, "occurred_at_utc": occurred_at_utc, "facility_code": "HC-0042",
            "payload": {"weight_kg": 12.5, "note": "เด็กแข็งแรงดี"}}


def referral(n, child_id="child-b"):
    return {"referral_id": f"r-{n:03d}", "version": 1, "child_id": child_id, "reason": "dspm_delayed",
            "status": "requested", "from": {"department": "health", "facility": "HC-1001-01", "district": "1001"},
            "to": {"department": "medical", "facility": "HOSP-1008", "district": "1008"}, "district": "1001",
            "created_at": f"2026-03-01T00:00:{n:02d}.000000Z", "due_by": "2026-04-01T00:00:00.000000Z",
            "note": "พัฒนาการล่าช้า"}


# what the `two_children` fixture's move gives child-a (child-b keeps a key and a timeline entry)
MOVE = {"keys": ["nid:1103700012345", "local:health:HC-0042:77"], "event_ids": ["evt-1", "evt-2"],
        "referral_ids": ["r-001"], "record_keys": [rec(77)]}


def review_ids(items):
    return [r["review_id"] for r in items]


class IdentityContract(StoreContract):
    """Subclasses provide `open_store(request, reuse=False)` (reuse: another connection to the same data);
    every test below runs once per adapter."""

    @abc.abstractmethod
    def open_store(self, request, reuse=False):
        """reuse: another connection to the same data."""

    # --- match records -----------------------------------------------------------------------------

    def test_a_new_record_returns_a_seq_and_comes_back(self, store):
        seq = store.upsert_match_record(rec(77), "child-a", subject())
        assert isinstance(seq, int) and not isinstance(seq, bool)
        assert store.match_record(rec(77)) == {"record_key": rec(77), "child_id": "child-a",
                                               "subject": subject(), "seq": seq}

    def test_an_unchanged_record_returns_none_and_logs_nothing(self, store):
        seq = store.upsert_match_record(rec(77), "child-a", subject())
        assert store.upsert_match_record(rec(77), "child-a", subject()) is None
        assert store.upsert_match_record(rec(77), "child-a", dict(reversed(subject().items()))) is None  # key order
        assert store.match_record(rec(77))["seq"] == seq
        assert [row["seq"] for row in store.match_log_since(0, 10)] == [seq]

    def test_a_changed_subject_returns_a_higher_seq(self, store):
        first = store.upsert_match_record(rec(77), "child-a", subject())
        second = store.upsert_match_record(rec(77), "child-a", subject(given="สมศรี"))
        assert second is not None and second > first
        assert store.match_record(rec(77)) == {"record_key": rec(77), "child_id": "child-a",
                                               "subject": subject(given="สมศรี"), "seq": second}

    def test_another_child_returns_a_higher_seq(self, store):
        first = store.upsert_match_record(rec(77), "child-a", subject())
        second = store.upsert_match_record(rec(77), "child-b", subject())
        assert second is not None and second > first
        assert store.match_record(rec(77))["child_id"] == "child-b"
        assert store.match_records_of_child("child-a") == []
        assert [r["record_key"] for r in store.match_records_of_child("child-b")] == [rec(77)]

    def test_seqs_increase_across_records(self, store):
        seqs = [store.upsert_match_record(rec(n), "child-a", subject(given=f"ชื่อ{n}")) for n in (3, 1, 2)]
        seqs.append(store.upsert_match_record(rec(1), "child-b", subject(given="ชื่อ1")))
        assert all(isinstance(s, int) for s in seqs)
        assert seqs == sorted(seqs) and len(set(seqs)) == 4

    def test_an_unknown_record_is_none_and_an_unknown_child_has_none(self, store):
        store.upsert_match_record(rec(77), "child-a", subject())
        assert store.match_record(rec(78)) is None
        assert store.match_records_of_child("child-unknown") == []

    def test_records_of_a_child_are_its_own_by_record_key(self, store):
        store.upsert_match_record(rec(9), "child-a", subject(given="ก"))
        store.upsert_match_record(rec(2, dept="education", facility="SCH-9"), "child-a", subject(given="ข"))
        store.upsert_match_record(rec(5), "child-b", subject(given="ค"))
        store.upsert_match_record(rec(1), "child-a", subject(given="ง"))
        got = store.match_records_of_child("child-a")
        assert [r["record_key"] for r in got] == sorted([rec(9), rec(2, "education", "SCH-9"), rec(1)])
        assert {r["record_key"]: r["subject"]["given_name"] for r in got} == {
            rec(9): "ก", rec(2, "education", "SCH-9"): "ข", rec(1): "ง"}
        assert all(r == store.match_record(r["record_key"]) for r in got)

    # --- the match log -----------------------------------------------------------------------------

    def test_the_log_holds_every_change_in_seq_order(self, store):
        s1 = store.upsert_match_record(rec(1), "child-a", subject())
        s2 = store.upsert_match_record(rec(2), "child-b", subject(given="สมศรี"))
        store.upsert_match_record(rec(1), "child-a", subject())  # unchanged: no row
        s3 = store.upsert_match_record(rec(1), "child-c", subject())
        assert store.match_log_since(0, 10) == [
            {"seq": s1, "record_key": rec(1), "child_id": "child-a", "subject": subject()},
            {"seq": s2, "record_key": rec(2), "child_id": "child-b", "subject": subject(given="สมศรี")},
            {"seq": s3, "record_key": rec(1), "child_id": "child-c", "subject": subject()},
        ]

    def test_match_log_since_returns_rows_after_seq_up_to_limit(self, store):
        seqs = [store.upsert_match_record(rec(n), "child-a", subject(given=f"ชื่อ{n}")) for n in range(4)]
        assert [row["seq"] for row in store.match_log_since(seqs[0], 2)] == seqs[1:3]
        assert [row["record_key"] for row in store.match_log_since(seqs[0], 2)] == [rec(1), rec(2)]
        assert [row["seq"] for row in store.match_log_since(seqs[1], 10)] == seqs[2:]
        assert [row["seq"] for row in store.match_log_since(0, 1)] == seqs[:1]
        assert store.match_log_since(seqs[-1], 10) == []

    def test_the_log_of_an_empty_store_is_empty(self, store):
        assert store.match_log_since(0, 10) == []

    def test_rereading_the_log_from_an_earlier_seq_is_safe(self, store):
        """Rows never change, and applying them in seq order ends in the records' state: a reader may
        re-read from before its mark (the MongoDB adapter's log can show a row late) and apply again."""
        store.upsert_match_record(rec(1), "child-a", subject())
        store.upsert_match_record(rec(2), "child-a", subject(given="สมศรี"))
        before = store.match_log_since(0, 10)
        store.upsert_match_record(rec(1), "child-b", subject())
        store.upsert_match_record(rec(2), "child-a", subject(given="สมใจ"))
        again = store.match_log_since(0, 10)
        assert again[:len(before)] == before
        assert len(again) == len(before) + 2
        applied = {}
        for row in before + again:  # applied once, then everything again from the start
            applied[row["record_key"]] = {**row}
        assert applied == {key: store.match_record(key) for key in (rec(1), rec(2))}

    def test_concurrent_writers_get_distinct_seqs_and_the_record_ends_at_the_highest(self, store, request):
        others = [self.open_store(request, reuse=True) for _ in range(2)]
        writes = [(s, rec(1 + n % 2), subject(given=f"ชื่อ{n}")) for n, s in enumerate([store, *others] * 2)]
        try:
            with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
                seqs = list(pool.map(lambda w: w[0].upsert_match_record(w[1], "child-a", w[2]), writes))
        finally:
            for other in others:
                other.close()
        assert None not in seqs and len(set(seqs)) == len(writes)
        log = store.match_log_since(0, 20)
        assert sorted(row["seq"] for row in log) == sorted(seqs) == [row["seq"] for row in log]
        for key in (rec(1), rec(2)):
            last = [row for row in log if row["record_key"] == key][-1]
            assert store.match_record(key) == last

    # --- identity reviews --------------------------------------------------------------------------

    def test_a_review_comes_back_exactly(self, store):
        assert store.insert_identity_review(review(1)) is True
        assert store.get_identity_review("ir-001") == review(1)

    def test_inserting_a_known_review_id_is_refused_and_keeps_the_first(self, store):
        store.insert_identity_review(review(1, candidate_id="child-b"))
        assert store.insert_identity_review(review(1, candidate_id="child-c")) is False
        assert store.get_identity_review("ir-001")["candidate_id"] == "child-b"
        assert store.find_identity_reviews(None, 0, 10)[0] == 1

    def test_an_unknown_review_is_none(self, store):
        assert store.get_identity_review("ir-404") is None

    def test_replace_review_stores_the_next_version(self, store):
        store.insert_identity_review(review(1))
        decided = next_version(review(1), status="linked", decided_by="u-1")
        assert store.replace_identity_review(decided, 1) is True
        assert store.get_identity_review("ir-001") == decided

    def test_replace_review_from_a_stale_version_is_refused_and_writes_nothing(self, store):
        store.insert_identity_review(review(1))
        linked = next_version(review(1), status="linked")
        store.replace_identity_review(linked, 1)
        assert store.replace_identity_review(next_version(review(1), status="kept_apart"), 1) is False
        assert store.get_identity_review("ir-001") == linked
        assert review_ids(store.find_identity_reviews("kept_apart", 0, 10)[1]) == []

    def test_replace_of_an_unknown_review_is_refused(self, store):
        assert store.replace_identity_review(next_version(review(9)), 1) is False
        assert store.get_identity_review("ir-009") is None

    def test_of_concurrent_decisions_on_one_review_exactly_one_wins(self, store, request):
        store.insert_identity_review(review(1))
        others = [self.open_store(request, reuse=True) for _ in range(2)]
        attempts = [(s, next_version(review(1), status=status))
                    for s, status in zip([store, *others], ["linked", "kept_apart", "linked"])]
        try:
            with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
                results = list(pool.map(lambda a: a[0].replace_identity_review(a[1], 1), attempts))
        finally:
            for other in others:
                other.close()
        assert results.count(True) == 1
        assert store.get_identity_review("ir-001") == attempts[results.index(True)][1]

    def test_find_reviews_by_status_or_any(self, store):
        store.insert_identity_review(review(1))
        store.insert_identity_review(review(2, status="linked"))
        store.insert_identity_review(review(3))
        store.insert_identity_review(review(4, status="kept_apart"))
        assert store.find_identity_reviews("open", 0, 10) == (2, [review(1), review(3)])
        assert store.find_identity_reviews("linked", 0, 10) == (1, [review(2, status="linked")])
        assert store.find_identity_reviews("withdrawn", 0, 10) == (0, [])
        total, page = store.find_identity_reviews(None, 0, 10)
        assert (total, review_ids(page)) == (4, ["ir-001", "ir-002", "ir-003", "ir-004"])

    def test_a_decided_review_leaves_the_open_list(self, store):
        store.insert_identity_review(review(1))
        store.insert_identity_review(review(2))
        store.replace_identity_review(next_version(review(1), status="linked"), 1)
        assert review_ids(store.find_identity_reviews("open", 0, 10)[1]) == ["ir-002"]
        assert review_ids(store.find_identity_reviews("linked", 0, 10)[1]) == ["ir-001"]

    def test_reviews_are_ordered_by_created_at_then_review_id(self, store):
        same = "2026-03-02T00:00:00.000000Z"
        for n, created_at in [(5, same), (1, "2026-03-03T00:00:00.000000Z"), (3, same),
                              (4, "2026-03-01T00:00:00.000000Z")]:
            store.insert_identity_review(review(n, created_at=created_at))
        assert review_ids(store.find_identity_reviews("open", 0, 10)[1]) == ["ir-004", "ir-003", "ir-005", "ir-001"]
        assert review_ids(store.find_identity_reviews(None, 0, 10)[1]) == ["ir-004", "ir-003", "ir-005", "ir-001"]

    def test_find_reviews_pages_with_offset_and_limit_and_counts_all(self, store):
        for n in (4, 2, 5, 1, 3):
            store.insert_identity_review(review(n))
        store.insert_identity_review(review(6, status="linked"))
        assert [(t, review_ids(p)) for t, p in (store.find_identity_reviews("open", 0, 2),
                                                store.find_identity_reviews("open", 2, 2),
                                                store.find_identity_reviews("open", 4, 2),
                                                store.find_identity_reviews("open", 6, 2))] == [
            (5, ["ir-001", "ir-002"]), (5, ["ir-003", "ir-004"]), (5, ["ir-005"]), (5, [])]
        assert review_ids(store.find_identity_reviews(None, 3, 2)[1]) == ["ir-004", "ir-005"]
        assert store.find_identity_reviews(None, 3, 2)[0] == 6

    def test_reviews_of_a_child_name_it_either_side_oldest_first(self, store):
        store.insert_identity_review(review(3, child_id="child-a", candidate_id="child-b"))
        store.insert_identity_review(review(1, child_id="child-c", candidate_id="child-a"))
        store.insert_identity_review(review(2, child_id="child-b", candidate_id="child-c"))
        store.insert_identity_review(review(4, child_id="child-a", candidate_id="child-d",
                                            created_at="2026-02-01T00:00:00.000000Z"))
        assert review_ids(store.identity_reviews_of_child("child-a")) == ["ir-004", "ir-001", "ir-003"]
        assert review_ids(store.identity_reviews_of_child("child-b")) == ["ir-002", "ir-003"]
        assert store.identity_reviews_of_child("child-d") == [review(4, child_id="child-a", candidate_id="child-d",
                                                                     created_at="2026-02-01T00:00:00.000000Z")]
        assert store.identity_reviews_of_child("child-unknown") == []

    # --- merges ------------------------------------------------------------------------------------

    def test_a_merge_comes_back_exactly(self, store):
        assert store.insert_merge(merge(1)) is True
        assert store.get_merge("m-001") == merge(1)
        assert store.get_merge("m-404") is None

    def test_inserting_a_known_merge_id_is_refused_and_keeps_the_first(self, store):
        store.insert_merge(merge(1, kept_id="child-a"))
        assert store.insert_merge(merge(1, kept_id="child-z")) is False
        assert store.get_merge("m-001")["kept_id"] == "child-a"

    def test_replace_merge_is_a_compare_and_set_on_version(self, store):
        store.insert_merge(merge(1))
        undone = next_version(merge(1), status="unmerged", undone_by="u-1")
        assert store.replace_merge(undone, 1) is True
        assert store.get_merge("m-001") == undone
        assert store.replace_merge(next_version(merge(1), status="other"), 1) is False  # stale
        assert store.get_merge("m-001") == undone
        assert store.replace_merge(next_version(merge(9)), 1) is False  # unknown
        assert store.get_merge("m-009") is None

    def test_merges_of_a_child_name_it_either_side_oldest_first(self, store):
        store.insert_merge(merge(3, kept_id="child-a", merged_id="child-b"))
        store.insert_merge(merge(1, kept_id="child-c", merged_id="child-a"))
        store.insert_merge(merge(2, kept_id="child-c", merged_id="child-d"))
        store.insert_merge(merge(5, kept_id="child-a", merged_id="child-e", at="2026-01-01T00:00:00.000000Z"))
        store.insert_merge(merge(4, kept_id="child-e", merged_id="child-a", at="2026-01-01T00:00:00.000000Z"))
        assert [m["merge_id"] for m in store.merges_of_child("child-a")] == ["m-004", "m-005", "m-001", "m-003"]
        assert store.merges_of_child("child-d") == [merge(2, kept_id="child-c", merged_id="child-d")]
        assert store.merges_of_child("child-unknown") == []

    # --- moving a child's records ------------------------------------------------------------------

    @pytest.fixture
    def two_children(self, store):
        """child-b holds two keys, three timeline entries (one counted twice as a duplicate), a referral
        (outboxed) and a match record; child-a has its own key and record."""
        for key in ("nid:1103700012345", "local:health:HC-0042:77", "local:education:SCH-9:12"):
            store.claim_key(key, "child-b")
        store.claim_key("nid:1103700099999", "child-a")
        store.save_profile("child-a", PROFILE, "2024-05-01T02:30:00.000000Z")
        store.save_profile("child-b", {**PROFILE, "given_name": "สมศรี"}, "2024-05-01T02:30:00.000000Z")
        store.append_to_timeline(entry("evt-1", occurred_at_utc="2024-05-01T00:00:00.000000Z"))
        store.append_to_timeline(entry("evt-2", occurred_at_utc="2024-05-03T00:00:00.000000Z"))
        store.append_to_timeline(entry("evt-2", occurred_at_utc="2024-05-03T00:00:00.000000Z"))
        store.append_to_timeline(entry("evt-2", occurred_at_utc="2024-05-03T00:00:00.000000Z"))
        store.append_to_timeline(entry("evt-3", occurred_at_utc="2024-05-04T00:00:00.000000Z"))
        store.append_to_timeline(entry("evt-0", child_id="child-a", occurred_at_utc="2024-05-02T00:00:00.000000Z"))
        store.insert_referral(referral(1))
        store.mark_outboxed("r-001", 1)
        store.upsert_match_record(rec(77), "child-b", subject(given="สมศรี"))
        store.upsert_match_record(rec(5), "child-a", subject())
        return store

    def test_move_gives_keys_to_the_new_owner(self, two_children):
        store = two_children
        store.move_child_records("child-a", **MOVE)
        assert store.children_for_keys(["nid:1103700012345", "local:health:HC-0042:77",
                                        "local:education:SCH-9:12"]) == {
            "nid:1103700012345": "child-a", "local:health:HC-0042:77": "child-a",
            "local:education:SCH-9:12": "child-b"}
        assert store.find_child("nid:1103700012345") == "child-a"
        assert store.child("child-a")["keys"] == ["local:health:HC-0042:77", "nid:1103700012345",
                                                  "nid:1103700099999"]
        assert store.child("child-b")["keys"] == ["local:education:SCH-9:12"]

    def test_move_gives_timeline_entries_to_the_new_owner_with_their_duplicates(self, two_children):
        store = two_children
        store.move_child_records("child-a", **MOVE)
        assert store.timeline("child-a") == [
            {**entry("evt-1", child_id="child-a", occurred_at_utc="2024-05-01T00:00:00.000000Z"), "duplicates": 0},
            {**entry("evt-0", child_id="child-a", occurred_at_utc="2024-05-02T00:00:00.000000Z"), "duplicates": 0},
            {**entry("evt-2", child_id="child-a", occurred_at_utc="2024-05-03T00:00:00.000000Z"), "duplicates": 2},
        ]
        assert [e["event_id"] for e in store.timeline("child-b")] == ["evt-3"]
        assert store.stats() == {"children": 2, "events": 4, "duplicates": 2}

    def test_move_gives_referrals_to_the_new_owner_at_the_same_version(self, two_children):
        store = two_children
        store.move_child_records("child-a", **MOVE)
        moved = {**referral(1), "child_id": "child-a"}
        assert store.referrals_of_child("child-a") == [moved]
        assert store.get_referral("r-001") == moved
        assert store.referrals_of_child("child-b") == []
        assert store.referrals_not_outboxed(10) == []  # not a new version: nothing to announce
        assert store.find_referrals([[{"child_id": "child-a"}]], 0, 10) == (1, [moved])

    def test_move_gives_match_records_to_the_new_owner_through_the_log(self, two_children):
        store = two_children
        before = store.match_log_since(0, 10)
        store.move_child_records("child-a", **MOVE)
        after = store.match_log_since(0, 10)
        assert after[:len(before)] == before
        [row] = after[len(before):]
        assert row["seq"] > before[-1]["seq"]
        assert row == {"seq": row["seq"], "record_key": rec(77), "child_id": "child-a",
                       "subject": subject(given="สมศรี")}
        assert store.match_record(rec(77)) == row
        assert [r["record_key"] for r in store.match_records_of_child("child-a")] == sorted([rec(5), rec(77)])
        assert store.match_records_of_child("child-b") == []

    def test_move_is_idempotent(self, two_children):
        store = two_children
        store.move_child_records("child-a", **MOVE)
        state = (store.match_log_since(0, 10), store.timeline("child-a"), store.timeline("child-b"),
                 store.referrals_of_child("child-a"), store.child("child-a"), store.child("child-b"),
                 store.match_records_of_child("child-a"), store.stats())
        store.move_child_records("child-a", **MOVE)
        assert (store.match_log_since(0, 10), store.timeline("child-a"), store.timeline("child-b"),
                store.referrals_of_child("child-a"), store.child("child-a"), store.child("child-b"),
                store.match_records_of_child("child-a"), store.stats()) == state

    def test_a_move_that_failed_part_way_completes_when_run_again(self, two_children, monkeypatch):
        """A crash while logging the second record (SQLite: the transaction undone; MongoDB: what was
        written stays); the rerun moves everything and logs each record once."""
        store = two_children
        store.upsert_match_record(rec(78), "child-b", subject(given="สมศรี", sex="M"))
        before = store.match_log_since(0, 10)
        real, calls = store._log_record, []

        def crash_on_the_second(*args):
            calls.append(args)
            if len(calls) == 2:
                raise RuntimeError("process died")
            return real(*args)

        monkeypatch.setattr(store, "_log_record", crash_on_the_second)
        with pytest.raises(RuntimeError):
            store.move_child_records("child-a", **{**MOVE, "record_keys": [rec(77), rec(78)]})
        monkeypatch.undo()
        store.move_child_records("child-a", **{**MOVE, "record_keys": [rec(77), rec(78)]})
        new_rows = store.match_log_since(before[-1]["seq"], 10)
        assert sorted((row["record_key"], row["child_id"]) for row in new_rows) == [
            (rec(77), "child-a"), (rec(78), "child-a")]
        assert [r["record_key"] for r in store.match_records_of_child("child-a")] == [rec(5), rec(77), rec(78)]
        assert [e["event_id"] for e in store.timeline("child-a")] == ["evt-1", "evt-0", "evt-2"]
        assert store.get_referral("r-001")["child_id"] == "child-a"

    def test_move_skips_what_is_not_stored_and_creates_nothing(self, two_children):
        store = two_children
        log = store.match_log_since(0, 10)
        store.move_child_records("child-a", ["nid:0000000000000"], ["evt-404"], ["r-404"], [rec(404)])
        assert store.find_child("nid:0000000000000") is None
        assert store.get_referral("r-404") is None
        assert store.match_record(rec(404)) is None
        assert store.match_log_since(0, 10) == log
        assert [e["event_id"] for e in store.timeline("child-a")] == ["evt-0"]

    def test_a_move_keeps_each_departments_entry_under_a_shared_event_id_its_own(self, store):
        health = entry("evt-9", child_id="child-b")
        social = {**entry("evt-9", child_id="child-b"), "department": "social", "type": "child.enrolled",
                  "payload": {"centre_id": "CDC-1"}}
        store.append_to_timeline(health)
        store.append_to_timeline(social)
        store.move_child_records("child-a", [], ["evt-9"], [], [])
        moved = {e["department"]: e for e in store.timeline("child-a")}
        assert set(moved) == {"health", "social"}
        assert moved["social"]["payload"] == {"centre_id": "CDC-1"} and moved["health"]["payload"] == health["payload"]
        assert all(e["child_id"] == "child-a" for e in moved.values())

    def test_a_record_already_with_the_new_owner_is_not_logged_again(self, two_children):
        store = two_children
        log = store.match_log_since(0, 10)
        store.move_child_records("child-a", [], [], [], [rec(5)])
        assert store.match_log_since(0, 10) == log

    def test_moving_back_undoes_the_move(self, two_children):
        store = two_children
        before = (store.timeline("child-a"), store.timeline("child-b"), store.child("child-a"),
                  store.child("child-b"), store.referrals_of_child("child-b"))
        store.move_child_records("child-a", **MOVE)
        store.move_child_records("child-b", **MOVE)
        assert (store.timeline("child-a"), store.timeline("child-b"), store.child("child-a"),
                store.child("child-b"), store.referrals_of_child("child-b")) == before
        assert [(row["record_key"], row["child_id"]) for row in store.match_log_since(0, 10)][-2:] == [
            (rec(77), "child-a"), (rec(77), "child-b")]

    # --- merged children ---------------------------------------------------------------------------

    def test_a_child_is_not_merged_until_marked(self, store):
        store.save_profile("child-b", PROFILE, "2024-05-01T02:30:00.000000Z")
        assert store.merged_into("child-b") is None
        assert "merged_into" not in store.child("child-b")

    def test_set_merged_into_shows_in_child_and_none_clears_it(self, store):
        store.claim_key("nid:1103700012345", "child-b")
        store.save_profile("child-b", PROFILE, "2024-05-01T02:30:00.000000Z")
        store.set_merged_into("child-b", "child-a")
        assert store.merged_into("child-b") == "child-a"
        assert store.merged_into("child-a") is None
        assert store.child("child-b") == {"child_id": "child-b", "profile": PROFILE,
                                          "keys": ["nid:1103700012345"], "merged_into": "child-a"}
        store.set_merged_into("child-b", "child-c")
        assert store.child("child-b")["merged_into"] == "child-c"
        store.set_merged_into("child-b", None)
        assert store.merged_into("child-b") is None
        assert store.child("child-b") == {"child_id": "child-b", "profile": PROFILE, "keys": ["nid:1103700012345"]}
        store.set_merged_into("child-x", None)  # clearing an unmarked child is harmless
        assert store.merged_into("child-x") is None

    def test_a_merged_child_without_a_profile_is_still_none(self, store):
        store.set_merged_into("child-b", "child-a")
        assert store.child("child-b") is None
        assert store.merged_into("child-b") == "child-a"
        assert store.stats()["children"] == 0


class TestSqliteIdentityStore(IdentityContract):
    def open_store(self, request, reuse=False):
        return SqliteTimelineStore(request.getfixturevalue("tmp_path") / "referral.sqlite3")


class TestMongoIdentityStore(IdentityContract):
    def open_store(self, request, reuse=False):
        if not reuse:
            request.node.mongo_database_name = request.getfixturevalue("mongo_database")
        return MongoTimelineStore(request.getfixturevalue("mongo_uri"), request.node.mongo_database_name)

    def test_every_query_path_has_an_index(self, store):
        keys = {name: [[field for field, _ in index] for index in indexes]
                for name, indexes in store.identity_index_keys().items()}
        for name, wanted in [("match_records", ["child_id", "_id"]),
                             ("identity_reviews", ["status", "created_at", "_id"]),
                             ("identity_reviews", ["created_at", "_id"]),
                             ("identity_reviews", ["child_id", "created_at"]),
                             ("identity_reviews", ["candidate_id", "created_at"]),
                             ("merges", ["kept_id", "at"]), ("merges", ["merged_id", "at"])]:
            assert wanted in keys[name], (name, wanted, keys[name])

    def test_a_log_row_shown_late_is_found_by_rereading_from_an_earlier_seq(self, store):
        """The ordering caveat: a writer takes seq n, another takes n+1 and inserts first; a reader past
        n+1 misses n, one re-reading from before n finds it, in seq order."""
        first = store._next_seq()  # taken, its row not written yet
        second = store._log_record(rec(2), "child-a", subject(given="สมศรี"))
        assert second > first
        mark = store.match_log_since(0, 10)[-1]["seq"]
        store.match_log.insert_one({"_id": first, "record_key": rec(1), "child_id": "child-a",
                                    "subject": subject()})  # the slow writer's row, at last
        assert store.match_log_since(mark, 10) == []
        assert [row["seq"] for row in store.match_log_since(0, 10)] == [first, second]

    def test_a_slow_writer_of_a_record_does_not_overwrite_a_later_seq(self, store, monkeypatch):
        """Writer A takes seq n, writer B takes n+1 for the same record and finishes first; when A finishes,
        the record keeps B's state, which is also what applying the log in seq order ends in."""
        taken = store._next_seq()  # writer A's seq
        later = store.upsert_match_record(rec(1), "child-b", subject(given="บี"))  # writer B
        monkeypatch.setattr(store, "_next_seq", lambda: taken)
        assert store.upsert_match_record(rec(1), "child-a", subject(given="เอ")) == taken  # A finishes
        monkeypatch.undo()
        log = store.match_log_since(0, 10)
        assert [(row["seq"], row["child_id"]) for row in log] == [(taken, "child-a"), (later, "child-b")]
        assert store.match_record(rec(1)) == log[-1]

    def test_a_server_gone_away_makes_every_call_raise_store_unavailable(self, disposable_mongo):
        uri, stop = disposable_mongo
        store = MongoTimelineStore(uri, "childlink_test", server_selection_timeout_ms=200)
        try:
            store.upsert_match_record(rec(1), "child-a", subject())
            stop()
            calls = [
                lambda: store.upsert_match_record(rec(2), "child-a", subject()),
                lambda: store.match_record(rec(1)),
                lambda: store.match_records_of_child("child-a"),
                lambda: store.match_log_since(0, 10),
                lambda: store.insert_identity_review(review(1)),
                lambda: store.get_identity_review("ir-001"),
                lambda: store.replace_identity_review(next_version(review(1)), 1),
                lambda: store.find_identity_reviews("open", 0, 10),
                lambda: store.identity_reviews_of_child("child-a"),
                lambda: store.insert_merge(merge(1)),
                lambda: store.get_merge("m-001"),
                lambda: store.replace_merge(next_version(merge(1)), 1),
                lambda: store.merges_of_child("child-a"),
                lambda: store.move_child_records("child-b", ["k"], ["evt-1"], ["r-001"], [rec(1)]),
                lambda: store.set_merged_into("child-a", "child-b"),
                lambda: store.merged_into("child-a"),
            ]
            for call in calls:
                with pytest.raises(StoreUnavailable):
                    call()
        finally:
            store.close()
