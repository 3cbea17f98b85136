"""The gateway's storage port: staff users and the audit log, in domain terms.

Two adapters (SQLite, MongoDB) are held to one contract suite: tests/storage/test_gateway_store_contract.py.
A user is a dict: user_id, username, display_name, role, department, facility, district,
password_hash, active, created_at. An audit entry is a dict with audit_id (the idempotency key),
at (UTC ISO instant, sortable), user_id, username, role, action, target_kind, target_id, reason,
outcome, detail (a small dict); never a child's name or national ID.
"""

from typing import Protocol


class GatewayStore(Protocol):
    def add_user(self, user: dict) -> bool:
        """Store a new user; False (and nothing changed) if the username or user_id is taken."""

    def user_by_username(self, username: str) -> dict | None: ...

    def user_by_id(self, user_id: str) -> dict | None: ...

    def set_password_hash(self, user_id: str, password_hash: str) -> bool:
        """False if there is no such user."""

    def users(self) -> list[dict]:
        """Every user, ordered by username."""

    def append_audit(self, entry: dict) -> bool:
        """Keep one audit entry; False if its audit_id is stored already (nothing changed)."""

    def audit_entries(self, filters: dict, page: int = 1, page_size: int = 50) -> tuple[int, list[dict]]:
        """(total, entries) newest first; filters (all optional, exact): user_id, action, target_id,
        outcome; plus since / until (UTC ISO instants, inclusive / exclusive)."""

    # --- sessions (childlink_gateway.sessions): keyed by the SHA-256 of the cookie's session id; times are
    # epoch seconds. A session is a dict: session_key, user_id, created_at, last_seen_at.

    def add_session(self, record: dict) -> None: ...

    def session(self, session_key: str) -> dict | None: ...

    def touch_session(self, session_key: str, at: float) -> None:
        """last_seen_at = at (never moved back)."""

    def end_session(self, session_key: str) -> bool:
        """False if there was no such session."""

    def end_sessions_of(self, user_id: str) -> int:
        """Every session of the user ended; how many."""

    def end_sessions_before(self, created_before: float, seen_before: float) -> int:
        """Forget sessions created before `created_before` or last seen before `seen_before`."""

    # --- sign-in failures (childlink_gateway.signin_throttle), per opaque key, shared by every replica

    def throttle_state(self, throttle_key: str) -> dict | None:
        """{failures, first_at, last_at} or None."""

    def throttle_failure(self, throttle_key: str, now: float, window_s: float) -> int:
        """One more failure (atomic); counts last seen more than window_s ago are forgotten first.
        The failures now counted for the key."""

    def throttle_clear(self, throttle_key: str) -> None: ...

    def close(self) -> None: ...
