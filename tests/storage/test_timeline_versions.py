"""`timeline_version` and the timeline cache built on it: a kept timeline is never served once the
child changed, on either adapter, whichever write changed it."""

import json
import sqlite3

import orjson
import pytest
from childlink_common.testing.store_contract import StoreContract
from childlink_referral.queries import TimelineCache, timeline_view
from childlink_referral.store.mongo_store import MongoTimelineStore
from childlink_referral.store.sqlite_store import SqliteTimelineStore

from .test_timeline_contract import PROFILE, entry


def view_of(store, child_id):
    return orjson.loads(orjson.dumps(timeline_view(store, child_id)))


def each_write(store):
    """Every kind of write that changes what the timeline API shows of child-a, one after another."""
    yield "append", lambda: store.append_to_timeline(entry("e2", occurred_at_utc="2024-04-01T00:00:00.000000Z"))
    yield "duplicate", lambda: store.append_to_timeline(entry("e2", occurred_at_utc="2024-04-01T00:00:00.000000Z"))
    yield "newer profile", lambda: store.save_profile("child-a", {**PROFILE, "given_name": "สมชาย"},
                                                      "2024-06-01T00:00:00.000000Z")
    yield "profile put back", lambda: store.replace_profile("child-a", PROFILE)
    yield "merged into b", lambda: store.set_merged_into("child-a", "child-b")
    yield "merge undone", lambda: store.set_merged_into("child-a", None)
    yield "entry moved away", lambda: store.move_child_records("child-b", [], ["e1"], [], [])


class VersionContract(StoreContract):
    def test_the_cache_serves_what_the_store_holds_after_every_write(self, store):
        store.save_profile("child-a", PROFILE, "2024-05-01T00:00:00.000000Z")
        store.append_to_timeline(entry("e1"))
        cache = TimelineCache(store)
        assert orjson.loads(cache.encoded_view("child-a")) == view_of(store, "child-a")
        for name, write in each_write(store):
            before = store.timeline_version("child-a")
            write()
            after = store.timeline_version("child-a")
            assert before is None or after != before, name
            assert orjson.loads(cache.encoded_view("child-a")) == view_of(store, "child-a"), name

    def test_an_unknown_child_is_none_and_nothing_is_kept(self, store):
        cache = TimelineCache(store)
        assert cache.encoded_view("nobody") is None
        store.append_to_timeline(entry("e1", child_id="nobody"))
        assert orjson.loads(cache.encoded_view("nobody"))["entries"][0]["event_id"] == "e1"

    def test_a_write_to_another_child_leaves_the_version_alone(self, store):
        store.append_to_timeline(entry("e1"))
        before = store.timeline_version("child-a")
        store.append_to_timeline(entry("e9", child_id="child-z"))
        store.save_profile("child-z", PROFILE, "2024-05-01T00:00:00.000000Z")
        assert store.timeline_version("child-a") == before


class TestSqliteVersions(VersionContract):
    def open_store(self, request):
        return SqliteTimelineStore(request.getfixturevalue("tmp_path") / "referral.sqlite3")

    def test_a_read_of_an_unchanged_child_is_served_from_the_cache(self, store):
        store.append_to_timeline(entry("e1"))
        cache = TimelineCache(store)
        first = cache.encoded_view("child-a")
        assert cache.encoded_view("child-a") is first
        assert (cache.hits, cache.misses) == (1, 1)

    def test_another_writer_of_the_file_invalidates_too(self, store, tmp_path):
        store.append_to_timeline(entry("e1"))
        cache = TimelineCache(store)
        cache.encoded_view("child-a")
        other = sqlite3.connect(tmp_path / "referral.sqlite3")  # not the store's shared connection
        with other:
            other.execute("UPDATE timeline SET duplicates = 7 WHERE event_id = 'e1'")
        other.close()
        assert json.loads(cache.encoded_view("child-a"))["entries"][0]["duplicates"] == 7

    def test_nothing_is_kept_from_inside_a_transaction_that_is_rolled_back(self, store):
        store.append_to_timeline(entry("e1"))
        cache = TimelineCache(store)
        with pytest.raises(RuntimeError), store.batch():
            store.append_to_timeline(entry("e2"))
            assert store.timeline_version("child-a") is None
            assert len(json.loads(cache.encoded_view("child-a"))["entries"]) == 2
            raise RuntimeError("rolled back")
        store.append_to_timeline(entry("e3"))  # the version moves on once more, as the batch had moved it
        ids = [e["event_id"] for e in json.loads(cache.encoded_view("child-a"))["entries"]]
        assert ids == ["e1", "e3"]

    def test_a_child_stored_before_the_versions_existed_is_version_0_until_written(self, store, tmp_path):
        store.append_to_timeline(entry("e1"))
        raw = sqlite3.connect(tmp_path / "referral.sqlite3")
        with raw:
            raw.execute("DELETE FROM child_versions")
        raw.close()
        assert store.timeline_version("child-a") == 0
        store.append_to_timeline(entry("e2"))
        assert store.timeline_version("child-a") == 1

    def test_the_cache_keeps_at_most_its_bytes(self, store):
        for n in range(5):
            store.append_to_timeline(entry(f"e{n}", child_id=f"child-{n}"))
        one = len(TimelineCache(store).encoded_view("child-0"))
        cache = TimelineCache(store, max_bytes=2 * one + one // 2)
        for n in range(5):
            cache.encoded_view(f"child-{n}")
        assert len(cache._kept) == 2 and list(cache._kept) == ["child-3", "child-4"]


class TestMongoVersions(VersionContract):
    def open_store(self, request):
        return MongoTimelineStore(request.getfixturevalue("mongo_uri"), request.getfixturevalue("mongo_database"))
