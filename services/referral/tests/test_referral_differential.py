"""Differential: the referral handler as the service runs it (batches in one store transaction, the
EPI schedule's dates cached per birth date, z-scores remembered by their inputs, the profile and the
timeline's ids read alone, transitions logged per batch) gives exactly the referrals, identity
reviews, merges and outbox events of the straightforward path (one event at a time; the whole child
read back with `child()`, the timeline read again in full to see it unchanged, the schedule and the
z-scores computed from scratch for every evaluation), on a shuffled simulated
population with its corrections, retractions, duplicates, late events and merges."""

import datetime as dt
import json
import random

import pytest
from childlink_common.testing.events import child, event
from childlink_contracts import growth as who
from childlink_contracts.epi_schedule import (
    ALIASES,
    GRACE_DAYS,
    ROTAVIRUS,
    ROTAVIRUS_FIRST_DOSE_MAX_DAYS,
    THAI_EPI,
)
from childlink_referral import growth
from childlink_referral.identity import KnownRecords
from childlink_referral.linking import Linking
from childlink_referral.rules import immunisation
from childlink_referral.service import ReferralService
from childlink_referral.store.sqlite_store import SqliteTimelineStore
from childlink_referral.testing import Clock, ListOutbox
from childlink_referral.times import add_months, start_of_bangkok_day
from childlink_referral.workflow import Referrals
from childlink_tools.dataset import generate_dataset

NOW = dt.datetime(2026, 12, 7, 5, 0, tzinfo=dt.UTC)


def schedule_from_scratch(state):
    """The schedule as it was computed before the dates were cached: every date, every evaluation."""
    born = state.birth_date
    if born is None:
        return []
    product = immunisation.rotavirus_product_of(state)
    rota_started = state.doses_given.get(("ROTA", 1)) is not None
    doses = []
    for slot in THAI_EPI:
        due_on = add_months(born, slot["due_months"])
        overdue_from = add_months(born, slot["window_end_months"]) + dt.timedelta(days=GRACE_DAYS)
        for vaccine, dose in slot["doses"]:
            if slot.get("only_if") == "mother_hbsag_positive":
                if not any(f.payload.get("mother_hbsag_positive") for f in state.of("health", "child.registered")):
                    continue
            elif vaccine == "ROTA" and dose > ROTAVIRUS[product]["doses"]:
                continue
            given = state.doses_given.get((vaccine, dose))
            for alias in ALIASES.get((vaccine, dose), ()):
                given = given or state.doses_given.get(alias)
            remind_until = immunisation._remind_until(born, vaccine, dose, product)
            if vaccine == "ROTA" and not rota_started:
                remind_until = min(remind_until, born + dt.timedelta(days=ROTAVIRUS_FIRST_DOSE_MAX_DAYS))
            doses.append(immunisation.ScheduledDose(
                slot["slot"], vaccine, dose, slot["due_months"], due_on, overdue_from, given, remind_until,
                start_of_bangkok_day(overdue_from), start_of_bangkok_day(remind_until), due_on.isoformat()))
    return doses


class WholeReads:
    """The store, read the straightforward way: the whole child for its profile, the whole timeline
    again for its ids."""

    def __init__(self, store):
        self._store = store

    def __getattr__(self, name):
        return getattr(self._store, name)

    def profile(self, child_id):
        return (self._store.child(child_id) or {}).get("profile")

    def timeline_ids(self, child_id):
        return sorted(entry["event_id"] for entry in self._store.timeline(child_id))


def handler(store, clock):
    """The service's consumer work (ReferralService._take_in_batch) without nameko, as the bench runs it."""
    outbox = ListOutbox()

    class Backend:
        pass

    backend = Backend()
    backend.store = store
    backend.referrals = Referrals(store, outbox, clock=clock)
    backend.linking = Linking(store, outbox, backend.referrals, clock=clock)
    backend.known = KnownRecords(store)
    service = ReferralService.__new__(ReferralService)
    service.backend = backend
    return service, outbox


