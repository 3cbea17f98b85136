"""The fault scenarios: the real services on a private RabbitMQ, driven by the simulator.

Every scenario ends with the same books (published, confirmed, consumed, duplicates suppressed,
dead-lettered, lost, recovery time), saved for docs/reliability-report.md, and lost must be 0. Where
the scenario promises it, the timelines (and the standing referrals) must equal those of an
undisturbed run: the same accepted events taken in one by one, in order, by the referral's own code.
"""

import copy
import itertools
import json
import random
import subprocess
import sys
import textwrap
import time

import pytest
from childlink_common import topology
from childlink_common.testing.services import DEPARTMENTS

from . import probe
from .harness import CONSUMER_QUEUES, SCALE, SIZE, dataset
from .probe import ProbeConsumer
from .reference import as_published, differences

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300 if SCALE == "short" else 3600)]
RATE = SIZE["rate"]
DRAIN_TIMEOUT_S = 120 if SCALE == "short" else 900  # well inside the test timeout


def split(events, *shares):
    cuts = [0, *(int(len(events) * share) for share in shares), len(events)]
    return [events[a:b] for a, b in itertools.pairwise(cuts)]


def all_alive(run):
    return {name: process.process.poll() is None for name, process in run.system.processes.items()}


def assert_same_as_undisturbed(run, reference, figures):
    expected_timelines, expected_referrals = reference
    found = differences(expected_timelines, run.timelines())
    figures.notes["timelines_equal_undisturbed"] = not found
    assert not found, f"timelines differ from an undisturbed run: {found}"
    # the rules run after each event is stored: give the last ones a moment
    deadline = time.monotonic() + 5
    standing = run.referrals()
    while without_evidence(standing) != without_evidence(expected_referrals) and time.monotonic() < deadline:
        time.sleep(0.5)
        standing = run.referrals()
    figures.notes["standing_referrals"] = sum(len(v) for v in standing.values())
    figures.notes["referrals_by_status"] = run.referral_counts()
    # The evidence a referral names (source_event_ids) is the event that first met the rule: with
    # another arrival order, another event of the same state may have been first. Counted, not failed.
    figures.notes["standing_referrals_naming_other_evidence"] = sum(
        1 for key in standing for got, want in zip(standing[key], expected_referrals.get(key, []))
        if got["source_event_ids"] != want["source_event_ids"])
    standing, expected_referrals = without_evidence(standing), without_evidence(expected_referrals)
    diff = [(key, expected_referrals.get(key), standing.get(key))
            for key in sorted(set(standing) | set(expected_referrals))
            if standing.get(key) != expected_referrals.get(key)]
    figures.notes["referrals_differing_children"] = len(diff)
    assert not diff, f"standing referrals differ from an undisturbed run (child, want, got): {diff[:3]}"
    figures.notes["referrals_equal_undisturbed"] = True


def without_evidence(referrals):
    return {key: [{k: v for k, v in r.items() if k != "source_event_ids"} for r in found]
            for key, found in referrals.items()}


def finish(run, figures, reference=None):
    """Check and save the books; the report is written from what was saved, pass or fail."""
    try:
        assert figures.lost == 0, f"{figures.lost} accepted events are not in the timeline"
        assert run.answers["failed"] == 0, "the ingest API failed to answer"
        if reference is not None:
            assert_same_as_undisturbed(run, reference, figures)
    finally:
        figures.save()


# --- 1. RabbitMQ stopped and restarted mid-stream ---------------------------------------------------

def test_1_broker_stopped_and_restarted_mid_stream(make_run, private_broker, reference):
    run = make_run("1-broker-restart").start()
    before, during, after = split(dataset().events, 0.4, 0.7)
    stream = run.stream(before, RATE)
    stream.wait_for(0.5)
    stopping = time.monotonic()
    private_broker.stop_app()  # while the stream runs: relays and consumers lose the broker mid-flight
    stop_app_s = time.monotonic() - stopping
    stream.join()
    accepted_before_outage = len(run.accepted)
    run.send(during)  # with the broker down: the departments must keep accepting
    accepted_while_down = len(run.accepted) - accepted_before_outage
    backlog_at_restart = sum(run.department_health(d)["outbox_backlog"] for d in DEPARTMENTS)
    assert run.answers["failed"] == 0 and run.answers["rejected"] == 0
    assert accepted_while_down > 0 and backlog_at_restart >= accepted_while_down
    stream = run.stream(after, RATE)
    private_broker.start_app()
    back = time.monotonic()
    snapshot = set(run.accepted)
    recovery = run.wait_until_stored(snapshot, timeout=DRAIN_TIMEOUT_S)
    stream.join()
    run.wait_until_quiet(DRAIN_TIMEOUT_S)
    alive = all_alive(run)
    figures = run.figures(recovery_s=recovery, outage_s=round(back - stopping, 1),
                          stop_app_s=round(stop_app_s, 1), accepted_while_down=accepted_while_down,
                          backlog_at_restart=backlog_at_restart, services_alive=alive)
    try:
        assert all(alive.values()), f"a service died: {alive}"  # no restarts: they reconnect themselves
        assert recovery is not None, "not everything accepted before the restart reached the timeline"
    finally:
        finish(run, figures, reference)


