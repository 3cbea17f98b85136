"""The referral service's storage port, in domain terms. One contract-test suite holds every adapter to it."""

from contextlib import AbstractContextManager
from typing import Protocol

from childlink_common.errors import EventConflict


def check_same_content(entry, stored_hash):
    """Raise EventConflict if `entry` has a content hash and the stored one is another (both adapters)."""
    if stored_hash and entry.get("content_hash") and stored_hash != entry["content_hash"]:
        raise EventConflict(entry["department"], entry["event_id"])


class TimelineStore(Protocol):
    def children_for_keys(self, keys: list[str]) -> dict[str, str]:
        """Which child, if any, already holds each key."""

    def claim_key(self, key: str, child_id: str) -> str:
        """Give `key` to `child_id` unless another child holds it; return the holder."""

    def save_profile(self, child_id: str, profile: dict, as_of: str) -> None:
        """Keep the newest demographics (by `as_of`, a sortable UTC instant) per child."""

    def replace_profile(self, child_id: str, profile: dict) -> None:
        """Put back a child's demographics as they were (undoing a merge); its `as_of` is kept."""

    def append_to_timeline(self, entry: dict) -> bool:
        """Store one timeline entry, keyed by its department and event_id together (so one department's
        event is never taken for another's); False (and the duplicate counted) if that key is stored
        already with the same `content_hash`. Raises EventConflict, changing nothing, if it is stored
        with another (childlink_contracts.content); an entry stored without a hash counts as the same."""

    def content_hash_of(self, department: str, event_id: str) -> str | None:
        """The content hash of the stored entry with this key; None if none is stored (or it has no hash)."""

    def timeline(self, child_id: str) -> list[dict]:
        """Every entry of the child, ordered by occurred_at."""

    def timeline_ids(self, child_id: str) -> list[str]:
        """The event ids of the child's entries, sorted: whether the timeline changed, without reading it."""

    def child(self, child_id: str) -> dict | None: ...

    def profile(self, child_id: str) -> dict | None:
        """The child's demographics, as `child(child_id)["profile"]` (None without a profile), in one read."""

    def timeline_version(self, child_id: str) -> int | None:
        """A number that changes with every write to what `timeline()` and `child()` return of the
        child (its entries, their duplicates, its profile, a merge), read before them: a reader that
        kept what they gave at version v may serve it again while this is still v. None: the store
        cannot tell now (a MongoDB store: its writes keep no version; SQLite inside an open
        transaction), and nothing may be served from what was kept."""

    def find_child(self, key: str) -> str | None: ...

    def stats(self) -> dict:
        """{"children": n, "events": n, "duplicates": n}"""

    def batch(self) -> AbstractContextManager[None]:
        """Group the writes made inside into one unit of work, for taking in many events at once.

        SQLite: one transaction (one commit, one fsync), all or nothing; a write inside that fails
        undoes only itself before its error propagates. MongoDB: no multi-document transactions by
        design, so each write stays atomic on its own and a batch that fails part-way keeps what it
        wrote; running it again is safe, as a redelivery is: what was written is found by its key
        (event_id, child key) and counted as a duplicate, not applied twice.
        """

    def close(self) -> None: ...


