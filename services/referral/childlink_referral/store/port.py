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
