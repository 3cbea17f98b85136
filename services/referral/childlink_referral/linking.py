"""Linking two children (a merge), undoing it exactly (an unmerge), and the identity review queue.

A merge moves everything the merged child holds - keys, timeline entries, referrals, match records - to
the kept child, and keeps the list of what moved in the merge document. Later events for the merged
child's records resolve to the kept child (their keys moved). Undoing moves back what the merge moved
plus every entry that arrived since for one of the merged child's records (each entry names its
`record_key`), and the referrals raised since from those entries alone; both timelines are then exactly
what they were. Each emits an event on `referral.events` (`child.linked`, `child.unlinked`), and the
rules run again for both children.

Merges are undone last-in, first-out: a child merged further on (C into B, then B into A) is unmerged
from A before C can leave B.

Plain Python over the store (IdentityStore + ReferralStore), an outbox and the referral workflow.
"""

import time
import uuid

from childlink_common.errors import PermanentFailure
from childlink_common.logs import get_logger

from .access import actor
from .lifecycle import Refusal
from .matching.decision import BIRTH_DATE_LINKABLE
from .matching.normalise import birth_date
from .matching.scoring import compare_birth_dates
from .times import iso, utc_now

log = get_logger(__name__)

MERGE_NAMESPACE = uuid.UUID("3d0f6b8e-0a51-4e47-9a7b-5c2e8f1d4a90")
REVIEWER_ROLES = ("registrar",)
DECISIONS = ("link", "keep_apart")
MATCHER = {"user_id": "system", "role": "matcher"}
DEDUP = {"user_id": "system", "role": "dedup"}
MAX_REASON = 500


def _national_ids(child):
    return {key[4:] for key in child.get("keys", []) if key.startswith("nid:")}


def _reason(value, required):
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise Refusal("invalid", "a reason is required", "reason")
        return None
    if not isinstance(value, str) or len(value) > MAX_REASON:
        raise Refusal("invalid", f"reason must be text of at most {MAX_REASON} characters", "reason")
    return value.strip()


def _version(value):
    if isinstance(value, bool) or not isinstance(value, int):
        raise Refusal("invalid", "expected_version (the version you saw, an integer) is required", "expected_version")
    return value


def check_reviewer(viewer):
    if not isinstance(viewer, dict) or not isinstance(viewer.get("user_id"), str) or not viewer["user_id"].strip():
        raise Refusal("invalid", "viewer must be an object with user_id and role", "viewer")
    if viewer.get("role") not in REVIEWER_ROLES:
        raise Refusal("forbidden", f"only a {' or '.join(REVIEWER_ROLES)} links, keeps apart or unlinks children")
    return viewer


def identity_event(merge, action, item):
    """`child.linked` / `child.unlinked`: ids, who, how and the score - no names, keys or national IDs."""
    outcome = merge.get("outcome") or {}
    return {
        "event_id": item["event_id"],
        "type": f"child.{action}",
        "version": 1,
        "occurred_at": item["at"],
        "recorded_at": item["at"],
        "source": {"department": "referral", "system": "childlink-referral",
                   "facility": {"code": "", "district_code": ""}},
        "subject": {"child_id": merge["kept_id"]},
        "correlation_id": merge["merge_id"],
        "payload": {
            "merge_id": merge["merge_id"], "merge_version": item["version"], "kept_id": merge["kept_id"],
            "merged_id": merge["merged_id"], "how": merge["how"], "review_id": merge.get("review_id"),
            "by": item["by"], "reason": item.get("reason"), "score": outcome.get("score"),
            "probability": outcome.get("probability"),
            "moved": {"records": len(merge["record_keys"]), "events": len(item.get("event_ids", [])),
                      "referrals": len(item.get("referral_ids", []))},
        },
    }


def check_identity_delivered(event, merge):
    """A `child.*` event read back from `referral.events` must be one of this service's merges."""
    if merge is None:
        raise PermanentFailure("not a merge of this service", {"payload.merge_id": ["unknown merge"]})
    if not any(item["event_id"] == event.get("event_id") for item in merge["history"]):
        raise PermanentFailure("not a step of this merge", {"event_id": ["not in the merge's history"]})


