"""Alerts and failures in the operator's language: the monitor's `detail` texts are English sentences for
logs and Prometheus; the pages say the same from the alert's kind, subject, value and threshold, and
show a failure's exception class (a code), never the raw Python error text."""

import re

EXCEPTION_NAME = re.compile(r"^\s*([A-Z][A-Za-z0-9_.]*(?:Error|Exception|Timeout|Refused|Unavailable|Failure)"
                            r"[A-Za-z0-9_]*)\b")


def alert_text(t, alert):
    """The alert in words, e.g. 'ไม่มีเหตุการณ์มา 400 วินาที (ปกติไม่เกิน 60 วินาที)'."""
    kind = alert.get("kind")
    key = f"op.alert_text.{kind}"
    if not t.has(key):
        return ""
    subject = alert.get("subject") or ""
    shown_subject = t.maybe("dept", subject) if subject in ("social", "education", "health", "medical",
                                                             "referral") else subject
    return t(key, subject=shown_subject, value=_number(alert.get("value")), threshold=_number(alert.get("threshold")))


def _number(value):
    if value is None:
        return "-"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def error_kind(error):
    """'IntegrityError' for 'IntegrityError: UNIQUE constraint failed: ...'; None when no class is named."""
    found = EXCEPTION_NAME.match(error or "")
    return found.group(1).rsplit(".", 1)[-1] if found else None