# --- 2. The referral service killed with SIGKILL mid-stream and restarted --------------------------

def test_2_referral_killed_mid_stream_and_restarted(make_run, reference):
    run = make_run("2-referral-sigkill").start()
    events = dataset().events
    stream = run.stream(events, None)  # as fast as ingest takes them: the referral falls behind
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while len(run.stored_ids() or ()) < len(events) / 3:  # a third in
        assert time.monotonic() < deadline, "the referral is not taking events in"
        time.sleep(0.05)
    busy_by = time.monotonic() + 10
    while True:  # kill it busy: with messages waiting (and so, with prefetch, in flight), if it comes to that
        waiting = sum(run.queue_depths().get(q, 0) for q in CONSUMER_QUEUES)
        if waiting or time.monotonic() > busy_by:
            break
        time.sleep(0.02)
    run.system["referral"].kill()  # SIGKILL: no goodbye, whatever it was doing
    killed = time.monotonic()
    stored_at_kill, in_queues_at_kill = len(run.stored_ids() or ()), waiting
    time.sleep(2)  # the departments go on publishing into the queues
    queued_while_dead = sum(run.queue_depths().get(q, 0) for q in CONSUMER_QUEUES)
    snapshot = set(run.accepted)
    restarting = time.monotonic()
    run.restart("referral")
    back = time.monotonic()
    waited = run.wait_until_stored(snapshot, timeout=DRAIN_TIMEOUT_S)
    recovery = None if waited is None else waited + (back - restarting)  # from the restart command
    stream.join()
    run.wait_until_quiet(DRAIN_TIMEOUT_S)
    figures = run.figures(recovery_s=recovery, down_s=round(restarting - killed, 1),
                          restart_until_healthy_s=round(back - restarting, 1), stored_at_kill=stored_at_kill,
                          ready_in_queues_at_kill=in_queues_at_kill, ready_in_queues_before_restart=queued_while_dead)
    try:
        assert recovery is not None
        assert figures.dead_lettered == 0, "a redelivery after the kill was dead-lettered"
    finally:
        finish(run, figures, reference)


# --- 3. Every event delivered two or three times --------------------------------------------------

def test_3_every_event_delivered_two_or_three_times(make_run, reference):
    run = make_run("3-duplicates").start()
    rng = random.Random(3)
    events = dataset().events
    # over HTTP: each event sent once more or twice more, in later requests (a retry after a lost answer)
    placed = [(index, 0, department, event) for index, (department, event) in enumerate(events)]
    http_repeats = 0
    for index, (department, event) in enumerate(events):
        for copy_number in range(1, rng.choice((2, 3))):
            placed.append((index + rng.randint(1, 40), copy_number, department, copy.deepcopy(event)))
            http_repeats += 1
    placed.sort(key=lambda item: (item[0], item[1]))
    run.send([(department, event) for _, _, department, event in placed])
    assert run.wait_until_quiet(DRAIN_TIMEOUT_S) is not None
    simulator_repeats = len(events) - len({e["event_id"] for _, e in events})
    # on the broker: each accepted event published once or twice more, as a relay does when a confirm
    # is lost after the broker took the message
    by_id = {event["event_id"]: (department, event) for department, event in events}
    broker_repeats, bodies = 0, {d: [] for d in DEPARTMENTS}
    for event_id in sorted(run.accepted):
        department, event = by_id[event_id]
        extra = rng.choice((1, 2))
        bodies[department].extend([as_published(department, event)] * extra)
        broker_repeats += extra
    for department, repeated in bodies.items():
        rng.shuffle(repeated)
        run.publish_raw(department, repeated)
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while run.referral_stats()["duplicates"] < broker_repeats and time.monotonic() < deadline:
        time.sleep(0.5)
    run.wait_until_quiet(DRAIN_TIMEOUT_S)
    figures = run.figures(http_repeats_sent=http_repeats + simulator_repeats, broker_repeats_sent=broker_repeats)
    try:
        assert figures.ingest_duplicates == http_repeats + simulator_repeats
        assert figures.confirmed == figures.accepted  # a repeat at ingest is never published again
        assert figures.applied == figures.accepted  # applied once
        assert figures.duplicates_suppressed == broker_repeats  # and every repeat counted
        assert figures.dead_lettered == 0
    finally:
        finish(run, figures, reference)