class Linking:
    def __init__(self, store, outbox, referrals, *, clock=utc_now, wake=lambda: None):
        self.store = store
        self.outbox = outbox
        self.referrals = referrals
        self.clock = clock
        self.wake = wake

    def _publish(self, merge, action, item):
        self.outbox.add([identity_event(merge, action, item)], time.time())
        self.wake()

    def _reconcile(self, *child_ids):
        if self.referrals is not None:
            for child_id in child_ids:
                self.referrals.reconcile_child(child_id)

    # --- merge -----------------------------------------------------------------------------------

    def current_id(self, child_id, merged_into=None):
        """The child a (possibly merged) child id now lives in. `merged_into(child_id)`: where a child
        went (default: the store's record; a dry run lays its own merges over it)."""
        merged_into = merged_into or self.store.merged_into
        seen = set()
        while child_id not in seen:
            seen.add(child_id)
            into = merged_into(child_id)
            if into is None:
                return child_id
            child_id = into
        raise RuntimeError(f"a cycle of merges through {child_id}")

    def check_mergeable(self, kept_id, merged_id):
        """(kept child, merged child), both current; Refusal when they cannot be one."""
        if kept_id == merged_id:
            raise Refusal("conflict", f"{kept_id} and {merged_id} are already one child")
        kept, merged = self.store.child(kept_id), self.store.child(merged_id)
        for name, child_id, child in (("kept_id", kept_id, kept), ("merged_id", merged_id, merged)):
            if child is None:
                raise Refusal("not_found", f"no child {child_id}", name)
            if child.get("merged_into"):
                raise Refusal("conflict", f"{child_id} was merged into {child['merged_into']}", name)
        both = _national_ids(kept), _national_ids(merged)
        if both[0] and both[1] and not both[0] & both[1]:
            raise Refusal("conflict", "the two children carry different valid national IDs: they are not one child")
        return kept, merged

    def merge(self, kept_id, merged_id, by, how, reason=None, outcome=None, review_id=None, reconcile=True):
        """Merge `merged_id` into `kept_id`; the merge document. Refusal when they cannot be merged.
        `reconcile=False` leaves the kept child's rules to the caller (intake runs them after every event)."""
        kept_id, merged_id = self.current_id(kept_id), self.current_id(merged_id)
        kept, merged = self.check_mergeable(kept_id, merged_id)
        at = iso(self.clock())
        earlier = len(self.store.merges_of_child(merged_id))
        merge_id = "m-" + str(uuid.uuid5(MERGE_NAMESPACE, f"{kept_id}|{merged_id}|{earlier}"))
        event_ids = [e["event_id"] for e in self.store.timeline(merged_id)]
        referral_ids = [r["referral_id"] for r in self.store.referrals_of_child(merged_id)]
        record_keys = [r["record_key"] for r in self.store.match_records_of_child(merged_id)]
        item = {"action": "link", "version": 1, "at": at, "by": by, "reason": reason,
                "event_id": str(uuid.uuid5(MERGE_NAMESPACE, f"{merge_id}|1")),
                "event_ids": event_ids, "referral_ids": referral_ids}
        merge = {
            "merge_id": merge_id, "version": 1, "status": "active", "kept_id": kept_id, "merged_id": merged_id,
            "at": at, "by": by, "how": how, "reason": reason, "outcome": outcome, "review_id": review_id,
            "keys": merged["keys"], "record_keys": record_keys, "event_ids": event_ids,
            "referral_ids": referral_ids, "kept_profile": kept.get("profile") or {}, "history": [item],
        }
        with self.store.batch():
            if not self.store.insert_merge(merge):
                raise Refusal("conflict", "these children were merged a moment ago")
            self.store.move_child_records(kept_id, merged["keys"], event_ids, referral_ids, record_keys)
            self.store.set_merged_into(merged_id, kept_id)
            self._settle_reviews(kept_id, merged_id, merge_id, by, at, review_id)
        self._publish(merge, "linked", item)
        log.info("identity.linked", merge_id=merge_id, kept_id=kept_id, merged_id=merged_id, how=how,
                 events=len(event_ids), referrals=len(referral_ids), by_role=by.get("role"))
        if reconcile:
            self._reconcile(kept_id)
        return merge

    def link_matched(self, candidate_id, child_id, outcome, record_key):
        """The matcher says the record of `child_id` (its own child, just made) is `candidate_id`'s: one
        undoable merge (how "automatic"). When the two cannot be one child as they are now (two valid
        national IDs, one merged since), the event stays on its record's child and a person gets the
        pair as a review item, as `national_id_link` does. The child the event lives in now."""
        try:
            # the caller runs the rules for the kept child after this event, as after every event
            return self.merge(candidate_id, child_id, MATCHER, "automatic", None, outcome, reconcile=False)["kept_id"]
        except Refusal as refusal:
            candidate_id, child_id = self.current_id(candidate_id), self.current_id(child_id)
            both = (_national_ids(self.store.child(candidate_id) or {}),
                    _national_ids(self.store.child(child_id) or {}))
            code = "two_national_ids" if both[0] and both[1] and not both[0] & both[1] else "not_linkable"
            log.warning("identity.match_refused", child_id=child_id, candidate_id=candidate_id,
                        code=refusal.code, reason=code)
            if candidate_id == child_id:
                return child_id
            reasons = [*(outcome or {}).get("reasons", []), {"code": code}]
            self.open_review(child_id, candidate_id, {**(outcome or {}), "decision": "review", "reasons": reasons},
                             record_key)
            return child_id

    # --- a national ID arriving on a known record ------------------------------------------------

    def national_id_link(self, holder_id, child_id, event, record_key):
        """The record of `child_id` now carries the national ID `holder_id` holds: one child, as an
        undoable merge into the holder (how "national_id"), unless they conflict - then a review item.
        The child the event lives in now."""
        holder_id, child_id = self.current_id(holder_id), self.current_id(child_id)
        if holder_id == child_id:
            return child_id
        conflict = self._national_id_conflict(holder_id, child_id, event)
        if conflict is None and not self._looked_at(holder_id, child_id):
            outcome = {"decision": "link", "reasons": [{"code": "same_national_id"}], "score": None,
                       "probability": None, "comparison": [], "runner_up": None}
            try:
                return self.merge(holder_id, child_id, MATCHER, "national_id", None, outcome,
                                  reconcile=False)["kept_id"]
            except Refusal as refusal:
                log.info("identity.national_id_refused", holder_id=holder_id, child_id=child_id, code=refusal.code)
                conflict = {"code": "not_mergeable"}
        outcome = {"decision": "review", "reasons": [conflict or {"code": "kept_apart_before"}],
                   "score": None, "probability": None, "comparison": [], "runner_up": None}
        self.open_review(child_id, holder_id, outcome, record_key)
        return child_id

    def _national_id_conflict(self, holder_id, child_id, event):
        """Why the two children cannot be linked on the national ID alone (a reason dict), or None."""
        holder, child = self.store.child(holder_id) or {}, self.store.child(child_id) or {}
        ids = _national_ids(holder), _national_ids(child)
        if ids[0] and ids[1] and not ids[0] & ids[1]:
            return {"code": "two_national_ids"}
        subject = event["subject"]["child"]
        theirs = holder.get("profile") or {}
        level = compare_birth_dates(birth_date(subject.get("birth_date")), birth_date(theirs.get("birth_date")))
        if level not in BIRTH_DATE_LINKABLE:  # the matcher's own guard: beyond its "near" slips
            return {"code": "birth_dates_differ", "field": "birth_date"}
        if subject.get("sex") and theirs.get("sex") and subject["sex"] != theirs["sex"]:
            return {"code": "sexes_differ", "field": "sex"}
        return None

    def _looked_at(self, a, b):
        """A person kept these two apart, or undid a merge of them: not linked again without a person."""
        pair = {a, b}
        for review in self.store.identity_reviews_of_child(b):
            if review["status"] == "kept_apart" and {self.current_id(review["child_id"]),
                                                     self.current_id(review["candidate_id"])} == pair:
                return True
        return any(m["status"] != "active" and {m["kept_id"], m["merged_id"]} == pair
                   for m in self.store.merges_of_child(b))

    def _settle_reviews(self, kept_id, merged_id, merge_id, by, at, decided_review=None):
        """Open reviews of the pair are settled by the merge that made them one child."""
        for review in self.store.identity_reviews_of_child(merged_id):
            if review["status"] != "open" or review["review_id"] == decided_review:
                continue
            if {self.current_id(review["child_id"]), self.current_id(review["candidate_id"])} != {kept_id}:
                continue
            after = {**review, "version": review["version"] + 1, "status": "linked", "merge_id": merge_id,
                     "history": [*review["history"], {"decision": "link", "at": at, "by": by, "reason": None,
                                                      "settled_by": merge_id}]}
            self.store.replace_identity_review(after, review["version"])

    # --- unmerge ---------------------------------------------------------------------------------

    def unmerge(self, merge_id, by, reason, expected_version=None):
        merge = self.store.get_merge(merge_id)
        if merge is None:
            raise Refusal("not_found", f"no merge {merge_id}", "merge_id")
        if expected_version is not None and expected_version != merge["version"]:
            raise Refusal("conflict", f"the merge is at version {merge['version']}, not {expected_version}")
        if merge["status"] != "active":
            raise Refusal("conflict", f"merge {merge_id} was undone already")
        kept_id, merged_id = merge["kept_id"], merge["merged_id"]
        into = self.store.merged_into(kept_id)
        if into is not None:
            raise Refusal("conflict", f"{kept_id} was merged into {into} since: undo that merge first")
        records = set(merge["record_keys"])
        entries = self.store.timeline(kept_id)
        event_ids = sorted(set(merge["event_ids"]) | {e["event_id"] for e in entries if e.get("record_key") in records})
        moved = set(event_ids)
        referral_ids = sorted(set(merge["referral_ids"]) | {
            r["referral_id"] for r in self.store.referrals_of_child(kept_id)
            if r.get("source_event_ids") and set(r["source_event_ids"]) <= moved})
        at = iso(self.clock())
        version = merge["version"] + 1
        item = {"action": "unlink", "version": version, "at": at, "by": by, "reason": reason,
                "event_id": str(uuid.uuid5(MERGE_NAMESPACE, f"{merge_id}|{version}")),
                "event_ids": event_ids, "referral_ids": referral_ids}
        after = {**merge, "version": version, "status": "undone", "history": [*merge["history"], item]}
        with self.store.batch():
            if not self.store.replace_merge(after, merge["version"]):
                raise Refusal("conflict", "someone changed this merge at the same moment; reload it")
            self.store.move_child_records(merged_id, merge["keys"], event_ids, referral_ids, merge["record_keys"])
            self.store.set_merged_into(merged_id, None)
            self.store.replace_profile(kept_id, merge["kept_profile"])
        self._publish(after, "unlinked", item)
        log.info("identity.unlinked", merge_id=merge_id, kept_id=kept_id, merged_id=merged_id,
                 events=len(event_ids), referrals=len(referral_ids), by_role=by.get("role"))
        self._reconcile(kept_id, merged_id)
        return after

    # --- reviews ---------------------------------------------------------------------------------

    def open_review(self, child_id, candidate_id, outcome, record_key):
        """A pair for a person: `child_id` (a record's own child for now) may be `candidate_id`."""
        review = {
            "review_id": "ir-" + str(uuid.uuid5(MERGE_NAMESPACE, f"{child_id}|{candidate_id}")), "version": 1,
            "status": "open", "child_id": child_id, "candidate_id": candidate_id, "record_key": record_key,
            "outcome": outcome, "created_at": iso(self.clock()), "history": [],
        }
        if self.store.insert_identity_review(review):
            log.info("identity.review_opened", review_id=review["review_id"], child_id=child_id,
                     candidate_id=candidate_id, score=(outcome or {}).get("score"))
        return review

    def decide(self, viewer, review_id, decision, reason=None, expected_version=None):
        """A reviewer links the pair or keeps it apart. Every refusal is an answer; nothing half-done."""
        try:
            viewer = check_reviewer(viewer)
            if decision not in DECISIONS:
                raise Refusal("invalid", f"decision must be one of {', '.join(DECISIONS)}", "decision")
            reason = _reason(reason, required=decision == "keep_apart")
            expected_version = _version(expected_version)
            review = self.store.get_identity_review(review_id) if isinstance(review_id, str) else None
            if review is None:
                raise Refusal("not_found", f"no identity review {review_id}", "review_id")
            if review["status"] != "open":
                raise Refusal("conflict", f"this pair was decided already ({review['status']})")
            if expected_version != review["version"]:
                raise Refusal("conflict", f"the review is at version {review['version']}, not {expected_version}")
            by = actor(viewer)
            at = iso(self.clock())
            child_id, candidate_id = self.current_id(review["child_id"]), self.current_id(review["candidate_id"])
            if decision == "link":
                self.check_mergeable(candidate_id, child_id)
            after = {**review, "version": review["version"] + 1,
                     "status": "linked" if decision == "link" else "kept_apart",
                     "history": [*review["history"], {"decision": decision, "at": at, "by": by, "reason": reason}]}
            with self.store.batch():  # SQLite: the decision and its merge commit together, or neither
                if not self.store.replace_identity_review(after, expected_version):
                    raise Refusal("conflict", "someone decided this pair at the same moment; reload it")
                if decision == "link":
                    merge = self.merge(candidate_id, child_id, by, "review", reason, review.get("outcome"), review_id)
                    after = {**after, "merge_id": merge["merge_id"]}
                    self.store.replace_identity_review(after, after["version"])
        except Refusal as refusal:
            log.info("identity.refused", review_id=review_id if isinstance(review_id, str) else None,
                     decision=decision if isinstance(decision, str) else None, code=refusal.code, field=refusal.field)
            return refusal.answer()
        log.info("identity.decided", review_id=review_id, decision=decision, by_role=by.get("role"))
        return {"ok": True, "review": after}

    def undo(self, viewer, merge_id, reason, expected_version):
        try:
            viewer = check_reviewer(viewer)
            reason = _reason(reason, required=True)
            expected_version = _version(expected_version)
            if not isinstance(merge_id, str) or not merge_id:
                raise Refusal("invalid", "merge_id is required", "merge_id")
            after = self.unmerge(merge_id, actor(viewer), reason, expected_version)
        except Refusal as refusal:
            log.info("identity.refused", merge_id=merge_id if isinstance(merge_id, str) else None,
                     action="unlink", code=refusal.code, field=refusal.field)
            return refusal.answer()
        return {"ok": True, "merge": after}
