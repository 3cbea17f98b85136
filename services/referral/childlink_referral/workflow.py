"""The referral workflow: rules reconciled with the referrals that exist, staff actions, expiry, publishing.

Plain Python over the storage port and an outbox (`add(events, accepted_at)`): the nameko service wires
it to the real store, outbox and relay; tests give it fakes or the SQLite adapters.

Publishing: a change is stored first (a versioned, atomic update of the referral), then its events go
into the outbox (idempotent by event_id) and the referral is marked as outboxed at that version. A crash
in between leaves it marked pending; the housekeeping sweep puts its events in the outbox again, so no
transition is ever lost, and the relay publishes them with confirms.
"""

import contextlib
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
    acted_on,
    allowed_actions,
    is_open,
    new_referral,
    transition,
)
from .reasons import deadline_for
from .rules import RULES, RULES_BY_NAME, build_state, evaluate
from .rules.proposal import day
from .times import iso, utc_now

log = get_logger(__name__)

RULES_ACTOR = {"user_id": "system", "role": "rules"}
TIMER_ACTOR = {"user_id": "system", "role": "timer"}
MAX_ROUNDS = 5
INTERNAL_FIELDS = ("rule_key", "withdrawn_by_rules", "outbox_pending", "outboxed_version")
ID_NAMESPACE = uuid.UUID("0b7d3a8e-2f6c-4d41-8f0e-6a2f3c1d9e55")
# What a `referral.transition` line says of one transition; `referral.transitions` (one line for the
# transitions of a batch, `logged_together`) lists them in this order.
TRANSITION_FIELDS = ("referral_id", "version", "action", "status", "reason", "child_id", "by_role")


class _Raced(Exception):
    """Someone changed a referral of this child while we reconciled: read again and retry."""


