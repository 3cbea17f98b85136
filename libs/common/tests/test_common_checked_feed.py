"""The checked feed (childlink_common.checked_feed) in real processes: every load gets the file's lines
checked once, in order, as check_line gives them; a load that stops does not hold the others; a reader
that fails or dies is reported to every load, never waited on for ever."""

import contextlib
import json
import time

import pytest
from childlink_common.checked_feed import CheckedFeed, FeedFailed, received
from childlink_common.event_lines import Checked, Refusal, check_line, read_lines
from childlink_common.testing.events import child, event


def history(path, children=40):
    with open(path, "w", encoding="utf-8") as handle:
        for n in range(children):
            good = event("health", "child.registered", subject=child(local_id=f"FEED-{n}"))
            handle.write(json.dumps({"department": "health", "event": good}) + "\n")
            if n % 10 == 3:
                broken = event("health", "child.registered", subject=child(local_id=f"BAD-{n}"))
                broken["subject"]["child"]["birth_date"] = "not a date"
                handle.write(json.dumps({"department": "health", "event": broken}) + "\n")
                handle.write("{not json\n")
    return path


@contextlib.contextmanager
def running(path, **options):
    feed = CheckedFeed(path, **options).start()
    try:
        yield feed
    finally:
        feed.stop()


def as_compared(items):
    return [(type(item).__name__, item.number, getattr(item, "digest", None), getattr(item, "errors", None))
            for item in items]


@pytest.mark.timeout(60)
def test_every_load_gets_each_line_checked_once_in_the_files_order(tmp_path):
    path = history(tmp_path / "history.jsonl")
    with running(path, loads=2, chunk=7) as feed:
        first = list(received(feed.end(0)))
        second = list(received(feed.end(1)))
    expected = [check_line(item) for item in read_lines(path)]
    assert as_compared(first) == as_compared(second) == as_compared(expected)
    assert {type(item) for item in first} == {Checked, Refusal}
    assert [item.event for item in first if isinstance(item, Checked)] == [
        item.event for item in expected if isinstance(item, Checked)]
    refused = [item for item in first if isinstance(item, Refusal)]
    assert any("subject.child.birth_date" in item.errors for item in refused)
    assert any("_line" in item.errors for item in refused)


@pytest.mark.timeout(60)
def test_a_load_that_stops_early_does_not_hold_the_others_back(tmp_path):
    path = history(tmp_path / "history.jsonl", children=400)
    with running(path, loads=2, chunk=5, depth=1) as feed:
        stopping = received(feed.end(0))
        next(stopping)
        stopping.close()  # as a load that failed: it reads no more
        rest = list(received(feed.end(1)))
    assert len(rest) == len(list(read_lines(path)))


@pytest.mark.timeout(60)
def test_a_reader_that_fails_is_reported_to_every_load(tmp_path):
    with running(tmp_path / "missing.jsonl", loads=2) as feed:
        for index in (0, 1):
            with pytest.raises(FeedFailed, match="FileNotFoundError"):
                list(received(feed.end(index)))


@pytest.mark.timeout(60)
def test_a_reader_that_dies_without_a_word_is_not_waited_on(tmp_path):
    path = history(tmp_path / "history.jsonl", children=2000)
    with running(path, loads=1, chunk=5, depth=1) as feed:
        items = received(feed.end(0))
        next(items)
        feed.process.kill()
        started = time.monotonic()
        with pytest.raises(FeedFailed, match="without a word"):
            list(items)
        assert time.monotonic() - started < 10
