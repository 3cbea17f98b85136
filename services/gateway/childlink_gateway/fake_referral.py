"""An in-memory stand-in for the referral service's RPC interface (docs/referral-interface.md).

Used by the gateway's unit tests, and to show the answer shapes the pages read: the growth points with
z-scores and WHO bands, the DSPM screenings, the immunisation schedule. It follows the documented
rules loosely (who sees what, versions, required fields); the real rules live in services/referral.
"""

import copy
import datetime as dt

from childlink_contracts.medical import OUTCOMES

OPEN = ("requested", "accepted", "scheduled", "in_progress")
STATUSES = ("requested", "accepted", "rejected", "scheduled", "in_progress", "completed", "cancelled", "expired",
            "entered_in_error")
TRANSITIONS = {  # action: (statuses it may start from, status it leads to, sides that may take it)
    "accept": (("requested",), "accepted", ("receiver",)),
    "reject": (("requested",), "rejected", ("receiver",)),
    "schedule": (("accepted", "scheduled"), "scheduled", ("receiver",)),
    "start": (("accepted", "scheduled"), "in_progress", ("receiver",)),
    "complete": (("accepted", "scheduled", "in_progress"), "completed", ("receiver",)),
    "cancel": (OPEN, "cancelled", ("requester",)),
    "mark_entered_in_error": (tuple(s for s in STATUSES if s != "entered_in_error"), "entered_in_error",
                              ("requester", "receiver")),
}
REQUIRED = {"reject": "reason", "cancel": "reason", "schedule": "scheduled_for", "complete": "outcome",
            "mark_entered_in_error": "reason"}
FHIR = {"in_progress": "in-progress", "entered_in_error": "entered-in-error"}
EREFER = {"requested": "P", "accepted": "A", "rejected": "R", "expired": "E", "cancelled": "C", "completed": "F",
          "scheduled": "A", "in_progress": "A", "entered_in_error": "C"}
# Girls' weight-for-age (kg) at -3, -2, 0, +2, +3 SD, rounded from the WHO 2006 tables: enough to draw.
WFA_GIRLS = [(0, (2.0, 2.4, 3.2, 4.2, 4.8)), (6, (5.1, 5.7, 7.3, 9.3, 10.6)), (12, (6.3, 7.0, 8.9, 11.5, 13.1)),
             (18, (7.2, 8.1, 10.2, 13.2, 15.1)), (24, (8.1, 9.0, 11.5, 14.8, 17.0)),
             (36, (9.6, 10.8, 13.9, 18.1, 20.9))]


def refused(code, message, field=None):
    return {"ok": False, "error": {"code": code, "field": field, "message": message}}


def sample_child(child_id="c-1", consent_shared=True):
    return {
        "child_id": child_id,
        "profile": {"child_id": child_id, "given_name": "สมใจ", "family_name": "ใจดี", "birth_date": "2024-03-15",
                    "sex": "female", "district_code": "1001", "national_id": "1234567890121"},
        "consent": {"shared": consent_shared, "refused_by": [] if consent_shared else ["social"],
                    "notice": None if consent_shared else "The family refused sharing outside Social Development."},
        "timeline": [
            {"event_id": "e-1", "department": "health", "type": "child.registered", "occurred_at":
             "2024-03-16T09:00:00+07:00", "facility_code": "HC-1001-01", "status": "current",
             "payload": {"birth_weight_g": 3100}},
            {"event_id": "e-2", "department": "health", "type": "child.growth_measured", "occurred_at":
             "2025-03-20T09:00:00+07:00", "facility_code": "HC-1001-01", "status": "current",
             "payload": {"weight_kg": 8.1, "height_cm": 72.0}},
            {"event_id": "e-3", "department": "health", "type": "child.screened", "occurred_at":
             "2025-09-20T09:00:00+07:00", "facility_code": "HC-1001-01", "status": "current",
             "payload": {"age_band_months": 18, "domains": {"gross_motor": "normal", "fine_motor": "normal",
                                                            "receptive_language": "delayed",
                                                            "expressive_language": "suspected_delay",
                                                            "personal_social": "normal"}}},
            {"event_id": "e-4", "department": "social", "type": "child.enrolled", "occurred_at":
             "2025-06-01T09:00:00+07:00", "facility_code": "CDC-1001-01", "status": "current",
             "payload": {"centre_id": "CDC-1001-01"}},
            {"event_id": "e-5", "department": "medical", "type": "child.diagnosed", "occurred_at":
             "2025-10-01T09:00:00+07:00", "facility_code": "HOSP-1008", "status": "current",
             "payload": {"icd10": "F80.1"}},
        ],
        "growth": {
            "birth_date": "2024-03-15", "sex": "female",
            "points": [
                {"occurred_at": "2024-09-15T02:00:00Z", "age_days": 184, "age_months": 6.0, "weight_kg": 6.9,
                 "height_cm": 65.0, "z": {"z_wfa": -0.3, "z_lhfa": -0.2}, "band": {"wfa": "normal"}},
                {"occurred_at": "2025-03-20T02:00:00Z", "age_days": 370, "age_months": 12.2, "weight_kg": 8.1,
                 "height_cm": 72.0, "z": {"z_wfa": -0.9, "z_lhfa": -0.6}, "band": {"wfa": "normal"}},
                {"occurred_at": "2025-09-20T02:00:00Z", "age_days": 554, "age_months": 18.2, "weight_kg": 8.3,
                 "height_cm": 76.0, "z": {"z_wfa": -2.1, "z_lhfa": -1.6}, "band": {"wfa": "moderate"}},
            ],
            "bands": {"weight_for_age": [
                {"age_months": months, "sd": dict(zip(("-3", "-2", "0", "2", "3"), values))}
                for months, values in WFA_GIRLS]},
        },
        "dspm": {"domains": ["gross_motor", "fine_motor", "receptive_language", "expressive_language",
                             "personal_social"],
                 "screenings": [
                     {"event_id": "e-3", "occurred_at": "2025-09-20T02:00:00Z", "age_band_months": 18,
                      "rescreen": False, "facility_code": "HC-1001-01",
                      "domains": {"gross_motor": "normal", "fine_motor": "normal", "receptive_language": "delayed",
                                  "expressive_language": "suspected_delay", "personal_social": "normal"}}]},
        "immunisations": {
            "schedule": [
                {"slot": "birth", "vaccine": "BCG", "dose": 1, "due_age_months": 0, "due_on": "2024-03-15",
                 "status": "given", "given_on": "2024-03-16"},
                {"slot": "9-12m", "vaccine": "MMR", "dose": 1, "due_age_months": 9, "due_on": "2024-12-15",
                 "overdue_from": "2025-04-15", "status": "overdue", "given_on": None},
                {"slot": "2-2.5y", "vaccine": "JE", "dose": 2, "due_age_months": 24, "due_on": "2026-03-15",
                 "status": "upcoming", "given_on": None}],
            "given": [{"vaccine": "BCG", "dose": 1, "given_on": "2024-03-16", "event_id": "e-0"}],
            "overdue": [{"vaccine": "MMR", "dose": 1, "slot": "9-12m", "overdue_from": "2025-04-15"}]},
    }


