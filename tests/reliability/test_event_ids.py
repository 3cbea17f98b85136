"""Scenario 9: colliding and conflicting event_ids (childlink_contracts.content).

- Colliding: other departments' events sent under event_ids the health department already used.
  Each is its own event (department + event_id): all are accepted and every one reaches its timeline.
- Conflicting over HTTP: accepted events sent again under their own event_id with other content: 409
  `conflict`, nothing stored, the first stands.
- Conflicting on the broker: the same, published straight to the exchange as a rogue producer would:
  dead-lettered with reason `conflict`, never applied, never dropped silently.
lost = 0 counts events by (department, event_id).
"""

import copy
import datetime as dt
import time

import pytest

from .harness import SCALE, dataset
from .reference import as_published

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300 if SCALE == "short" else 3600)]
DRAIN_TIMEOUT_S = 120 if SCALE == "short" else 900


def colliding(events, share=0.5):
    """The dataset with a share of the other departments' events renamed to health's event_ids (every
    copy of one event renamed alike, and the corrections naming it), and the renamed ids."""
    health_ids = list(dict.fromkeys(e["event_id"] for d, e in events if d == "health"))
    other_ids = list(dict.fromkeys(e["event_id"] for d, e in events if d != "health"))
    renamed = dict(zip(other_ids[: max(1, int(len(other_ids) * share))], health_ids))
    result = []
    for department, event in events:
        event = copy.deepcopy(event)
        if department != "health":
            event["event_id"] = renamed.get(event["event_id"], event["event_id"])
            if event.get("supersedes") in renamed:
                event["supersedes"] = renamed[event["supersedes"]]
            if event.get("correlation_id") in renamed:
                event["correlation_id"] = renamed[event["correlation_id"]]
        result.append((department, event))
    return result, set(renamed.values())


def other_content(event):
    """The same event_id with another occurred_at: other content, still a valid event."""
    changed = copy.deepcopy(event)
    occurred = dt.datetime.fromisoformat(changed["occurred_at"]) - dt.timedelta(minutes=7)
    changed["occurred_at"] = occurred.isoformat()
    return changed


def test_9_colliding_and_conflicting_event_ids(make_run):
    run = make_run("9-event-ids").start()
    events, collided = colliding(dataset().events)
    run.send(events)
    assert run.wait_until_quiet(DRAIN_TIMEOUT_S) is not None
    stored = run.stored_pairs()
    pairs = {(department, event["event_id"]) for department, event in events
             if department != "health" and event["event_id"] in collided}
    both = {pair for pair in pairs if pair in stored and ("health", pair[1]) in stored}
    assert both == {pair for pair in pairs if pair in run.accepted_pairs and ("health", pair[1]) in run.accepted_pairs}
    assert both, "no collision reached the timelines"

    # over HTTP: the first stands, the conflict is refused whole
    firsts = {}
    for department, event in events:
        if department == "health" and (department, event["event_id"]) in run.accepted_pairs:
            firsts.setdefault(event["event_id"], event)
    sample = list(firsts.values())[:: max(1, len(firsts) // 20)][:20]
    refused = 0
    for event in sample:
        answer = run.post("health", [other_content(event)])
        assert getattr(answer, "status", None) == 409, answer
        assert list(answer.errors) == ["0"] and list(answer.errors["0"]) == ["event_id"]
        refused += 1

    # on the broker: dead-lettered with reason conflict, never applied
    before = run.referral_stats()
    run.publish_raw("health", [as_published("health", other_content(event)) for event in sample])
    letters = []
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while len(letters) < len(sample) and time.monotonic() < deadline:
        letters = [dl for dl in run.dead_letters() if dl["headers"].get("x-childlink-reason") == "conflict"]
        time.sleep(0.5)
    assert sorted(dl["message_id"] for dl in letters) == sorted(e["event_id"] for e in sample)
    after = run.referral_stats()
    assert (after["events"], after["duplicates"]) == (before["events"], before["duplicates"])

    figures = run.figures(collided_event_ids=len(collided), collided_stored_twice=len(both),
                          http_conflicts_refused=refused, broker_conflicts_dead_lettered=len(letters))
    try:
        assert figures.lost == 0, f"{figures.lost} accepted events are not in the timeline"
        assert figures.applied == figures.accepted
        assert figures.dead_lettered == len(sample)
        assert run.answers["failed"] == 0
    finally:
        figures.save()
