"""The insights service's storage port, in domain terms. Two adapters (SQLite, MongoDB) are held to one
contract suite: tests/storage/test_insights_store_contract.py.

- A subject: key, state (dict: its kept events, childlink_insights.subjects) and facts
  ({(scope, scope_id, month, counter): value}) as derived when it was last saved.
- A cell: (scope, scope_id, month, counter) -> value; `add_cells` adds deltas, so cells are sums of
  their subjects' facts whatever the order of writes; a cell at 0 is dropped.
- An alias: a child record key -> the subject key that holds it.
"""

from collections.abc import Iterator
from typing import Protocol


class InsightsStore(Protocol):
    def batch(self):
        """A context in which every write commits together (or none does)."""

    def get_subject(self, key: str) -> tuple[dict, dict] | None: ...

    def put_subject(self, key: str, state: dict, facts: dict) -> None: ...

    def delete_subject(self, key: str) -> None: ...

    def subjects(self) -> Iterator[tuple[str, dict, dict]]: ...

    def alias_of(self, record: str) -> str | None: ...

    def set_alias(self, record: str, key: str) -> None: ...

    def add_cells(self, deltas: dict) -> None: ...

    def cells(self, scope: str, scope_ids: list[str] | None = None, months: list[str] | None = None,
              prefix: str = "") -> list[dict]:
        """[{scope, scope_id, month, counter, value}] of one scope, optionally only some ids, months and
        counters starting with `prefix`."""

    def clear_cells(self) -> None: ...

    def stats(self) -> dict:
        """Figures that cost the same whatever the store holds."""

    def close(self) -> None: ...
