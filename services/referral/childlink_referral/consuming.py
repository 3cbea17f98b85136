"""The referral consumer's work on department events, without nameko: what the service's queue handlers
and the bulk first load (childlink_referral.bulk_load) both run, so the two cannot drift apart."""

from childlink_common.logs import get_logger

from .intake import take_in

log = get_logger(__name__)


def take_in_event(store, referrals, body, department, known=None, linking=None):
    """One delivered event: checked, its child resolved, appended to the timeline (intake.take_in), then
    the child's referrals reconciled with the rules. Returns the Intake."""
    intake = take_in(store, body, department, known=known, linking=linking)
    if intake.conflicts:
        log.warning("identity.conflict", event_id=intake.event_id, child_id=intake.child_id,
                    conflicting_keys=len(intake.conflicts))
    if not intake.child_id.startswith("centre:"):
        # a duplicate is evaluated too: the first delivery may have stopped before its rules ran
        changes = referrals.reconcile_child(intake.child_id)
        if changes.raised or changes.withdrawn or changes.completed:
            log.info("rules.applied", event_id=intake.event_id, child_id=intake.child_id,
                     raised=len(changes.raised), withdrawn=len(changes.withdrawn),
                     completed=len(changes.completed))
    return intake


def in_one_transaction(store, known, take):
    """`take()` inside one store batch; if it fails, the matcher (`known`, or None with matching off)
    forgets what it read of the batch's writes (they were rolled back, and SQLite may give their row
    numbers to other rows)."""
    mark = known.opened() if known is not None else None
    try:
        with store.batch():
            taken = take()
    except BaseException:
        if mark is not None:
            known.rolled_back(mark)
        raise
    if mark is not None:
        known.committed(mark)
    return taken
