"""An in-memory stand-in for the referral service's RPC interface (docs/referral-interface.md).

Used by the gateway's unit tests, and to show the answer shapes the pages read: the growth points with
z-scores and WHO bands, the DSPM screenings, the immunisation schedule, the identity review queue with
both children's department records and the matcher's field-by-field comparison. It follows the
documented rules loosely (who sees what, versions, required fields, a merged child refused as `merged`,
merges undone last-in first-out); the real rules live in services/referral.
"""

import copy
import datetime as dt

from childlink_contracts.medical import OUTCOMES

OPEN = ("requested", "accepted", "scheduled", "in_progress")
REVIEW_STATUSES = ("open", "linked", "kept_apart")
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
                 "height_cm": 65.0, "z": {"z_wfa": -0.3, "z_lhfa": -0.2, "z_wflh": -0.3},
                 "band": {"wfa": "normal", "lhfa": "normal", "wflh": "normal"}, "measured_lying": True},
                {"occurred_at": "2025-03-20T02:00:00Z", "age_days": 370, "age_months": 12.2, "weight_kg": 8.1,
                 "height_cm": 72.0, "z": {"z_wfa": -0.9, "z_lhfa": -0.6, "z_wflh": -0.8},
                 "band": {"wfa": "normal", "lhfa": "normal", "wflh": "normal"}, "measured_lying": True},
                {"occurred_at": "2025-09-20T02:00:00Z", "age_days": 554, "age_months": 18.2, "weight_kg": 8.3,
                 "height_cm": 76.0, "z": {"z_wfa": -2.1, "z_lhfa": -1.6, "z_wflh": -1.7},
                 "band": {"wfa": "moderate", "lhfa": "normal", "wflh": "normal"}, "measured_lying": False,
                 "plotted_cm": 76.7, "plotted_as": "length"},
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
                                  "expressive_language": "suspected_delay", "personal_social": "normal"}}],
                 "episodes": [{"band": 18, "outcome": "referred_delayed", "on_track": False, "first_event_id": "e-3",
                               "first_screened_on": "2025-09-20", "rescreen_event_id": None, "rescreened_on": None,
                               "rescreen_by": None, "later_event_ids": []}]},
        "immunisations": {
            "schedule": [
                {"slot": "birth", "vaccine": "BCG", "dose": 1, "due_age_months": 0, "due_on": "2024-03-15",
                 "status": "given", "given_on": "2024-03-16"},
                {"slot": "2m", "vaccine": "OPV", "dose": 1, "due_age_months": 2, "due_on": "2024-05-15",
                 "status": "given", "given_on": "2024-05-20", "vaccine_code": "081"},
                {"slot": "9m", "vaccine": "MMR", "dose": 1, "due_age_months": 9, "due_on": "2024-12-15",
                 "overdue_from": "2025-01-14", "status": "overdue", "given_on": None},
                {"slot": "30m", "vaccine": "JE", "dose": 2, "due_age_months": 30, "due_on": "2026-09-15",
                 "status": "upcoming", "given_on": None}],
            "given": [{"vaccine": "BCG", "dose": 1, "given_on": "2024-03-16", "event_id": "e-0"},
                      {"vaccine": "OPV", "dose": 1, "given_on": "2024-05-20", "event_id": "e-01",
                       "vaccine_code": "081"}],
            "overdue": [{"vaccine": "MMR", "dose": 1, "slot": "9m", "overdue_from": "2025-01-14"}]},
    }


def sample_record(record_key, **subject):
    """A department's record of a child as the identity review shows it: its key and its subject."""
    return {"record_key": record_key, "department": record_key.split(":")[1], "subject": subject}


MOTHER = {"national_id": "3100701443816", "phone": "0812345678", "relation": "mother"}


def sample_records():
    """c-1 as Health registered her; c-2, very likely the same girl, as a child development centre enrolled her."""
    return {
        "c-1": [sample_record("local:health:HC-1001-01:HN1", given_name="สมใจ", family_name="ใจดี",
                              birth_date="2024-03-15", sex="female", district_code="1001", national_id="1234567890121",
                              guardian=dict(MOTHER))],
        "c-2": [sample_record("local:social:CDC-1001-001:S7", given_name="ด.ญ.สมใจ", family_name="ใจดี",
                              birth_date="2024-03-15", sex="female", district_code="1001",
                              guardian={"phone": "081-234-5679", "relation": "mother"})],
    }