def population():
    """A simulated population's events shuffled across children (each department's own order kept
    roughly, as a late or held-back record is), a sixth sent twice, and a few records that link
    children: a national ID arriving on a record of a child known without it."""
    dataset = generate_dataset(36, seed=4, now=NOW)
    rng = random.Random(9)
    events = [(rng.random() + n / len(dataset.events), department, body)
              for n, (department, body) in enumerate(dataset.events)]
    events = [(department, body) for _, department, body in sorted(events, key=lambda e: e[0])]
    # a window shuffle: events of one child arrive out of order, some long after they happened
    for start in range(0, len(events), 40):
        window = events[start:start + 40]
        rng.shuffle(window)
        events[start:start + 40] = window
    events += [events[i] for i in sorted(rng.sample(range(len(events)), len(events) // 6))]
    health = event("health", "child.registered", subject=child(local_id="DIFF-1", national_id=None))
    later = event("social", "child.enrolled", subject=child(local_id="DIFF-S", national_id="1234567890121"))
    again = event("health", "child.immunised", subject=child(local_id="DIFF-1", national_id="1234567890121"))
    middle = len(events) // 2
    events[middle:middle] = [("health", health), ("social", later)]
    events.append(("health", again))
    return dataset, events


def batches(events, size=50):
    """The events as each department's queue hands them over: up to `size` at a time, by department."""
    for start in range(0, len(events), size):
        by_department = {}
        for department, body in events[start:start + size]:
            by_department.setdefault(department, []).append(body)
        yield list(by_department.items())


def outcome(store, outbox):
    def rows(sql):
        return [json.loads(row["doc"]) for row in store.db.read(sql)]

    return {
        "referrals": rows("SELECT doc FROM referrals ORDER BY referral_id"),
        "reviews": rows("SELECT doc FROM identity_reviews ORDER BY review_id"),
        "merges": rows("SELECT doc FROM merges ORDER BY merge_id"),
        "rule_reviews": [dict(r) for r in store.db.read("SELECT * FROM reviews ORDER BY child_id")],
        "outbox": sorted(outbox.events.values(), key=lambda e: e["event_id"]),
        "timelines": [dict(r) for r in store.db.read(
            "SELECT department, event_id, child_id, duplicates FROM timeline ORDER BY department, event_id")],
    }


@pytest.mark.timeout(300)
def test_the_service_path_gives_what_the_straightforward_path_gives(tmp_path, monkeypatch):
    dataset, events = population()
    assert dataset.delivery.corrections and dataset.delivery.retractions and dataset.delivery.duplicates
    assert dataset.delivery.late

    clock = Clock()
    clock.now = NOW
    fast_store = SqliteTimelineStore(tmp_path / "fast.sqlite3")
    service, fast_outbox = handler(fast_store, clock)
    for batch in batches(events):
        for department, bodies in batch:
            service._take_in_batch(bodies, department)
        clock.advance(hours=9)  # time passes between batches: reviews fall due, deadlines near
    fast = outcome(fast_store, fast_outbox)

    clock.now = NOW
    monkeypatch.setattr(immunisation, "schedule_for", schedule_from_scratch)
    monkeypatch.setattr(growth, "zscores", who.zscores)
    slow_store = SqliteTimelineStore(tmp_path / "slow.sqlite3")
    slow, slow_outbox = handler(WholeReads(slow_store), clock)
    for batch in batches(events):
        for department, bodies in batch:
            for body in bodies:  # one event at a time, in the same order, no store batch
                slow._take_in(body, department)
        clock.advance(hours=9)
    straightforward = outcome(slow_store, slow_outbox)

    assert len(fast["referrals"]) > 20 and fast["merges"] and fast["outbox"]
    assert {r["status"] for r in fast["referrals"]} >= {"requested", "cancelled"}  # raised and withdrawn
    assert any(e["duplicates"] for e in fast["timelines"])
    for part in fast:
        assert fast[part] == straightforward[part], part
