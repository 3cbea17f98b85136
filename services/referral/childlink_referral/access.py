"""Who may see and do what with children and referrals (the role table of docs/referral-interface.md).

The gateway authenticates staff and passes their `viewer` on every call; the decision is made here.
"""

from .lifecycle import Refusal

FACILITY_ROLES = {"health_centre_staff": "health", "hospital_staff": "medical", "centre_staff": "social",
                  "school_staff": "education"}
DISTRICT_ROLES = ("social_worker", "district_officer")
NO_CHILD_DATA = ("operator", "auditor")
# registrar: keeps the city's child register; decides identity reviews and undoes merges, so sees any child
ROLES = (*FACILITY_ROLES, *DISTRICT_ROLES, "department_staff", "registrar", *NO_CHILD_DATA)
SOCIAL_REASONS = ("social_follow_up", "household_support")
REQUESTER, RECEIVER = "requester", "receiver"


def _text(viewer, name):
    value = viewer.get(name)
    return value.strip() if isinstance(value, str) and value.strip() else None


def check_viewer(viewer):
    """The viewer, checked: Refusal invalid (malformed) or forbidden (a role that sees no child data)."""
    if not isinstance(viewer, dict):
        raise Refusal("invalid", "viewer must be an object with user_id and role", "viewer")
    role = viewer.get("role")
    if role not in ROLES:
        raise Refusal("invalid", f"unknown role {role!r}; roles: {', '.join(ROLES)}", "viewer.role")
    if role in NO_CHILD_DATA:
        raise Refusal("forbidden", f"the {role} role sees no child data")
    needed = ("facility" if role in FACILITY_ROLES else "district" if role in DISTRICT_ROLES else "department")
    if _text(viewer, needed) is None:
        raise Refusal("invalid", f"a {role} viewer needs a {needed}", f"viewer.{needed}")
    return {key: _text(viewer, key) for key in ("user_id", "role", "department", "facility", "district")} | {
        "role": role}


def actor(viewer):
    """Who acted, as history records it: ids and where they work, no names."""
    return {key: viewer[key] for key in ("user_id", "role", "department", "facility", "district") if viewer.get(key)}


def sides_of(viewer, referral):
    """{"requester", "receiver"} or a part of it: the sides of this referral the viewer may act on."""
    role, sides = viewer["role"], set()
    if role in FACILITY_ROLES:
        if referral["from"].get("facility") == viewer["facility"]:
            sides.add(REQUESTER)
        if referral["to"].get("facility") == viewer["facility"]:
            sides.add(RECEIVER)
    elif (role == "social_worker" and referral["reason"] in SOCIAL_REASONS
          and referral["to"].get("district") == viewer["district"]):
        sides.add(RECEIVER)
    return sides


def referral_scope(viewer):
    """The referrals a viewer may see, as alternatives for the store (any of these field matches)."""
    role = viewer["role"]
    if role in FACILITY_ROLES:
        return [{"from_facility": viewer["facility"]}, {"to_facility": viewer["facility"]}]
    if role == "social_worker":
        return [{"to_district": viewer["district"], "reason": list(SOCIAL_REASONS)}]
    if role == "district_officer":
        district = viewer["district"]
        return [{"district": district}, {"from_district": district}, {"to_district": district}]
    return [{"from_department": viewer["department"]}, {"to_department": viewer["department"]}]


def can_see_referral(viewer, referral):
    role = viewer["role"]
    if role in FACILITY_ROLES or role == "social_worker":
        return bool(sides_of(viewer, referral))
    if role == "district_officer":
        return viewer["district"] in (referral.get("district"), referral["from"].get("district"),
                                      referral["to"].get("district"))
    return viewer["department"] in (referral["from"].get("department"), referral["to"].get("department"))


def can_see_child(viewer, profile, entries, referrals):
    """A viewer sees a child they have a referral for, or (by role) an event from their place."""
    if any(can_see_referral(viewer, r) for r in referrals):
        return True
    role = viewer["role"]
    if role in FACILITY_ROLES:
        facility = viewer["facility"]
        return any(e.get("facility_code") == facility
                   or facility in ((e.get("payload") or {}).get("centre_id"), (e.get("payload") or {}).get("school_id"))
                   for e in entries if e.get("department") != "referral")
    if role == "district_officer":
        district = viewer["district"]
        return (profile or {}).get("district_code") == district or any(
            e.get("district_code") == district for e in entries if e.get("department") != "referral")
    if role == "department_staff":
        return any(e.get("department") == viewer["department"] for e in entries)
    return role == "registrar"