def sample_outcome(candidate_id="c-1", score=3.4, probability=0.913):
    """The matcher's outcome as a review keeps it (childlink_referral.matching.linker.Outcome.to_dict)."""
    comparison = [("given_name", "variant", 6.1), ("family_name", "exact", 8.2), ("birth_date", "exact", 9.4),
                  ("sex", "same", 0.9), ("national_id", "missing", 0.0), ("guardian_national_id", "missing", 0.0),
                  ("guardian_phone", "typo", 3.1), ("district", "same", 1.7)]
    return {"decision": "review", "child_id": candidate_id, "record_id": "local:health:HC-1001-01:HN1",
            "score": score, "weight": round(score + 18.0, 2), "prior": -18.0, "probability": probability,
            "comparison": [{"field": f, "level": level, "weight": w} for f, level, w in comparison],
            "runner_up": None, "reasons": [{"code": "between_thresholds", "score": score, "low": -6.0, "high": 6.0}],
            "considered": 3}


def sample_review(review_id="ir-1", child_id="c-2", candidate_id="c-1", status="open", **extra):
    return {"review_id": review_id, "version": 1, "status": status, "child_id": child_id,
            "candidate_id": candidate_id, "record_key": "local:social:CDC-1001-001:S7",
            "outcome": sample_outcome(candidate_id), "created_at": "2025-09-21T03:00:00.000000Z", "history": [],
            **extra}


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
    def __init__(self, referrals=None, children=None, clock=lambda: dt.datetime.now(dt.UTC), reviews=None,
                 records=None):
        self.referrals = {r["referral_id"]: copy.deepcopy(r) for r in (referrals or [sample_referral()])}
        self.children = {c["child_id"]: copy.deepcopy(c) for c in (children or [sample_child()])}
        self.reviews = {r["review_id"]: copy.deepcopy(r) for r in (reviews if reviews is not None else
                                                                    [sample_review()])}
        self.records = copy.deepcopy(records if records is not None else sample_records())  # child_id: [record]
        self.merges = {}
        self.merged_into = {}  # merged child_id: the child it was linked into
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
        if role in ("department_staff", "registrar"):
            return viewer.get("department") in {side.get("department") for side in sides}
        if role == "social_worker":
            return referral["reason"] in ("social_follow_up", "household_support") and viewer.get("district") in {
                side.get("district") for side in sides}
        return bool(facility) and facility in {side.get("facility") for side in sides}

    @staticmethod
    def _sides(viewer, referral):
        if viewer.get("role") in ("district_officer", "department_staff", "registrar", "operator", "auditor"):
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
        return {**copy.deepcopy(referral), "allowed_actions": allowed,
                "child": self._child_summary(viewer, referral["child_id"])}

    def _child_summary(self, viewer, child_id):
        """What the referral service adds to each referral (referral_children): name, birth date, district."""
        child = self.children.get(child_id)
        if child is None:
            return None
        consent = child.get("consent") or {"shared": True}
        if not consent.get("shared", True) and viewer.get("department") not in consent.get("refused_by", []):
            return {"withheld": True}
        profile = child.get("profile") or {}
        name = " ".join(p for p in (profile.get("given_name"), profile.get("family_name")) if p)
        return {"name": name or None, "birth_date": profile.get("birth_date"),
                "district_code": profile.get("district_code")}

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

    def search_children(self, viewer, query):
        """By national ID, or name words and/or birth date over the children's profiles (as referral does)."""
        self.calls.append(("search_children", viewer, query))
        if viewer.get("role") in ("operator", "auditor"):
            return refused("forbidden", "no child data for this role")
        if not query:
            return refused("invalid", "give a national_id, or a name and/or a birth_date", "name")
        items = []
        for child_id, child in self.children.items():
            profile = child.get("profile") or {}
            name = " ".join(p for p in (profile.get("given_name"), profile.get("family_name")) if p)
            if query.get("national_id") and query["national_id"] != profile.get("national_id"):
                continue
            if query.get("birth_date") and query["birth_date"] != profile.get("birth_date"):
                continue
            if query.get("name") and not all(word in name for word in query["name"].split()):
                continue
            items.append({"child_id": child_id, "name": name, "birth_date": profile.get("birth_date"),
                          "district_code": profile.get("district_code")})
        return {"ok": True, "items": items, "more": False}

    def child_page(self, viewer, child_id):
        self.calls.append(("child_page", viewer, child_id))
        if viewer.get("role") in ("operator", "auditor"):
            return refused("forbidden", "no child data for this role")
        if child_id in self.merged_into:
            into = self.merged_into[child_id]
            return refused("merged", f"child {child_id} was linked to child {into}: see that child", into)
        child = self.children.get(child_id)
        if child is None:
            return refused("not_found", f"no child {child_id}")
        linked = [r for r in self.referrals.values() if r["child_id"] == child_id]
        if viewer.get("role") != "registrar" and not any(self._sees(viewer, r) for r in linked):
            return refused("forbidden", "no referral or event of this child at your facility")
        page = copy.deepcopy(child)
        page["referrals"] = [self._for_viewer(viewer, r) for r in linked if self._sees(viewer, r)]
        page["identity_reviews"] = [  # as childlink_referral.child_page.open_identity_reviews
            {"review_id": r["review_id"], "version": r["version"], "created_at": r["created_at"],
             "reasons": list((r.get("outcome") or {}).get("reasons") or []),
             "score": (r.get("outcome") or {}).get("score"), "probability": (r.get("outcome") or {}).get("probability")}
            | ({"other_child_id": r["candidate_id"] if r["child_id"] == child_id else r["child_id"]}
               if viewer.get("role") == "registrar" else {})
            for r in self.reviews.values() if r["status"] == "open" and child_id in (r["child_id"], r["candidate_id"])]
        if not page["consent"]["shared"] and viewer.get("department") not in page["consent"]["refused_by"]:
            page.update(profile={"child_id": child_id}, timeline=[], growth=None, dspm=None, immunisations=None)
        return {"ok": True, "child": page}

    # --- identity: the review queue and merges (registrar) ----------------------------------------------

    @staticmethod
    def _not_a_reviewer(viewer):
        if not isinstance(viewer, dict) or not viewer.get("user_id"):
            return refused("invalid", "viewer must be an object with user_id and role", "viewer")
        if viewer.get("role") != "registrar":
            return refused("forbidden", "only a registrar links, keeps apart or unlinks children")
        return None

    def _current(self, child_id):
        while child_id in self.merged_into:
            child_id = self.merged_into[child_id]
        return child_id

    def _side(self, child_id):
        child = self.children.get(child_id) or {}
        entries = child.get("timeline") or []
        return {"child_id": child_id, "merged_into": self.merged_into.get(child_id),
                "profile": copy.deepcopy(child.get("profile") or {}),
                "records": copy.deepcopy(self.records.get(child_id, [])), "events": len(entries),
                "departments": sorted({e["department"] for e in entries})}

    def list_identity_reviews(self, viewer, status="open", page=1, page_size=50):
        self.calls.append(("list_identity_reviews", viewer, status, page, page_size))
        if (refusal := self._not_a_reviewer(viewer)) is not None:
            return refusal
        if status is not None and status not in REVIEW_STATUSES:
            return refused("invalid", f"status must be one of {', '.join(REVIEW_STATUSES)}", "status")
        items = sorted((r for r in self.reviews.values() if status is None or r["status"] == status),
                       key=lambda r: (r["created_at"], r["review_id"]))
        start = (page - 1) * page_size
        return {"ok": True, "total": len(items), "page": page, "page_size": page_size,
                "items": [{k: r.get(k) for k in ("review_id", "version", "status", "child_id", "candidate_id",
                                                 "created_at", "merge_id")}
                          | {"score": (r.get("outcome") or {}).get("score"),
                             "probability": (r.get("outcome") or {}).get("probability")}
                          for r in items[start:start + page_size]]}

    def get_identity_review(self, viewer, review_id):
        self.calls.append(("get_identity_review", viewer, review_id))
        if (refusal := self._not_a_reviewer(viewer)) is not None:
            return refusal
        review = self.reviews.get(review_id)
        if review is None:
            return refused("not_found", f"no identity review {review_id}", "review_id")
        return {"ok": True, "review": copy.deepcopy(review), "child": self._side(review["child_id"]),
                "candidate": self._side(review["candidate_id"])}

    def decide_identity_review(self, viewer, review_id, decision, reason=None, expected_version=None):
        self.calls.append(("decide_identity_review", viewer, review_id, decision, reason, expected_version))
        if (refusal := self._not_a_reviewer(viewer)) is not None:
            return refusal
        if decision not in ("link", "keep_apart"):
            return refused("invalid", "decision must be one of link, keep_apart", "decision")
        if (refusal := _reason_refusal(reason, required=decision == "keep_apart")) is not None:
            return refusal
        if isinstance(expected_version, bool) or not isinstance(expected_version, int):
            return refused("invalid", "expected_version (the version you saw, an integer) is required",
                           "expected_version")
        review = self.reviews.get(review_id)
        if review is None:
            return refused("not_found", f"no identity review {review_id}", "review_id")
        if review["status"] != "open":
            return refused("conflict", f"this pair was decided already ({review['status']})")
        if expected_version != review["version"]:
            return refused("conflict", f"the review is at version {review['version']}, not {expected_version}")
        by = {k: viewer[k] for k in ("user_id", "role", "department") if viewer.get(k)}
        at = self.clock().isoformat()
        after = {**copy.deepcopy(review), "version": review["version"] + 1,
                 "status": "linked" if decision == "link" else "kept_apart",
                 "history": [*review["history"], {"decision": decision, "at": at, "by": by,
                                                  "reason": reason.strip() if reason else None}]}
        if decision == "link":
            kept, merged = self._current(review["candidate_id"]), self._current(review["child_id"])
            if kept == merged:
                return refused("conflict", f"{kept} and {merged} are already one child")
            after["merge_id"] = self._merge(kept, merged, by, at, reason, review.get("outcome"), review_id)
        self.reviews[review_id] = after
        return {"ok": True, "review": copy.deepcopy(after)}

    def _merge(self, kept, merged, by, at, reason, outcome, review_id):
        merge_id = f"m-{len(self.merges) + 1}"
        records = self.records.pop(merged, [])
        self.records.setdefault(kept, []).extend(records)
        moved = [r["referral_id"] for r in self.referrals.values() if r["child_id"] == merged]
        for referral_id in moved:
            self.referrals[referral_id]["child_id"] = kept
        self.merged_into[merged] = kept
        self.merges[merge_id] = {
            "merge_id": merge_id, "version": 1, "status": "active", "kept_id": kept, "merged_id": merged, "at": at,
            "by": by, "how": "review" if review_id else "staff", "reason": reason, "outcome": outcome,
            "review_id": review_id, "record_keys": [r["record_key"] for r in records], "referral_ids": moved,
            "history": [{"action": "link", "version": 1, "at": at, "by": by, "reason": reason}]}
        return merge_id

    def merges_of_child(self, viewer, child_id):
        self.calls.append(("merges_of_child", viewer, child_id))
        if (refusal := self._not_a_reviewer(viewer)) is not None:
            return refusal
        found = sorted((m for m in self.merges.values() if child_id in (m["kept_id"], m["merged_id"])),
                       key=lambda m: (m["at"], m["merge_id"]))
        return {"ok": True, "items": [{k: m.get(k) for k in ("merge_id", "version", "status", "kept_id", "merged_id",
                                                              "at", "how", "reason", "review_id")}
                                      | {"score": (m.get("outcome") or {}).get("score")} for m in found]}

    def undo_merge(self, viewer, merge_id, reason=None, expected_version=None):
        self.calls.append(("undo_merge", viewer, merge_id, reason, expected_version))
        if (refusal := self._not_a_reviewer(viewer)) is not None:
            return refusal
        if (refusal := _reason_refusal(reason, required=True)) is not None:
            return refusal
        if isinstance(expected_version, bool) or not isinstance(expected_version, int):
            return refused("invalid", "expected_version (the version you saw, an integer) is required",
                           "expected_version")
        merge = self.merges.get(merge_id)
        if merge is None:
            return refused("not_found", f"no merge {merge_id}", "merge_id")
        if expected_version != merge["version"]:
            return refused("conflict", f"the merge is at version {merge['version']}, not {expected_version}")
        if merge["status"] != "active":
            return refused("conflict", f"merge {merge_id} was undone already")
        kept, merged = merge["kept_id"], merge["merged_id"]
        if kept in self.merged_into:
            return refused("conflict", f"{kept} was merged into {self.merged_into[kept]} since: undo that merge first")
        keys = set(merge["record_keys"])
        self.records[merged] = [r for r in self.records.get(kept, []) if r["record_key"] in keys]
        self.records[kept] = [r for r in self.records.get(kept, []) if r["record_key"] not in keys]
        for referral_id in merge["referral_ids"]:
            self.referrals[referral_id]["child_id"] = merged
        del self.merged_into[merged]
        by = {k: viewer[k] for k in ("user_id", "role", "department") if viewer.get(k)}
        at = self.clock().isoformat()
        merge.update(version=merge["version"] + 1, status="undone",
                     history=[*merge["history"], {"action": "unlink", "version": merge["version"] + 1, "at": at,
                                                  "by": by, "reason": reason.strip()}])
        return {"ok": True, "merge": copy.deepcopy(merge)}


def _reason_refusal(reason, required):
    if reason is None or (isinstance(reason, str) and not reason.strip()):
        return refused("invalid", "a reason is required", "reason") if required else None
    if not isinstance(reason, str) or len(reason) > 500:
        return refused("invalid", "reason must be text of at most 500 characters", "reason")
    return None