@dataclass
class Changes:
    raised: list = field(default_factory=list)
    withdrawn: list = field(default_factory=list)
    completed: list = field(default_factory=list)
    expired: list = field(default_factory=list)
    evidence: list = field(default_factory=list)  # referrals that had later evidence attached

    def extend(self, other):
        for name in ("raised", "withdrawn", "completed", "expired", "evidence"):
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
        self._held = None  # transitions published inside `logged_together`, to log on the way out

    @contextlib.contextmanager
    def logged_together(self):
        """The transitions published inside go into one `referral.transitions` line (count, and each
        as [TRANSITION_FIELDS]) when it ends, whether or not it raised, instead of a line each: a
        consumer's batch raises a referral for every third event, and its line cost more than the
        outbox write. Nested, the outermost logs."""
        if self._held is not None:
            yield
            return
        self._held = held = []
        try:
            yield
        finally:
            self._held = None
            if held:
                log.info("referral.transitions", count=len(held), transitions=held)

    # --- publishing ------------------------------------------------------------------------------

    def _publish(self, referral):
        self.outbox.add(events_of(referral), time.time())
        self.store.mark_outboxed(referral["referral_id"], referral["version"])
        self.wake()
        item = referral["history"][-1]
        named = [referral["referral_id"], referral["version"], item["action"], referral["status"],
                 referral["reason"], referral["child_id"], item["by"].get("role")]
        if self._held is not None:
            self._held.append(named)
        else:
            log.info("referral.transition", **dict(zip(TRANSITION_FIELDS, named, strict=True)))

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
            state = build_state(child_id, self.store.profile(child_id), entries)
            evaluation = evaluate(state, at, self.rules)
            try:
                changes.extend(self._apply(state, evaluation, at))
            except _Raced:
                continue
            self.store.set_review(child_id, iso(evaluation.next_review_at) if evaluation.next_review_at else None)
            if self.store.timeline_ids(child_id) == _fingerprint(entries):
                return changes
        log.warning("rules.unsettled", child_id=child_id, rounds=MAX_ROUNDS)
        return changes

    def _apply(self, state, evaluation, now):
        changes = Changes()
        existing = {r["referral_id"]: r for r in self.store.referrals_of_child(state.child_id)}
        self._record_outcomes(state, existing, now, changes)
        for key, proposal in evaluation.proposals.items():
            same = [r for r in existing.values() if r["rule_key"] == key]
            standing = [r for r in same if not r["withdrawn_by_rules"]]
            if standing:  # idempotent: a referral for this rule and source stands (in whatever status)
                for referral in standing:
                    fresh = _new_evidence(referral, proposal.evidence)
                    if is_open(referral) and fresh:
                        self._attach(existing, referral, {"code": "later_evidence", "rule": referral["rule"],
                                                          "event_ids": fresh}, now, changes)
                continue
            referral = self._raise(state, proposal, len(same), now)
            if not self.store.insert_referral(referral):
                raise _Raced()
            existing[referral["referral_id"]] = referral
            self._publish(referral)
            changes.raised.append(referral["referral_id"])
            fresh = _new_evidence(referral, proposal.evidence)
            if fresh:  # later events the timeline already holds: attached now, so a second evaluation is a no-op
                self._attach(existing, referral, {"code": "later_evidence", "rule": referral["rule"],
                                                  "event_ids": fresh}, now, changes)
        if changes.raised:
            # a hospital's outcome taken before the referral it names was raised here (history out of
            # order, or a bulk load running the rules after a child's whole history) completes it now
            self._record_outcomes(state, existing, now, changes, among=set(changes.raised))
        for referral in list(existing.values()):
            if not is_open(referral) or referral["rule_key"] in evaluation.proposals:
                continue
            why = self._why_withdrawn(state, evaluation, referral)
            if acted_on(referral):
                # someone acts on it: never withdrawn; the evidence goes to its receiver, who closes it
                if why not in [_without_at(item) for item in referral.get("evidence") or []]:
                    self._attach(existing, referral, why, now, changes)
                continue
            after = transition(referral, "withdraw", RULES_ACTOR, {"reason": describe_why(why), "why": why}, now)
            if not self._store_transition(referral, after):
                raise _Raced()
            existing[referral["referral_id"]] = after
            changes.withdrawn.append(referral["referral_id"])
        return changes

    def _attach(self, existing, referral, evidence, now, changes):
        after = transition(referral, "attach_evidence", RULES_ACTOR, {"evidence": evidence}, now)
        if not self._store_transition(referral, after):
            raise _Raced()
        existing[referral["referral_id"]] = after
        changes.evidence.append(referral["referral_id"])

    def _raise(self, state, proposal, earlier, now):
        referral_id = "r-" + str(uuid.uuid5(ID_NAMESPACE, f"{state.child_id}|{proposal.key}|{earlier}"))
        due_by = proposal.due_by or (now + deadline_for(proposal.reason))
        return new_referral(
            referral_id=referral_id, child_id=state.child_id, rule=proposal.rule, reason=proposal.reason,
            rule_key=proposal.key, from_=proposal.from_, to=proposal.to,
            district=state.district or proposal.from_.get("district"), note=proposal.note,
            source_event_ids=proposal.source_event_ids, due_by=due_by, now=now, by=RULES_ACTOR,
            note_details=proposal.details)

    def _why_withdrawn(self, state, evaluation, referral):
        """Why the referral no longer applies, as structured fields (pages word it in the viewer's language)."""
        rule = referral["rule"]
        if referral["rule_key"] in evaluation.suppressed:
            proposal, _ = evaluation.suppressed[referral["rule_key"]]
            department = next((d for d in proposal.source_departments if d in state.consent_refused), None)
            refusal = state.consent_refused.get(department)
            return {"code": "consent_refused", "rule": rule, "department": department,
                    "on": day(refusal) if refusal else None, "event_ids": [refusal.event_id] if refusal else []}
        for event_id in referral["source_event_ids"]:
            entry = state.entry(event_id)
            if entry is None or entry["status"] == "current":
                continue
            later = next((e for e in state.entries if e.get("supersedes") == event_id), None) or {}
            if entry["status"] == "retracted":
                return {"code": "source_retracted", "rule": rule, "source_event_id": event_id,
                        "source_type": entry["type"], "event_ids": [later.get("event_id")],
                        "retraction_reason": (later.get("payload") or {}).get("reason")}
            return {"code": "source_corrected", "rule": rule, "source_event_id": event_id,
                    "source_type": entry["type"], "event_ids": [later.get("event_id")]}
        resolution = evaluation.resolutions.get(referral["rule_key"])
        if resolution is not None:
            return {"code": resolution.code, "rule": rule, "event_ids": list(resolution.event_ids)}
        return {"code": "no_longer_applies", "rule": rule, "event_ids": _newer_of_kind(state, referral)}

    def _record_outcomes(self, state, existing, now, changes, among=None):
        """A hospital's `referral.outcome_recorded` completes the referral it names (state-based: it holds
        whichever arrives first, and a redelivery changes nothing). `among`: only outcomes naming these."""
        for fact in state.of("medical", "referral.outcome_recorded"):
            referral_id = fact.payload.get("referral_id")
            if among is not None and referral_id not in among:
                continue
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


