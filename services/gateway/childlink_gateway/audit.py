"""Audit entries: who did what to which record, when, why, and how it ended. Ids only, never names."""

import datetime as dt
import uuid

ACCESS_ACTIONS = ("child.view", "identity.view", "referral.view", "referrals.list", "identity.list")
# What a request to each page reads or does, as (action, target kind): a refusal at the gateway's own role
# gate is audited under the same action as the view it refused, so an auditor sees both side by side.
PAGE_ACTIONS = {
    "inbox": ("referrals.list", "inbox"),
    "referral": ("referral.view", "referral"),
    "act": ("referral.act", "referral"),
    "child": ("child.view", "child"),
    "identity_reviews": ("identity.list", "identity_review"),
    "identity_review": ("identity.view", "identity_review"),
    "identity_decide": ("identity.decide", "identity_review"),
    "identity_undo": ("identity.unlink", "merge"),
}


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


def refusal(user, endpoint, values, reason_code, reason=None):
    """The entry for a request refused before any call (the role gate): who, which page, which record."""
    action, kind = PAGE_ACTIONS.get(endpoint, (endpoint, None))
    target = next((str(v)[:100] for v in (values or {}).values()), None)
    return entry(user, action, target_kind=kind, target_id=target, reason=reason, outcome=f"refused:{reason_code}")


def outcome_of(answer):
    """'ok', or 'refused:<code>' from a referral answer."""
    if answer.get("ok"):
        return "ok"
    return f"refused:{(answer.get('error') or {}).get('code', 'error')}"
