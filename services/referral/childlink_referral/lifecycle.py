"""The referral lifecycle as a plain state machine, with FHIR Task status and the Thai e-Refer code beside it.

    requested -> accepted | rejected;  accepted -> scheduled -> in_progress -> completed (outcome back);
    accepted | scheduled -> completed;  any open status -> cancelled | expired;  any -> entered_in_error

`transition` is the only way a referral changes: it checks the status and the fields, and returns the
next version of the referral with one more history item (who, when, from, to). Who may act on which
side is decided by the caller (access.sides_of); this module only knows which side an action needs.
"""

import datetime as dt
import uuid
from dataclasses import dataclass

from childlink_contracts.medical import OUTCOMES

from .times import bangkok_date, iso, start_of_bangkok_day

OPEN = ("requested", "accepted", "scheduled", "in_progress")
CLOSED = ("rejected", "completed", "cancelled", "expired", "entered_in_error")
STATUSES = OPEN + CLOSED

# status -> (FHIR Task.status, FHIR Task.businessStatus)
FHIR = {
    "requested": ("requested", "requested"),
    "accepted": ("accepted", "accepted"),
    "rejected": ("rejected", "rejected"),
    "scheduled": ("accepted", "scheduled"),
    "in_progress": ("in-progress", "in_progress"),
    "completed": ("completed", "completed"),
    "cancelled": ("cancelled", "cancelled"),
    "expired": ("failed", "expired"),
    "entered_in_error": ("entered-in-error", "entered_in_error"),
}
# status -> Thai e-Refer status code (P pending, A accepted, R rejected, E expired, C cancelled, F final);
# a moved appointment is V (see erefer_code).
EREFER = {
    "requested": "P", "accepted": "A", "rejected": "R", "scheduled": "A", "in_progress": "A",
    "completed": "F", "cancelled": "C", "expired": "E", "entered_in_error": "C",
}

REQUESTER, RECEIVER, EITHER, SYSTEM = "requester", "receiver", "either", "system"
APPOINTMENT_GRACE = dt.timedelta(days=7)
MAX_SCHEDULE_AHEAD = dt.timedelta(days=366)
REFERRAL_NAMESPACE = uuid.UUID("6f1c7f52-5b0e-4e63-9d7c-3f1f5f0a9b21")


@dataclass(frozen=True)
class Action:
    name: str
    allowed_from: tuple
    to: str
    side: str
    required: tuple = ()


ACTIONS = {a.name: a for a in (
    # staff
    Action("accept", ("requested",), "accepted", RECEIVER),
    Action("reject", ("requested",), "rejected", RECEIVER, ("reason",)),
    Action("schedule", ("accepted", "scheduled"), "scheduled", RECEIVER, ("scheduled_for",)),
    Action("start", ("accepted", "scheduled"), "in_progress", RECEIVER),
    Action("complete", ("accepted", "scheduled", "in_progress"), "completed", RECEIVER, ("outcome",)),
    Action("cancel", OPEN, "cancelled", REQUESTER, ("reason",)),
    Action("mark_entered_in_error", tuple(s for s in STATUSES if s != "entered_in_error"), "entered_in_error",
           EITHER, ("reason",)),
    # the system: the rules withdraw only a referral nobody has acted on; on one someone has, they attach
    # the later evidence (no change of status) and its receiver closes it with an outcome
    Action("withdraw", ("requested",), "cancelled", SYSTEM, ("reason",)),
    Action("attach_evidence", OPEN, None, SYSTEM, ("evidence",)),
    Action("expire", OPEN, "expired", SYSTEM),
    Action("record_outcome", OPEN, "completed", SYSTEM, ("outcome",)),
)}
STAFF_ACTIONS = tuple(name for name, a in ACTIONS.items() if a.side != SYSTEM)


