"""The referral workflow: rules reconciled with the referrals that exist, staff actions, expiry, publishing.

Plain Python over the storage port and an outbox (`add(events, accepted_at)`): the nameko service wires
it to the real store, outbox and relay; tests give it fakes or the SQLite adapters.

Publishing: a change is stored first (a versioned, atomic update of the referral), then its events go
into the outbox (idempotent by event_id) and the referral is marked as outboxed at that version. A crash
in between leaves it marked pending; the housekeeping sweep puts its events in the outbox again, so no
transition is ever lost, and the relay publishes them with confirms.
"""

import time
import uuid
from dataclasses import dataclass, field

from childlink_common.logs import get_logger

from .access import actor, can_see_referral, check_viewer, sides_of
from .events import events_of
from .lifecycle import (
    ACTIONS,
    EITHER,
    RECEIVER,
    REQUESTER,
    SYSTEM,
    Refusal,
    allowed_actions,
    is_open,
    new_referral,
    transition,
)
from .reasons import deadline_for
from .rules import RULES, RULES_BY_NAME, build_state, evaluate
from .times import iso, utc_now

log = get_logger(__name__)

RULES_ACTOR = {"user_id": "system", "role": "rules"}
TIMER_ACTOR = {"user_id": "system", "role": "timer"}
MAX_ROUNDS = 5
INTERNAL_FIELDS = ("rule_key", "withdrawn_by_rules", "outbox_pending", "outboxed_version")
ID_NAMESPACE = uuid.UUID("0b7d3a8e-2f6c-4d41-8f0e-6a2f3c1d9e55")


class _Raced(Exception):
    """Someone changed a referral of this child while we reconciled: read again and retry."""


@dataclass
class Changes:
    raised: list = field(default_factory=list)
    withdrawn: list = field(default_factory=list)
    completed: list = field(default_factory=list)
    expired: list = field(default_factory=list)

    def extend(self, other):
        for name in ("raised", "withdrawn", "completed", "expired"):
            getattr(self, name).extend(getattr(other, name))


def present(referral, viewer=None, now=None):
    """A referral as callers see it: no internal fields, with `overdue` and this viewer's `allowed_actions`."""
    now = now or utc_now()
    shown = {k: v for k, v in referral.items() if k not in INTERNAL_FIELDS}
    shown["overdue"] = is_open(referral) and referral["due_by"] < iso(now)
    shown["allowed_actions"] = allowed_actions(referral, sides_of(viewer, referral)) if viewer else []
    return shown


def _fingerprint(entries):
    return sorted(e["event_id"] for e in entries)


