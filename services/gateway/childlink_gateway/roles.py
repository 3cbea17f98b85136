"""Staff roles, the viewer dict the referral service authorises against, and what the gateway itself guards.

What a viewer may see of a child or do with a referral is the referral service's decision (it takes the
viewer on every call). The gateway decides only a few things before calling: operators and auditors get
no child data at all, only auditors read the audit log, and only registrars open the identity review
queue (the referral service checks that again on every identity call).
"""

ROLES = (
    "health_centre_staff", "hospital_staff", "centre_staff", "school_staff", "social_worker",
    "district_officer", "department_staff", "registrar", "operator", "auditor", "executive", "centre_head",
)
# executive, centre_head: the city's figures only (childlink_gateway.city), never a child's record.
NO_CHILD_DATA = frozenset({"operator", "auditor", "executive", "centre_head"})
READ_ONLY = frozenset({"district_officer", "department_staff", "registrar", "operator", "auditor", "executive",
                       "centre_head"})
AUDIT_READERS = frozenset({"auditor"})
# registrar: keeps the city's child register (department-scoped, like department_staff). Sees child data and
# reads referrals, acts on none; decides identity reviews (link / keep apart) and undoes links.
IDENTITY_REVIEWERS = frozenset({"registrar"})
DECISIONS = ("link", "keep_apart")
# Who may act, and on which side of a referral (the referral service has the last word).
RECEIVER_ROLES = frozenset({"health_centre_staff", "hospital_staff", "centre_staff", "school_staff",
                            "social_worker"})
REQUESTER_ROLES = frozenset({"health_centre_staff", "hospital_staff", "centre_staff", "school_staff"})
SOCIAL_REASONS = frozenset({"social_follow_up", "household_support"})

# Actions a receiver may take from each status, and the requester's; terminal statuses allow none.
RECEIVER_ACTIONS = {
    "requested": ("accept", "reject"),
    "accepted": ("schedule", "start", "complete"),
    "scheduled": ("schedule", "start", "complete"),
    "in_progress": ("complete",),
}
REQUESTER_ACTIONS = {status: ("cancel",) for status in ("requested", "accepted", "scheduled", "in_progress")}
ACTIONS = ("accept", "reject", "schedule", "start", "complete", "cancel", "mark_entered_in_error")
# The field each action needs, as the referral interface names it.
REQUIRED_FIELD = {"reject": "reason", "cancel": "reason", "schedule": "scheduled_for", "complete": "outcome",
                  "mark_entered_in_error": "reason"}


def viewer_of(user):
    """The viewer dict passed to referral on every call (no name, no password hash)."""
    return {key: user.get(key) for key in ("user_id", "role", "department", "facility", "district")}


CITY_VIEWERS = frozenset({"executive", "district_officer", "centre_head"})


def sees_city(user):
    return user["role"] in CITY_VIEWERS


def sees_child_data(user):
    return user["role"] not in NO_CHILD_DATA


def reads_audit(user):
    return user["role"] in AUDIT_READERS


def reviews_identity(user):
    return user["role"] in IDENTITY_REVIEWERS


def _is_receiver(user, referral):
    to = referral.get("to") or {}
    role = user["role"]
    if role == "social_worker":
        return referral.get("reason") in SOCIAL_REASONS and user.get("district") == to.get("district")
    return role in RECEIVER_ROLES and bool(user.get("facility")) and to.get("facility") == user.get("facility")


def _is_requester(user, referral):
    source = referral.get("from") or {}
    return user["role"] in REQUESTER_ROLES and bool(user.get("facility")) and source.get("facility") == user.get(
        "facility")


def likely_actions(user, referral):
    """The actions to offer as forms. The referral service's own `allowed_actions`, when it sends them,
    win; otherwise a guess from status and side. Offering one it then refuses shows its refusal."""
    if "allowed_actions" in referral and referral["allowed_actions"] is not None:
        return [a for a in ACTIONS if a in referral["allowed_actions"]]
    if user["role"] in READ_ONLY:
        return []
    status = referral.get("status")
    offered = []
    if _is_receiver(user, referral):
        offered += RECEIVER_ACTIONS.get(status, ())
    if _is_requester(user, referral):
        offered += REQUESTER_ACTIONS.get(status, ())
    return [a for a in ACTIONS if a in offered]