def sample_referral(referral_id="r-1", child_id="c-1", status="requested", **extra):
    return {
        "referral_id": referral_id, "version": 1, "child_id": child_id, "reason": "dspm_delayed",
        "rule": "dspm_delayed", "status": status, "fhir_status": FHIR.get(status, status),
        "erefer_code": EREFER.get(status), "from": {"department": "health", "facility": "HC-1001-01",
                                                    "district": "1001"},
        "to": {"department": "medical", "facility": "HOSP-1008", "district": "1008",
               "service": "developmental_clinic"},
        "district": "1001", "created_at": "2025-09-20T03:00:00.000000Z", "updated_at": "2025-09-20T03:00:00.000000Z",
        "due_by": "2025-10-20T03:00:00.000000Z", "overdue": False, "scheduled_for": None, "outcome": None,
        "outcome_notes": None, "cancel_reason": None, "reject_reason": None, "error_reason": None,
        "source_event_ids": ["e-3"],
        "note": "delayed: receptive_language (18-month DSPM screening of 2025-09-20)",
        "history": [{"version": 1, "at": "2025-09-20T03:00:00Z", "by": {"user_id": "system", "role": "rules"},
                     "action": "raise", "from": None, "to": "requested", "note": "DSPM receptive language delayed"}],
        **extra,
    }


