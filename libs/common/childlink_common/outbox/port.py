"""The outbox port: what a department service stores before it answers, and publishes from after.

Every adapter keeps the same promises, held by one contract-test suite:
- `add` stores a whole batch or nothing; an event_id already stored with the same content (its
  content hash, childlink_contracts.content) is reported as a duplicate, not stored twice; with other
  content it is a conflict, never stored over the first; with `refuse_conflicts` (department ingest)
  a batch holding a conflict stores nothing at all;
- `claim` hands each pending event to one relay at a time (a lease), oldest first;
- an event leaves the backlog only when `mark_published` says the broker confirmed it.
"""

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class OutboxRecord:
    seq: int
    event_id: str
    type: str
    correlation_id: str
    body: dict
    text: str | None = None  # the body as stored, when the adapter keeps it as JSON text: published as it is


class OutboxStore(Protocol):
    def add(self, events: list[dict], accepted_at: float, refuse_conflicts: bool = False) -> list[str]:
        """Store the batch atomically; return, in order, "accepted", "duplicate" or "conflict" per event.
        With `refuse_conflicts`, when any is "conflict" nothing of the batch was stored. (The referral
        service re-adds a referral's earlier transitions, rebuilt from its current snapshot, with each
        new one: for it the first stored stands and the rest of the batch is kept.)"""

    def claim(self, owner: str, limit: int, now: float, lease_seconds: float) -> list[OutboxRecord]:
        """Lease up to `limit` unpublished events to `owner`, oldest first."""

    def mark_published(self, event_ids: list[str], now: float) -> None: ...

    def release(self, owner: str, event_ids: list[str]) -> None:
        """Give leased events back at once (the publish failed)."""

    def backlog(self) -> int:
        """Accepted but not yet confirmed by the broker."""

    def get(self, event_id: str) -> dict | None: ...

    def close(self) -> None: ...