class Refusal(Exception):
    """An action refused; `code` is one of forbidden, not_found, invalid, conflict, not_allowed."""

    def __init__(self, code, message, field=None):
        super().__init__(message)
        self.code, self.message, self.field = code, message, field

    def answer(self):
        error = {"code": self.code, "message": self.message}
        if self.field:
            error["field"] = self.field
        return {"ok": False, "error": error}


def _blank(value):
    return value is None or (isinstance(value, str) and not value.strip())


def _text(fields, name, max_length, required):
    value = fields.get(name)
    if _blank(value):
        if required:
            raise Refusal("invalid", f"{name} is required", f"fields.{name}")
        return None
    if not isinstance(value, str):
        raise Refusal("invalid", f"{name} must be text", f"fields.{name}")
    if len(value.strip()) > max_length:
        raise Refusal("invalid", f"{name} must be at most {max_length} characters", f"fields.{name}")
    return value.strip()


def _scheduled_for(fields, now):
    value = fields.get("scheduled_for")
    if _blank(value):
        raise Refusal("invalid", "scheduled_for is required (an ISO date, e.g. 2026-04-01)", "fields.scheduled_for")
    try:
        day = dt.date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise Refusal("invalid", f"scheduled_for must be an ISO date such as 2026-04-01, not {value!r}",
                      "fields.scheduled_for")
    today = bangkok_date(now)
    if day < today:
        raise Refusal("invalid", f"scheduled_for {day} is in the past (today is {today} in Bangkok)",
                      "fields.scheduled_for")
    if day > today + MAX_SCHEDULE_AHEAD:
        raise Refusal("invalid", "scheduled_for is more than a year ahead", "fields.scheduled_for")
    return day


def checked_fields(action, fields, now):
    """The fields the action takes, checked; raises Refusal("invalid", ..., "fields.<name>")."""
    if fields is None:
        fields = {}
    if not isinstance(fields, dict):
        raise Refusal("invalid", "fields must be an object", "fields")
    name = action.name
    if name == "withdraw":
        return {"reason": _text(fields, "reason", 500, required=True), "why": dict(fields.get("why") or {})}
    if name == "attach_evidence":
        if not isinstance(fields.get("evidence"), dict) or not fields["evidence"].get("code"):
            raise Refusal("invalid", "evidence (an object with a code) is required", "fields.evidence")
        return {"evidence": dict(fields["evidence"])}
    if name in ("reject", "cancel", "mark_entered_in_error"):
        return {"reason": _text(fields, "reason", 500, required=True)}
    if name == "schedule":
        return {"scheduled_for": _scheduled_for(fields, now)}
    if name in ("complete", "record_outcome"):
        outcome = fields.get("outcome")
        if _blank(outcome):
            raise Refusal("invalid", f"outcome is required, one of {', '.join(OUTCOMES)}", "fields.outcome")
        if outcome not in OUTCOMES:
            raise Refusal("invalid", f"outcome {outcome!r} is not one of {', '.join(OUTCOMES)}", "fields.outcome")
        return {"outcome": outcome, "notes": _text(fields, "notes", 1000, required=False),
                "outcome_event_id": fields.get("outcome_event_id")}
    return {}


def _event_id(referral_id, version):
    return str(uuid.uuid5(REFERRAL_NAMESPACE, f"{referral_id}:{version}"))


def _stamp(referral, status, previous):
    fhir, business = FHIR[status]
    referral["status"] = status
    referral["fhir_status"], referral["fhir_business_status"] = fhir, business
    referral["erefer_code"] = "V" if status == "scheduled" and previous == "scheduled" else EREFER[status]


def acted_on(referral):
    """Someone on either side has acted on it (received, accepted, scheduled, started it, or any staff
    action): the rules may no longer withdraw it."""
    return referral["status"] != "requested" or any(
        (item.get("by") or {}).get("user_id") != "system" for item in referral["history"][1:])