class IdentityStore(Protocol):
    """What identity resolution keeps beside the timeline (docs/identity-matching.md):

    - match records: one per department record of a child (`record_key` = `local:<dept>:<facility>:<local
      id>`), holding the child subject as its department last sent it, so the matcher can score new
      records against every known one. Every change (a new record, a new subject, another child) is
      appended to the match log with an increasing `seq`: each replica's in-memory matcher catches up
      by reading the log past the last seq it applied.
    - identity reviews: a scored pair between the thresholds, for a person to link or keep apart.
      Versioned like referrals: a decision is a compare-and-set on `version`.
    - merges: one child merged into another, with everything moved (keys, timeline entries, referrals),
      so undoing it moves back exactly that. Versioned too.
    """

    def upsert_match_record(self, record_key: str, child_id: str, subject: dict) -> int | None:
        """Keep `subject` as record `record_key` of `child_id`. A new record, a changed subject or another
        child appends to the match log and returns the new seq; unchanged returns None (no write)."""

    def match_record(self, record_key: str) -> dict | None:
        """{"record_key", "child_id", "subject", "seq"} or None."""

    def match_records_of_child(self, child_id: str) -> list[dict]:
        """The child's match records, by record_key."""

    def match_log_since(self, seq: int, limit: int) -> list[dict]:
        """Log rows with seq > `seq`, ascending: {"seq", "record_key", "child_id", "subject"}. Rows never
        change, so a reader may safely read again from an earlier seq and replay."""

    def insert_identity_review(self, review: dict) -> bool:
        """Store a new review (its `review_id`, `version` 1, `status`, `child_id`, `candidate_id`,
        `created_at`); False if its review_id is stored already."""

    def get_identity_review(self, review_id: str) -> dict | None: ...

    def replace_identity_review(self, review: dict, expected_version: int) -> bool:
        """Store the review's next version if the stored one is still `expected_version`; else False."""

    def find_identity_reviews(self, status: str | None, offset: int, limit: int) -> tuple[int, list[dict]]:
        """(total, page) of reviews with this status (any when None), oldest `created_at` first, then review_id."""

    def identity_reviews_of_child(self, child_id: str) -> list[dict]:
        """Reviews naming the child as `child_id` or `candidate_id`, oldest first."""

    def insert_merge(self, merge: dict) -> bool:
        """Store a new merge (`merge_id`, `version` 1, `kept_id`, `merged_id`, `status`, `at`); False if
        its merge_id is stored already."""

    def get_merge(self, merge_id: str) -> dict | None: ...

    def replace_merge(self, merge: dict, expected_version: int) -> bool:
        """Store the merge's next version if the stored one is still `expected_version`; else False."""

    def merges_of_child(self, child_id: str) -> list[dict]:
        """Merges naming the child as `kept_id` or `merged_id`, oldest `at` first."""

    def move_child_records(self, to_child: str, keys: list[str], event_ids: list[str],
                           referral_ids: list[str], record_keys: list[str]) -> None:
        """Give each key, timeline entry (its `child_id` too), referral (its `child_id` too, version
        unchanged) and match record (appending to the match log) to `to_child`. Idempotent. Entries are
        named by event_id here, so every entry bearing one moves (two departments' events under one
        event_id on different children would both move: a known limit, see childlink_contracts.content)."""

    def set_merged_into(self, child_id: str, into: str | None) -> None:
        """Mark the child as merged into `into` (None: not merged); `child()` then shows `merged_into`."""

    def merged_into(self, child_id: str) -> str | None:
        """The child this one was merged into, or None."""


class ReferralStore(TimelineStore, IdentityStore, Protocol):
    """Referrals and rule reviews, beside the timeline and the identity records. Every change of a referral is a compare-and-set
    on its version, atomic in the store: of two concurrent transitions from one version, one wins."""

    def insert_referral(self, referral: dict) -> bool:
        """Store a new referral (its version 1); False if its referral_id is stored already."""

    def get_referral(self, referral_id: str) -> dict | None: ...

    def replace_referral(self, referral: dict, expected_version: int) -> bool:
        """Store the referral's next version if the stored one is still `expected_version`, and mark it
        not yet outboxed; False (nothing written) otherwise."""

    def mark_outboxed(self, referral_id: str, version: int) -> None:
        """The events up to `version` are in the outbox (no-op if the referral moved past `version`)."""

    def referrals_not_outboxed(self, limit: int) -> list[dict]: ...

    def referrals_of_child(self, child_id: str) -> list[dict]:
        """Every referral of the child, oldest first."""

    def find_referrals(self, groups: list[list[dict]], offset: int, limit: int) -> tuple[int, list[dict]]:
        """(total, page) of the referrals matching every group; a group matches when any of its
        alternatives does, an alternative when all its fields do. Fields: child_id, status, reason,
        district, from_department, from_facility, from_district, to_department, to_facility,
        to_district (a value or a list of values), and due_before (due_by < the value).
        Ordered by due_by, then referral_id."""

    def open_referrals_due(self, now: str, limit: int) -> list[dict]:
        """Open referrals (requested, accepted, scheduled, in_progress) with due_by <= now, earliest first."""

    def set_review(self, child_id: str, at: str | None) -> None:
        """Evaluate the child's rules again at `at` (a sortable UTC instant); None: no review needed."""

    def due_reviews(self, now: str, limit: int) -> list[str]:
        """Children whose review is due (at <= now), earliest first."""