# --- 4. Shuffled, corrections before what they correct ----------------------------------------------

def test_4_shuffled_and_corrections_before_what_they_correct(make_run, reference):
    run = make_run("4-shuffled").start()
    truth = dataset()
    events = list(truth.events)
    fixes = {**truth.delivery.corrections, **truth.delivery.retractions}  # later event -> the one it fixes
    assert fixes, "the dataset has no correction or retraction to send first"
    early = [(d, e) for d, e in events if e["event_id"] in fixes]
    rest = [(d, e) for d, e in events if e["event_id"] not in fixes]
    random.Random(4).shuffle(rest)
    run.send(early, batch_size=1)  # the corrections and retractions go first, and are stored first
    assert run.wait_until_stored({e["event_id"] for _, e in early}, timeout=60) is not None
    first_seen = {event_id: original for event_id, original in fixes.items()}
    assert not (set(first_seen.values()) & (run.stored_ids() or set())), "an original arrived too soon"
    run.send(rest)
    assert run.wait_until_quiet(DRAIN_TIMEOUT_S) is not None
    statuses = {}
    for view in run.timelines().values():
        for entry in view["entries"]:
            statuses[entry["event_id"]] = entry["status"]
    figures = run.figures(sent_first=len(early), corrections=len(truth.delivery.corrections),
                          retractions=len(truth.delivery.retractions))
    try:
        for fix, original in fixes.items():
            want = "retracted" if fix in truth.delivery.retractions else "superseded"
            assert statuses.get(original) == want, (original, statuses.get(original))
    finally:
        finish(run, figures, reference)


# --- 5. Poison messages: one, then a burst -----------------------------------------------------------

def poison(kind, n):
    """(exchange department, body, content type, routing key, the dead-letter reason expected)."""
    if kind == "undecodable":
        return "health", b"\xff{not json " + str(n).encode(), "application/json", "child.screened", "undecodable"
    if kind == "pickle":  # a content type the consumers do not accept
        return "health", b"\x80\x04K\x01.", "application/x-python-serialize", "child.screened", "undecodable"
    if kind == "contract":  # valid JSON, broken event: wrong types, no payload
        return ("health", {"event_id": f"00000000-0000-4000-8000-{n:012d}", "type": "child.screened",
                           "version": "one", "payload": None}, "application/json", "child.screened", "invalid")
    if kind == "surrogate":  # a lone surrogate in a name, from a producer that skipped ingest
        event = as_published("health", next(e for d, e in dataset().events if d == "health" and "child" in e["subject"]))
        event["event_id"] = f"00000000-0000-4000-9000-{n:012d}"
        event["subject"]["child"]["given_name"] = "\ud800"
        return "health", json.dumps(event).encode("ascii"), "application/json", "child.registered", "invalid"
    if kind == "foreign_referral_event":  # on referral.events, not a transition this service published
        return ("referral", {"event_id": f"00000000-0000-4000-a000-{n:012d}", "type": "referral.requested",
                             "payload": {"referral_id": "r-unknown", "referral_version": 1}},
                "application/json", "referral.requested", "invalid")
    raise ValueError(kind)


# What a failing message cost the healthy flow when the retry pause was taken in the worker: 0.2 s x
# attempt for attempts 1-4 (2 s) holding one of 10 workers.
PAUSED_IN_WORKER_COST_S = 0.2 * (1 + 2 + 3 + 4) / 10
POISON_KINDS = ("undecodable", "pickle", "contract", "surrogate", "foreign_referral_event")


def _publish_poison(run, kinds, start):
    expected = {}
    for offset, kind in enumerate(kinds):
        department, body, content_type, routing_key, reason = poison(kind, start + offset)
        message_id = f"poison-{start + offset}"
        run.publish_raw(department, [body], content_type=content_type, routing_key=routing_key,
                        message_ids=[message_id])
        expected[message_id] = (kind, reason)
    return expected


