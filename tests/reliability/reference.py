"""What an undisturbed run ends with: the accepted events taken in one by one, in sending order, by the
referral's own domain code on a fresh SQLite store, in this process - identity resolved exactly as the
service resolves it (`take_in` with the scored matcher, `identity.KnownRecords`, and the merges and
reviews of `linking.Linking`, as `service.Backend` wires them; REFERRAL_MATCHING=0 turns scoring off
here as there). A scenario's timelines must equal these, whatever faults, duplicates or reordering it met.
"""

import json
import tempfile
from pathlib import Path

from childlink_common import settings
from childlink_common.outbox.sqlite_store import SqliteOutbox
from childlink_contracts import validate_event
from childlink_referral.identity import KnownRecords
from childlink_referral.intake import take_in
from childlink_referral.linking import Linking
from childlink_referral.queries import timeline_view
from childlink_referral.store.sqlite_store import SqliteTimelineStore
from childlink_referral.workflow import Referrals

from .harness import normalise_referrals, normalise_view

MATCHING = settings.flag_env("REFERRAL_MATCHING", True)  # as childlink_referral.service reads it


def as_published(department, event):
    """The body a department's relay publishes: the event as ingest normalised and stored it."""
    return json.loads(json.dumps(validate_event(event, department), separators=(",", ":")))


def reference_timelines(events):
    """[(department, event)] -> ({child keys: normalised timeline}, {child keys: normalised referrals}),
    as Run.timelines() and Run.referrals() give them."""
    with tempfile.TemporaryDirectory() as folder:
        store = SqliteTimelineStore(Path(folder) / "reference.sqlite3")
        outbox = SqliteOutbox(Path(folder) / "reference-outbox.sqlite3")
        for scratch in (store, outbox):  # a scratch copy: no need to survive a power cut
            scratch.db.read("PRAGMA synchronous=OFF")
        referrals = Referrals(store, outbox)
        linking = Linking(store, outbox, referrals)
        known = KnownRecords(store) if MATCHING else None
        try:
            for department, event in events:
                intake = take_in(store, as_published(department, event), department, known=known, linking=linking)
                if not intake.child_id.startswith("centre:"):
                    referrals.reconcile_child(intake.child_id)
            keys = {}
            for row in store.db.read("SELECT child_id, key FROM child_keys"):
                keys.setdefault(row["child_id"], []).append(row["key"])
            result = {}
            for child_id, child_keys in keys.items():
                result[tuple(sorted(child_keys))] = _json(normalise_view(timeline_view(store, child_id)))
            for row in store.db.read("SELECT DISTINCT child_id FROM timeline WHERE child_id LIKE 'centre:%'"):
                result[(row["child_id"],)] = _json(normalise_view(timeline_view(store, row["child_id"])))
            by_child = {}
            for child_id, child_keys in keys.items():
                found = normalise_referrals(store.referrals_of_child(child_id))
                if found:
                    by_child[tuple(sorted(child_keys))] = found
            return result, by_child
        finally:
            store.close()
            outbox.close()


def _json(value):
    return json.loads(json.dumps(value, ensure_ascii=False, sort_keys=True))


def differences(expected, actual, limit=5):
    """Readable differences between two {child keys: timeline} maps (empty when equal)."""
    found = []
    for key in sorted(set(expected) | set(actual)):
        if key not in actual:
            found.append(f"{key}: missing from the run")
        elif key not in expected:
            found.append(f"{key}: not in the reference (identity split or merged differently)")
        elif expected[key] != actual[key]:
            want, got = expected[key], actual[key]
            if want["profile"] != got["profile"]:
                found.append(f"{key}: profile differs")
            want_ids = [(e["event_id"], e["status"]) for e in want["entries"]]
            got_ids = [(e["event_id"], e["status"]) for e in got["entries"]]
            if want_ids != got_ids:
                found.append(f"{key}: entries differ: want {len(want_ids)}, got {len(got_ids)};"
                             f" first differences {[x for x in got_ids if x not in want_ids][:3]}"
                             f" / {[x for x in want_ids if x not in got_ids][:3]}")
            elif want["entries"] != got["entries"]:
                found.append(f"{key}: entry contents differ")
        if len(found) >= limit:
            break
    return found