def _without_at(item):
    return {k: v for k, v in item.items() if k != "at"}


def _new_evidence(referral, event_ids):
    """The ids among `event_ids` not yet attached to the referral nor among its sources."""
    known = set(referral["source_event_ids"])
    for item in referral.get("evidence") or []:
        known.update(item.get("event_ids") or [])
    return [event_id for event_id in event_ids if event_id not in known]


def _newer_of_kind(state, referral):
    """The current facts of the kinds the referral was raised from that came after its latest source."""
    sources = [f for f in state.facts if f.event_id in referral["source_event_ids"]]
    if not sources:
        return []
    kinds = {f.kind for f in sources}
    latest = max(f.occurred_at for f in sources)
    return [f.event_id for f in state.facts if f.kind in kinds and f.occurred_at > latest]


WHY_TEXT = {
    "consent_refused": "withdrawn: consent to share {department} records outside {department} was refused on {on}",
    "source_retracted": "withdrawn: source event {source_event_id} ({source_type}) was retracted: {retraction_reason}",
    "source_corrected": ("withdrawn: source event {source_event_id} ({source_type}) was corrected by {corrected_by}; "
                         "the corrected record no longer meets the rule ({description})"),
    "rescreen_passed": "withdrawn: the DSPM re-screen was passed",
    "rescreen_not_passed": "withdrawn: the DSPM re-screen was not passed; the child is referred to the hospital",
    "recovered": "withdrawn: recovered: two consecutive measurements at or above the threshold",
    "no_longer_applies": "withdrawn: no longer applies: the child's current record no longer shows that {description}",
}


def describe_why(why):
    """English words for a structured reason (logs, the API's cancel_reason); pages use the structure."""
    rule = RULES_BY_NAME.get(why.get("rule"))
    values = {**why, "description": rule.description if rule else why.get("rule"),
              "corrected_by": (why.get("event_ids") or [None])[0],
              "retraction_reason": why.get("retraction_reason") or "no reason given"}
    return WHY_TEXT.get(why["code"], "withdrawn: {code}").format(**values)


def _side_message(viewer, referral, spec, sides):
    role = viewer["role"]
    if not sides and role in ("district_officer", "department_staff"):
        return f"the {role} role is read-only: it may not {spec.name} referrals"
    wanted = {REQUESTER: f"the requesting side ({referral['from'].get('facility')})",
              RECEIVER: f"the receiving side ({referral['to'].get('facility')})",
              EITHER: "the requesting or receiving side"}[spec.side]
    return f"only {wanted} may {spec.name} this referral; as {role} you are not"