def _timed_send(run, events):
    started = time.monotonic()
    run.send(events)
    waited = run.wait_until_stored({e["event_id"] for _, e in events}, timeout=DRAIN_TIMEOUT_S)
    assert waited is not None
    return round(len(events) / (time.monotonic() - started), 1)


def _wait_for_dead_letters(run, count):
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while run.queue_depths().get(topology.DEAD_LETTER_QUEUE, 0) < count and time.monotonic() < deadline:
        time.sleep(0.25)


def test_5_poison_message_and_a_burst(make_run):
    run = make_run("5-poison").start()
    burst_size = SIZE["burst"]
    # the referral service: poison of every kind we can make, then a burst, between healthy events
    clean, single, behind_burst = split(dataset().events, 1 / 3, 2 / 3)
    rate_clean = _timed_send(run, clean)
    expected = _publish_poison(run, POISON_KINDS, 0)  # one of each kind
    rate_single = _timed_send(run, single)
    expected.update(_publish_poison(run, [POISON_KINDS[n % len(POISON_KINDS)] for n in range(burst_size)], 1000))
    rate_burst = _timed_send(run, behind_burst)
    _wait_for_dead_letters(run, len(expected))
    # the retry path, on a probe consumer whose handler raises (a bug), sharing nothing but the broker
    healthy = 15 * burst_size  # enough that the burst's cost shows against a steady flow
    with ProbeConsumer(run.amqp_uri) as consumer:
        probe_clean = consumer.healthy_rate(0, healthy)
        consumer.publish([{"n": 100_000, "poison": True}])
        probe_single = consumer.healthy_rate(healthy, healthy)
        consumer.publish([{"n": 200_000 + i, "poison": True} for i in range(burst_size)])
        burst_at = time.monotonic()
        probe_burst = consumer.healthy_rate(2 * healthy, healthy)
        _wait_for_dead_letters(run, len(expected) + 1 + burst_size)
        probe_burst_dead_lettered_s = time.monotonic() - burst_at
        probe_attempts = dict(probe.attempts)
    run.wait_until_quiet(DRAIN_TIMEOUT_S)
    letters = run.dead_letters()
    reasons, attempts = {}, {}
    for letter in letters:
        headers = letter["headers"]
        reason = headers.get("x-childlink-reason")
        reasons[reason] = reasons.get(reason, 0) + 1
        kind = expected.get(letter["message_id"], ("probe", None))[0]
        attempts[kind] = max(attempts.get(kind, 0), headers.get("x-childlink-attempts") or 0)
    figures = run.figures(
        poison_to_referral=len(expected), probe_poison=1 + burst_size, burst=burst_size,
        dead_letter_reasons=reasons, most_attempts_by_kind=attempts,
        referral_healthy_events_per_s={"clean": rate_clean, "after one poison of each kind": rate_single,
                                       "behind the burst": rate_burst},
        probe_healthy_messages_per_s={"clean": round(probe_clean, 1), "after one poison": round(probe_single, 1),
                                      "behind the burst": round(probe_burst, 1)},
        probe_burst_dead_lettered_within_s=round(probe_burst_dead_lettered_s, 1),
        probe_healthy_delayed_by_burst_s=round(healthy / probe_burst - healthy / probe_clean, 1),
        probe_delay_if_paused_in_worker_s=round(PAUSED_IN_WORKER_COST_S * burst_size, 1))
    try:
        assert figures.dead_lettered == len(expected) + 1 + burst_size
        by_id = {letter["message_id"]: letter for letter in letters}
        for message_id, (kind, reason) in expected.items():
            letter = by_id.get(message_id)
            assert letter is not None, f"no dead letter for {kind} {message_id}"
            headers = letter["headers"]
            assert headers["x-childlink-reason"] == reason, (kind, headers["x-childlink-reason"])
            assert headers.get("x-childlink-error"), kind  # the reason travels with it
            assert headers["x-childlink-attempts"] == 1  # a permanent failure is not retried
        probe_letters = [by_id[f"probe-{n}"] for n in probe_attempts]
        assert all(letter["headers"]["x-childlink-reason"] == "max_attempts" for letter in probe_letters)
        assert set(probe_attempts.values()) == {topology.MAX_ATTEMPTS}, probe_attempts  # retried, bounded
        # the healthy flow keeps its pace. The referral (its poison all fails permanently): at least a
        # third of the clean rate (this machine is noisy). The probe (retries): the burst delays its
        # healthy messages by at most half of what the retry pause taken inside the worker cost (each
        # poison holding one of 10 workers 0.2 s x attempt): a measure of time lost, not a ratio of
        # rates, which would depend on how fast the machine is.
        assert rate_burst >= rate_clean / 3, figures.notes["referral_healthy_events_per_s"]
        delay = figures.notes["probe_healthy_delayed_by_burst_s"]
        assert delay <= 0.5 * PAUSED_IN_WORKER_COST_S * burst_size, (delay, figures.notes)
    finally:
        finish(run, figures)


