"""Who a referral is about, for the inbox: the child's name, birth date and district, for viewers who may see them.

A viewer who sees a referral may see its child (access.can_see_child), so the inbox names the child as the
child page would: withheld exactly when the child page would hide the profile, that is when a department
refused sharing outside itself and the viewer is not of that department (child_page.consent_view).
"""

from .child_page import consent_view
from .rules import build_state


def child_summary(store, viewer, child_id, cache=None):
    """{"name", "birth_date", "district_code"} or {"withheld": True}; None for a child without a profile."""
    if cache is not None and child_id in cache:
        return cache[child_id]
    child = store.child(child_id) or {}
    profile = child.get("profile") or {}
    summary = None
    if profile:
        entries = store.timeline(child_id)
        if any(e.get("type") == "consent.recorded" for e in entries) and not consent_view(
                build_state(child_id, profile, entries), viewer)["shared"]:
            summary = {"withheld": True}
        else:
            name = " ".join(p for p in (profile.get("given_name"), profile.get("family_name")) if p)
            summary = {"name": name or None, "birth_date": profile.get("birth_date"),
                       "district_code": profile.get("district_code")}
    if cache is not None:
        cache[child_id] = summary
    return summary


def with_children(store, viewer, referrals):
    """The referrals, each with `child`: its child's summary (one lookup per child on the page)."""
    cache = {}
    return [{**r, "child": child_summary(store, viewer, r["child_id"], cache)} for r in referrals]
