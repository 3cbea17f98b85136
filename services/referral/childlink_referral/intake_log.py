"""What the referral consumer logs of a batch it took in: one line per batch, not one per event.

`timeline.appended` names every applied event as [event_id, child_id, correlation_id], so grepping an
event_id (or a correlation_id) across the logs still finds the moment it reached the timeline;
`timeline.duplicate` names the redeliveries the same way, when there are any. `rules.applied` names
the events whose rules raised, withdrew or completed referrals, each as [RULES_APPLIED_FIELDS].
"""

from childlink_common.logs import get_logger

log = get_logger("childlink_referral.service")
RULES_APPLIED_FIELDS = ("event_id", "child_id", "raised", "withdrawn", "completed")


def _named(intake, body):
    correlation_id = body.get("correlation_id") if isinstance(body, dict) else None
    return [intake.event_id, intake.child_id, correlation_id]


def log_batch(department, intakes):
    applied = [_named(intake, body) for intake, body in intakes if intake.applied]
    duplicates = [_named(intake, body) for intake, body in intakes if not intake.applied]
    if applied:
        log.info("timeline.appended", department=department, count=len(applied), events=applied)
    if duplicates:
        log.info("timeline.duplicate", department=department, count=len(duplicates), events=duplicates)


def log_rules_applied(applied):
    if applied:
        log.info("rules.applied", count=len(applied), events=applied)