class FakeReferral:
    def __init__(self, referrals=None, children=None, clock=lambda: dt.datetime.now(dt.UTC)):
        self.referrals = {r["referral_id"]: copy.deepcopy(r) for r in (referrals or [sample_referral()])}
        self.children = {c["child_id"]: copy.deepcopy(c) for c in (children or [sample_child()])}
        self.calls = []
        self.clock = clock

    # --- who sees what --------------------------------------------------------------------------------

    @staticmethod
    def _sees(viewer, referral):
        role, facility = viewer.get("role"), viewer.get("facility")
        sides = (referral["from"], referral["to"])
        if role in ("operator", "auditor"):
            return False
        if role == "district_officer":
            return viewer.get("district") in {side.get("district") for side in sides}
        if role == "department_staff":
            return viewer.get("department") in {side.get("department") for side in sides}
        if role == "social_worker":
            return referral["reason"] in ("social_follow_up", "household_support") and viewer.get("district") in {
                side.get("district") for side in sides}
        return bool(facility) and facility in {side.get("facility") for side in sides}

    @staticmethod
    def _sides(viewer, referral):
        if viewer.get("role") in ("district_officer", "department_staff", "operator", "auditor"):
            return set()
        sides = set()
        if viewer.get("facility") and viewer["facility"] == referral["to"].get("facility"):
            sides.add("receiver")
        if viewer.get("facility") and viewer["facility"] == referral["from"].get("facility"):
            sides.add("requester")
        return sides

    def _for_viewer(self, viewer, referral):
        sides = self._sides(viewer, referral)
        allowed = [action for action, (starts, _, who) in TRANSITIONS.items()
                   if referral["status"] in starts and sides.intersection(who)]
        return {**copy.deepcopy(referral), "allowed_actions": allowed}

    # --- the interface -------------------------------------------------------------------------------

    def list_referrals(self, viewer, filters, page=1, page_size=50):
        self.calls.append(("list_referrals", viewer, filters, page, page_size))
        if viewer.get("role") in ("operator", "auditor"):
            return refused("forbidden", "no child data for this role")
        items = [r for r in self.referrals.values() if self._sees(viewer, r)]
        if filters.get("status"):
            items = [r for r in items if r["status"] in filters["status"]]
        if filters.get("reason"):
            items = [r for r in items if r["reason"] == filters["reason"]]
        if filters.get("facility"):
            items = [r for r in items if filters["facility"] in (r["from"].get("facility"), r["to"].get("facility"))]
        if filters.get("district"):
            items = [r for r in items if filters["district"] in (r["from"].get("district"), r["to"].get("district"))]
        if filters.get("overdue"):
            items = [r for r in items if r["overdue"]]
        items.sort(key=lambda r: (r["due_by"], r["referral_id"]))
        start = (page - 1) * page_size
        return {"ok": True, "total": len(items), "page": page, "page_size": page_size,
                "items": [self._for_viewer(viewer, r) for r in items[start:start + page_size]]}

    def get_referral(self, viewer, referral_id):
        self.calls.append(("get_referral", viewer, referral_id))
        referral = self.referrals.get(referral_id)
        if referral is None:
            return refused("not_found", f"no referral {referral_id}")
        if not self._sees(viewer, referral):
            return refused("forbidden", "not a referral to or from your facility")
        return {"ok": True, "referral": self._for_viewer(viewer, referral)}

    def act_on_referral(self, viewer, referral_id, action, fields, expected_version):
        self.calls.append(("act_on_referral", viewer, referral_id, action, fields, expected_version))
        referral = self.referrals.get(referral_id)
        if referral is None:
            return refused("not_found", f"no referral {referral_id}")
        if not self._sees(viewer, referral):
            return refused("forbidden", "not a referral to or from your facility")
        if action not in TRANSITIONS:
            return refused("invalid", f"unknown action {action}", "action")
        starts, target, who = TRANSITIONS[action]
        if not self._sides(viewer, referral).intersection(who):
            return refused("forbidden", f"only the {' or '.join(who)} may {action}")
        if expected_version != referral["version"]:
            return refused("conflict", f"referral is at version {referral['version']}, not {expected_version}")
        if referral["status"] not in starts:
            return refused("not_allowed", f"cannot {action} a referral that is {referral['status']}")
        needed = REQUIRED.get(action)
        if needed and not fields.get(needed):
            return refused("invalid", f"{needed} is required to {action}", needed)
        if action == "complete" and fields["outcome"] not in OUTCOMES:
            return refused("invalid", "not a known outcome", "outcome")
        referral["history"].append({"version": referral["version"] + 1, "at": self.clock().isoformat(),
                                    "by": {"user_id": viewer["user_id"], "role": viewer["role"]}, "action": action,
                                    "from": referral["status"], "to": target,
                                    "note": fields.get("reason") or fields.get("outcome")})
        referral.update(status=target, fhir_status=FHIR.get(target, target), erefer_code=EREFER.get(target),
                        version=referral["version"] + 1)
        if action == "complete":
            referral["outcome"] = fields["outcome"]
        if action == "schedule":
            referral["scheduled_for"] = fields["scheduled_for"]
        if action == "cancel":
            referral["cancel_reason"] = fields["reason"]
        if action == "reject":
            referral["reject_reason"] = fields["reason"]
        return {"ok": True, "referral": self._for_viewer(viewer, referral)}

    def child_page(self, viewer, child_id):
        self.calls.append(("child_page", viewer, child_id))
        if viewer.get("role") in ("operator", "auditor"):
            return refused("forbidden", "no child data for this role")
        child = self.children.get(child_id)
        if child is None:
            return refused("not_found", f"no child {child_id}")
        linked = [r for r in self.referrals.values() if r["child_id"] == child_id]
        if not any(self._sees(viewer, r) for r in linked):
            return refused("forbidden", "no referral or event of this child at your facility")
        page = copy.deepcopy(child)
        page["referrals"] = [self._for_viewer(viewer, r) for r in linked if self._sees(viewer, r)]
        if not page["consent"]["shared"] and viewer.get("department") not in page["consent"]["refused_by"]:
            page.update(profile={"child_id": child_id}, timeline=[], growth=None, dspm=None, immunisations=None)
        return {"ok": True, "child": page}