# --- 6. The store unavailable -------------------------------------------------------------------------

LOCKER = textwrap.dedent("""
    import sqlite3, sys, time
    connection = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
    connection.execute("BEGIN EXCLUSIVE")
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
    connection.execute("COMMIT")
    print("released", flush=True)
""")


def test_6_store_unavailable(make_run, reference):
    run = make_run("6-store-outage").start()
    events = dataset().events
    stream = run.stream(events, RATE)
    stream.wait_for(0.3)
    outage = SIZE["store_outage_s"]
    locker = subprocess.Popen([sys.executable, "-c", LOCKER, str(run.referral_db), str(outage)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert locker.stdout.readline().strip() == "locked"
        locked = time.monotonic()
        stored_when_locked = len(run.stored_ids() or ())
        assert locker.stdout.readline().strip() == "released"
    finally:
        if locker.poll() is None:
            locker.kill()
        locker.wait()
    back = time.monotonic()
    stored_when_released = len(run.stored_ids() or ())
    snapshot = set(run.accepted)
    recovery = run.wait_until_stored(snapshot, timeout=DRAIN_TIMEOUT_S)
    stream.join()
    run.wait_until_quiet(DRAIN_TIMEOUT_S)
    figures = run.figures(recovery_s=recovery, outage_s=round(back - locked, 1),
                          stored_during_outage=stored_when_released - stored_when_locked,
                          services_alive=all_alive(run))
    try:
        assert stored_when_released == stored_when_locked, "something was written through the lock"
        assert recovery is not None
        assert figures.dead_lettered == 0, "an outage of the store is not a poison message"
    finally:
        finish(run, figures, reference)


# --- 8. Queues declared before anything publishes ------------------------------------------------------

def test_8_departments_first_referral_later(make_run, private_broker, reference):
    run = make_run("8-late-consumer")
    run.start(DEPARTMENTS)  # no referral service: nobody consumes, nobody declared a consumer's queue
    events = dataset().events
    run.send(events)
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while any(run.department_health(d)["outbox_backlog"] for d in DEPARTMENTS):
        assert time.monotonic() < deadline, "outboxes not drained"
        time.sleep(0.25)
    relays = {d: run.department_health(d)["relay"] for d in DEPARTMENTS}
    depths = run.queue_depths()
    queued = sum(depths.get(q, 0) for q in CONSUMER_QUEUES)
    queues = {q["name"]: q for q in private_broker.management(f"queues/{run.vhost}")}
    for name in [*CONSUMER_QUEUES, "referral.referral.events"]:
        if name == "referral.referral.events" and name not in queues:
            continue  # the referral declares its own queue when it starts
        queue = queues[name]
        arguments = queue["arguments"]
        assert queue["durable"] and arguments["x-queue-type"] == "quorum", name
        assert arguments["x-delivery-limit"] == topology.BROKER_DELIVERY_LIMIT, name
        assert arguments["x-dead-letter-exchange"] == topology.DEAD_LETTER_EXCHANGE, name
    dead_letter_queue = queues[topology.DEAD_LETTER_QUEUE]
    assert dead_letter_queue["durable"] and dead_letter_queue["arguments"]["x-queue-type"] == "quorum"
    assert queued == len(run.accepted), (queued, len(run.accepted), depths)
    assert all(r["unroutable"] == 0 for r in relays.values()), relays
    started = time.monotonic()
    run.start(["referral"])
    waited = run.wait_until_stored(timeout=DRAIN_TIMEOUT_S)
    recovery = None if waited is None else time.monotonic() - started  # from the referral's start
    run.wait_until_quiet(DRAIN_TIMEOUT_S)
    figures = run.figures(recovery_s=recovery, queued_before_referral_started=queued,
                          unroutable=sum(r["unroutable"] for r in relays.values()),
                          queue_arguments={n: queues[n]["arguments"] for n in CONSUMER_QUEUES[:1]})
    finish(run, figures, reference)


# Scenario 9 (colliding and conflicting event_ids) is in test_event_ids.py.