def new_referral(*, referral_id, child_id, rule, reason, rule_key, from_, to, district, note,
                 source_event_ids, due_by, now, by, note_details=None):
    """Version 1, status requested, raised by `by` (the rules)."""
    referral = {
        "referral_id": referral_id, "version": 1, "child_id": child_id, "reason": reason, "rule": rule,
        "rule_key": rule_key, "status": None, "from": dict(from_), "to": dict(to), "district": district,
        "created_at": iso(now), "updated_at": iso(now), "due_by": iso(due_by), "scheduled_for": None,
        "outcome": None, "outcome_notes": None, "cancel_reason": None, "reject_reason": None,
        "error_reason": None, "withdrawn_by_rules": False, "note": note,
        "note_details": dict(note_details or {}), "cancel_details": None, "evidence": [],
        "source_event_ids": list(source_event_ids),
        "history": [{"version": 1, "event_id": _event_id(referral_id, 1), "at": iso(now), "by": dict(by),
                     "action": "raise", "from": None, "to": "requested", "note": note,
                     "details": {"note": dict(note_details or {})} if note_details else {}}],
    }
    _stamp(referral, "requested", None)
    return referral


def transition(referral, action_name, by, fields, now):
    """The referral's next version after `action_name`, or Refusal (not_allowed / invalid)."""
    action = ACTIONS.get(action_name)
    if action is None:
        raise Refusal("invalid", f"unknown action {action_name!r}; actions: {', '.join(STAFF_ACTIONS)}", "action")
    status = referral["status"]
    if status not in action.allowed_from:
        raise Refusal("not_allowed", f"cannot {action_name} a referral that is {status}; {action_name} is "
                      f"allowed only from {' or '.join(action.allowed_from)}")
    values = checked_fields(action, fields, now)
    after = {**referral, "from": dict(referral["from"]), "to": dict(referral["to"]),
             "history": list(referral["history"])}
    version = referral["version"] + 1
    details, note = {}, values.get("reason")
    if action_name == "reject":
        after["reject_reason"] = values["reason"]
    elif action_name in ("cancel", "withdraw"):
        after["cancel_reason"] = values["reason"]
        after["withdrawn_by_rules"] = action_name == "withdraw"
        if action_name == "withdraw":
            after["cancel_details"] = details["why"] = values["why"]
    elif action_name == "attach_evidence":
        item = {**values["evidence"], "at": iso(now)}
        after["evidence"] = [*(referral.get("evidence") or []), item]
        details["evidence"] = item
        note = None
    elif action_name == "mark_entered_in_error":
        after["error_reason"] = values["reason"]
    elif action_name == "schedule":
        day = values["scheduled_for"]
        after["scheduled_for"] = day.isoformat()
        details["scheduled_for"] = day.isoformat()
        latest_due = start_of_bangkok_day(day) + APPOINTMENT_GRACE
        if iso(latest_due) > referral["due_by"]:
            after["due_by"] = iso(latest_due)
            details["due_by"] = after["due_by"]
        note = f"appointment on {day.isoformat()}"
    elif action_name in ("complete", "record_outcome"):
        after["outcome"], after["outcome_notes"] = values["outcome"], values["notes"]
        details["outcome"] = values["outcome"]
        if values.get("outcome_event_id"):
            details["outcome_event_id"] = values["outcome_event_id"]
        note = values["notes"]
    to = action.to or status
    _stamp(after, to, status if action_name == "schedule" else None)
    after["version"] = version
    after["updated_at"] = iso(now)
    after["history"].append({"version": version, "event_id": _event_id(referral["referral_id"], version),
                             "at": iso(now), "by": dict(by), "action": action_name, "from": status,
                             "to": to, "note": note, "details": details})
    return after


def is_open(referral):
    return referral["status"] in OPEN


def allowed_actions(referral, sides):
    """The staff actions a viewer on `sides` (a set of requester/receiver) may take now."""
    found = []
    for name in STAFF_ACTIONS:
        action = ACTIONS[name]
        if referral["status"] not in action.allowed_from:
            continue
        if action.side in sides or (action.side == EITHER and sides):
            found.append(name)
    return found
