"""The referral service's storage port, in domain terms. One contract-test suite holds every adapter to it."""

from contextlib import AbstractContextManager
from typing import Protocol


class TimelineStore(Protocol):
    def children_for_keys(self, keys: list[str]) -> dict[str, str]:
        """Which child, if any, already holds each key."""

    def claim_key(self, key: str, child_id: str) -> str:
        """Give `key` to `child_id` unless another child holds it; return the holder."""

    def save_profile(self, child_id: str, profile: dict, as_of: str) -> None:
        """Keep the newest demographics (by `as_of`, a sortable UTC instant) per child."""

    def append_to_timeline(self, entry: dict) -> bool:
        """Store one timeline entry; False (and the duplicate counted) if its event_id is stored already."""

    def timeline(self, child_id: str) -> list[dict]:
        """Every entry of the child, ordered by occurred_at."""

    def child(self, child_id: str) -> dict | None: ...

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


class ReferralStore(TimelineStore, Protocol):
    """Referrals and rule reviews, beside the timeline. Every change of a referral is a compare-and-set
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