class Referrals:
    def __init__(self, store, outbox, *, clock=utc_now, wake=lambda: None, rules=RULES):
        self.store = store
        self.outbox = outbox
        self.clock = clock
        self.wake = wake
        self.rules = rules

    # --- publishing ------------------------------------------------------------------------------

    def _publish(self, referral):
        self.outbox.add(events_of(referral), time.time())
        self.store.mark_outboxed(referral["referral_id"], referral["version"])
        self.wake()
        item = referral["history"][-1]
        log.info("referral.transition", referral_id=referral["referral_id"], version=referral["version"],
                 action=item["action"], status=referral["status"], reason=referral["reason"],
                 child_id=referral["child_id"], by_role=item["by"].get("role"))

    def _store_transition(self, before, after):
        if not self.store.replace_referral(after, before["version"]):
            return False
        self._publish(after)
        return True

    def flush_unpublished(self, limit=100):
        """Put the events of every referral not yet marked outboxed into the outbox again."""
        pending = self.store.referrals_not_outboxed(limit)
        for referral in pending:
            self._publish(referral)
        return len(pending)

    # --- rules -----------------------------------------------------------------------------------

    def reconcile_child(self, child_id, now=None):
        """Evaluate the rules on the child's current timeline and make the referrals match.

        Idempotent. Repeated until the timeline read before is the timeline after, so an event appended
        meanwhile by another worker is never missed by both evaluations."""
        changes = Changes()
        for _ in range(MAX_ROUNDS):
            at = now or self.clock()
            entries = self.store.timeline(child_id)
            child = self.store.child(child_id)
            state = build_state(child_id, (child or {}).get("profile"), entries)
            evaluation = evaluate(state, at, self.rules)
            try:
                changes.extend(self._apply(state, evaluation, at))
            except _Raced:
                continue
            self.store.set_review(child_id, iso(evaluation.next_review_at) if evaluation.next_review_at else None)
            if _fingerprint(self.store.timeline(child_id)) == _fingerprint(entries):
                return changes
        log.warning("rules.unsettled", child_id=child_id, rounds=MAX_ROUNDS)
        return changes

    def _apply(self, state, evaluation, now):
        changes = Changes()
        existing = {r["referral_id"]: r for r in self.store.referrals_of_child(state.child_id)}
        self._record_outcomes(state, existing, now, changes)
        for key, proposal in evaluation.proposals.items():
            same = [r for r in existing.values() if r["rule_key"] == key]
            if any(not r["withdrawn_by_rules"] for r in same):
                continue  # idempotent: a referral for this rule and source stands (in whatever status)
            referral = self._raise(state, proposal, len(same), now)
            if not self.store.insert_referral(referral):
                raise _Raced()
            existing[referral["referral_id"]] = referral
            self._publish(referral)
            changes.raised.append(referral["referral_id"])
        for referral in list(existing.values()):
            if not is_open(referral) or referral["rule_key"] in evaluation.proposals:
                continue
            after = transition(referral, "withdraw", RULES_ACTOR,
                               {"reason": self._why_withdrawn(state, evaluation, referral)}, now)
            if not self._store_transition(referral, after):
                raise _Raced()
            existing[referral["referral_id"]] = after
            changes.withdrawn.append(referral["referral_id"])
        return changes

    def _raise(self, state, proposal, earlier, now):
        referral_id = "r-" + str(uuid.uuid5(ID_NAMESPACE, f"{state.child_id}|{proposal.key}|{earlier}"))
        due_by = proposal.due_by or (now + deadline_for(proposal.reason))
        return new_referral(
            referral_id=referral_id, child_id=state.child_id, rule=proposal.rule, reason=proposal.reason,
            rule_key=proposal.key, from_=proposal.from_, to=proposal.to,
            district=state.district or proposal.from_.get("district"), note=proposal.note,
            source_event_ids=proposal.source_event_ids, due_by=due_by, now=now, by=RULES_ACTOR)

    def _why_withdrawn(self, state, evaluation, referral):
        if referral["rule_key"] in evaluation.suppressed:
            return f"withdrawn: {evaluation.suppressed[referral['rule_key']][1]}"
        for event_id in referral["source_event_ids"]:
            entry = state.entry(event_id)
            if entry is None or entry["status"] == "current":
                continue
            later = next((e for e in state.entries if e.get("supersedes") == event_id), None)
            if entry["status"] == "retracted":
                why = (later or {}).get("payload", {}).get("reason", "no reason given")
                return f"withdrawn: source event {event_id} ({entry['type']}) was retracted: {why}"
            rule = RULES_BY_NAME.get(referral["rule"])
            return (f"withdrawn: source event {event_id} ({entry['type']}) was corrected by "
                    f"{(later or {}).get('event_id')}; the corrected record no longer meets the rule"
                    + (f" ({rule.description})" if rule else ""))
        rule = RULES_BY_NAME.get(referral["rule"])
        described = rule.description if rule else referral["rule"]
        return f"withdrawn: no longer applies: the child's current record no longer shows that {described}"

    def _record_outcomes(self, state, existing, now, changes):
        """A hospital's `referral.outcome_recorded` completes the referral it names (state-based: it holds
        whichever arrives first, and a redelivery changes nothing)."""
        for fact in state.of("medical", "referral.outcome_recorded"):
            referral_id = fact.payload.get("referral_id")
            referral = existing.get(referral_id) or self.store.get_referral(referral_id)
            if referral is None:
                log.warning("referral.outcome_unmatched", event_id=fact.event_id, referral_id=referral_id)
                continue
            if not is_open(referral):
                continue
            if referral["to"].get("department") != "medical":
                log.warning("referral.outcome_not_for_a_hospital", event_id=fact.event_id, referral_id=referral_id)
                continue
            if referral["child_id"] != state.child_id:
                log.warning("referral.outcome_other_child", event_id=fact.event_id, referral_id=referral_id,
                            child_id=state.child_id)
            by = {"user_id": "system", "role": "medical_outcome", "department": "medical",
                  "facility": fact.facility}
            after = transition(referral, "record_outcome", by,
                               {"outcome": fact.payload.get("outcome"), "notes": fact.payload.get("notes"),
                                "outcome_event_id": fact.event_id}, now)
            if not self._store_transition(referral, after):
                raise _Raced()
            if referral_id in existing:
                existing[referral_id] = after
            changes.completed.append(referral_id)

    # --- time ------------------------------------------------------------------------------------

    def expire_overdue(self, limit=100):
        now = self.clock()
        expired = []
        for referral in self.store.open_referrals_due(iso(now), limit):
            after = transition(referral, "expire", TIMER_ACTOR, {}, now)
            if self._store_transition(referral, after):
                expired.append(referral["referral_id"])
        return expired

    def run_due_reviews(self, limit=100):
        children = self.store.due_reviews(iso(self.clock()), limit)
        for child_id in children:
            self.reconcile_child(child_id)
        return len(children)

    def housekeeping(self, limit=100):
        """What the timer does: expire overdue referrals, re-evaluate children whose time-based rules fell
        due, and put any unpublished transition into the outbox again."""
        return {"expired": len(self.expire_overdue(limit)), "reviewed": self.run_due_reviews(limit),
                "republished": self.flush_unpublished(limit)}

    # --- staff -----------------------------------------------------------------------------------

    def act(self, viewer, referral_id, action, fields, expected_version):
        """One staff action; every refusal is an answer ({"ok": false, "error": ...}) and changes nothing."""
        now = self.clock()
        try:
            viewer = check_viewer(viewer)
            if not isinstance(referral_id, str) or not referral_id:
                raise Refusal("invalid", "referral_id is required", "referral_id")
            referral = self.store.get_referral(referral_id)
            if referral is None:
                raise Refusal("not_found", f"no referral {referral_id}")
            if not can_see_referral(viewer, referral):
                raise Refusal("forbidden", "this referral is not to or from your place of work")
            spec = ACTIONS.get(action) if isinstance(action, str) else None
            if spec is None or spec.side == SYSTEM:
                staff = ", ".join(a for a, s in ACTIONS.items() if s.side != SYSTEM)
                raise Refusal("invalid", f"unknown action {action!r}; actions: {staff}", "action")
            if isinstance(expected_version, bool) or not isinstance(expected_version, int):
                raise Refusal("invalid", "expected_version (the version you saw, an integer) is required",
                              "expected_version")
            sides = sides_of(viewer, referral)
            if not (spec.side in sides or (spec.side == EITHER and sides)):
                raise Refusal("forbidden", _side_message(viewer, referral, spec, sides))
            if expected_version != referral["version"]:
                raise Refusal("conflict", f"the referral is at version {referral['version']}, not "
                              f"{expected_version}: someone acted on it first; reload it and try again")
            after = transition(referral, action, actor(viewer), fields, now)
            if not self.store.replace_referral(after, expected_version):
                raise Refusal("conflict", "someone acted on the referral at the same moment; reload it and try again")
        except Refusal as refusal:
            log.info("referral.refused", referral_id=referral_id if isinstance(referral_id, str) else None,
                     action=action if isinstance(action, str) else None, code=refusal.code, field=refusal.field)
            return refusal.answer()
        self._publish(after)
        return {"ok": True, "referral": present(after, viewer, now)}


def _side_message(viewer, referral, spec, sides):
    role = viewer["role"]
    if not sides and role in ("district_officer", "department_staff"):
        return f"the {role} role is read-only: it may not {spec.name} referrals"
    wanted = {REQUESTER: f"the requesting side ({referral['from'].get('facility')})",
              RECEIVER: f"the receiving side ({referral['to'].get('facility')})",
              EITHER: "the requesting or receiving side"}[spec.side]
    return f"only {wanted} may {spec.name} this referral; as {role} you are not"
