"""The monitor's storage port: flow statistics, outbox samples, dead letters and replays, in domain terms.

Two adapters (SQLite, MongoDB) are held to one contract suite: tests/storage/test_monitor_store_contract.py.

- A flow minute (dict): department, type, minute (epoch minutes), seen, stored, failures, dead_letters,
  and lag_{pipeline,recorded,occurred}_{sum,max,count} (childlink_monitor.flows.MINUTE_FIELDS). Writes
  add counts and sums and keep the larger max, so deltas from any number of writers combine.
- A flow (dict): department, type, last_seen, last_event_id, last_stored, last_lag_pipeline,
  last_failure (epoch seconds or None). Writes keep the latest of each.
- An outbox minute: service, minute, max_backlog, last_backlog.
- A dead letter: see childlink_monitor.dead_letters.record_from_message; keyed by dl_id; changed only by
  `transition` with the version it was read at (optimistic: two operators cannot both replay it).
- A replay: replay_id, batch_id, dl_id, event_id, queue, at, by, outcome (confirmed | failed), error.
"""

from typing import Protocol


class MonitorStore(Protocol):
    # --- flows -------------------------------------------------------------------------------------
    def add_flow_minutes(self, deltas: list[dict]) -> None: ...

    def touch_flows(self, touches: list[dict]) -> None: ...

    def flow_minutes(self, since_minute: int, department: str | None = None,
                     type: str | None = None) -> list[dict]:
        """Minute rows at or after since_minute, ordered by department, type, minute."""

    def flows(self) -> list[dict]:
        """Every flow ever seen, ordered by department, type."""

    def prune(self, before_minute: int) -> int:
        """Drop flow and outbox minutes before before_minute; how many rows went."""

    # --- outbox samples -----------------------------------------------------------------------------
    def record_backlog(self, service: str, minute: int, backlog: int) -> None: ...

    def backlog_minutes(self, since_minute: int, service: str | None = None) -> list[dict]: ...

    # --- dead letters -------------------------------------------------------------------------------
    def add_dead_letter(self, record: dict) -> bool:
        """Keep one dead letter; False (nothing changed) when its dl_id is stored already."""

    def dead_letter(self, dl_id: str) -> dict | None: ...

    def find_dead_letters(self, filters: dict, offset: int = 0, limit: int = 50) -> tuple[int, list[dict]]:
        """(total, records) newest received first; filters exact on department, type, reason, queue,
        status, event_id."""

    def transition(self, dl_id: str, version: int, changes: dict, history: dict) -> dict | None:
        """Apply changes and append one history entry if the record is still at `version`; the
        updated record (version + 1), or None when it changed meanwhile or does not exist."""

    def dead_letter_counts(self) -> list[dict]:
        """[{department, type, reason, status, count}] over every dead letter kept."""

    # --- replays ------------------------------------------------------------------------------------
    def add_replay(self, replay: dict) -> None: ...

    def replays(self, dl_id: str | None = None, limit: int = 50) -> list[dict]:
        """Newest first; only those of one dead letter when dl_id is given."""

    def close(self) -> None: ...
