"""Audit entries: who did what to which record, when, why, and how it ended. Ids only, never names."""

import datetime as dt
import uuid

ACCESS_ACTIONS = ("child.view", "identity.view")


def utc_now():
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry(user, action, *, target_kind=None, target_id=None, reason=None, outcome="ok", detail=None,
          at=None, audit_id=None):
    user = user or {}
    return {
        "audit_id": audit_id or str(uuid.uuid4()),
        "at": at or utc_now(),
        "user_id": user.get("user_id"),
        "username": user.get("username"),
        "role": user.get("role"),
        "facility": user.get("facility"),
        "action": action,
        "target_kind": target_kind,
        "target_id": target_id,
        "reason": reason,
        "outcome": outcome,
        "detail": detail or {},
    }


def outcome_of(answer):
    """'ok', or 'refused:<code>' from a referral answer."""
    if answer.get("ok"):
        return "ok"
    return f"refused:{(answer.get('error') or {}).get('code', 'error')}"
