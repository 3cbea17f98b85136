"""The referral consumer's work on department events, without nameko: what the service's queue handlers
and the bulk first load (childlink_referral.bulk_load) both run, so the two cannot drift apart."""

from childlink_common.logs import get_logger

from .intake import take_in
from .intake_log import RULES_APPLIED_FIELDS, log_rules_applied

log = get_logger(__name__)


def take_in_event(store, referrals, body, department, known=None, linking=None, applied=None, rules_later=None,
                  checked=None):
    """One delivered event: checked, its child resolved, appended to the timeline (intake.take_in), then
    the child's referrals reconciled with the rules (`rules_for_child`). Returns the Intake. Given a set
    `rules_later`, the child's id is added to it instead and the caller runs the rules once the child's
    other events are in (the bulk first load: childlink_referral.bulk_load). `checked`: see take_in."""
    intake = take_in(store, body, department, known=known, linking=linking, checked=checked)
    if intake.conflicts:
        log.warning("identity.conflict", event_id=intake.event_id, child_id=intake.child_id,
                    conflicting_keys=len(intake.conflicts))
    if intake.child_id.startswith("centre:"):
        return intake
    # a duplicate is evaluated too: the first delivery may have stopped before its rules ran
    if rules_later is not None:
        rules_later.add(intake.child_id)
    else:
        rules_for_child(referrals, intake.child_id, intake.event_id, applied)
    return intake


def rules_for_child(referrals, child_id, event_id=None, applied=None):
    """The child's referrals reconciled with the rules. What they changed is logged (`rules.applied`) at
    once, or, given a list `applied`, added to it as [event_id, child_id, raised, withdrawn, completed]
    for the batch's one line (event_id: the event that made them run, None for a bulk load's pass)."""
    changes = referrals.reconcile_child(child_id)
    if changes.raised or changes.withdrawn or changes.completed:
        named = [event_id, child_id, len(changes.raised), len(changes.withdrawn), len(changes.completed)]
        if applied is None:
            log.info("rules.applied", **dict(zip(RULES_APPLIED_FIELDS, named, strict=True)))
        else:
            applied.append(named)
    return changes


def in_one_transaction(store, known, referrals, take):
    """`take(applied)` inside one store batch; if it fails, the matcher (`known`, or None with matching
    off) forgets what it read of the batch's writes (they were rolled back, and SQLite may give their
    row numbers to other rows). The batch's referral transitions and what its rules changed (`applied`)
    are logged in a line each, not one per transition and event."""
    mark = known.opened() if known is not None else None
    applied = []
    try:
        with referrals.logged_together(), store.batch():
            taken = take(applied)
    except BaseException:
        if mark is not None:
            known.rolled_back(mark)
        raise
    finally:
        log_rules_applied(applied)
    if mark is not None:
        known.committed(mark)
    return taken
