"""What an operator may see of a message: its shape and its ids, never who the child is.

PDPA: operator views carry no names, national IDs, birth dates, guardians, phones or addresses, and
no clinical content. `redact_body` keeps the envelope's ids, type, times and source, keeps the keys
of the subject and payload (so a field error can be understood) and replaces their values; any
13-digit run left anywhere (a national ID in an error text) is masked too. The raw message is
shown only to an authorised viewer (`may_see_raw`), one message at a time, and that view is audited.
"""

import json
import re

REDACTED = "[redacted]"
# envelope fields an operator needs to follow a message; everything else is redacted
SAFE_ENVELOPE = ("event_id", "type", "version", "occurred_at", "recorded_at", "correlation_id", "supersedes")
SAFE_SOURCE = ("department", "system")
SAFE_FACILITY = ("code", "district_code")
# subject fields that identify a record, not a person (a department's own number, a centre id)
SAFE_SUBJECT = ("local_id", "centre_id", "district_code")
THIRTEEN_DIGITS = re.compile(r"(?<!\d)(\d[\s-]?){12}\d(?!\d)")
# roles that may open one raw message, besides a department's own staff for their department's
# messages; the gateway passes the viewer, the monitor decides (and the gateway audits the view)
RAW_VIEW_ROLES = frozenset()


def mask_text(text, limit=2000):
    if text is None:
        return None
    return THIRTEEN_DIGITS.sub("[national-id]", str(text))[:limit]


def _shape(value):
    """Keys kept, leaf values replaced."""
    if isinstance(value, dict):
        return {str(k): _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v) for v in value[:20]]
    if value is None:
        return None
    return REDACTED


def _subject(subject):
    if not isinstance(subject, dict):
        return _shape(subject)
    out = {}
    for kind, inner in subject.items():
        if isinstance(inner, dict):
            out[kind] = {k: (mask_text(v, 80) if k in SAFE_SUBJECT and isinstance(v, (str, int)) else _shape(v))
                         for k, v in inner.items()}
        else:
            out[kind] = _shape(inner)
    return out


def _source(source):
    if not isinstance(source, dict):
        return _shape(source)
    out = {k: mask_text(source.get(k), 80) for k in SAFE_SOURCE if k in source}
    facility = source.get("facility")
    if isinstance(facility, dict):
        out["facility"] = {k: mask_text(facility.get(k), 80) for k in SAFE_FACILITY if k in facility}
    return out


def redact_body(body):
    """An event body as operators see it. Anything that is not a JSON object is only described."""
    if not isinstance(body, dict):
        return {"_note": f"not a JSON object ({type(body).__name__})"}
    out = {}
    for key in SAFE_ENVELOPE:
        if key in body:
            value = body[key]
            out[key] = mask_text(value, 200) if isinstance(value, str) else (
                value if isinstance(value, (int, float, bool)) or value is None else _shape(value))
    if "source" in body:
        out["source"] = _source(body["source"])
    if "subject" in body:
        out["subject"] = _subject(body["subject"])
    if "payload" in body:
        out["payload"] = _shape(body["payload"])
    for key in body:
        if key not in out:
            out[key] = _shape(body[key])
    return out


def decode_body(raw, content_encoding=None):
    """(parsed JSON or None, text or None) from the raw bytes of a message."""
    if raw is None:
        return None, None
    try:
        text = raw.decode(content_encoding or "utf-8") if isinstance(raw, bytes) else str(raw)
    except (LookupError, UnicodeDecodeError):
        return None, None
    try:
        return json.loads(text), text
    except ValueError:
        return None, text


def redacted_view(raw, content_encoding=None):
    body, text = decode_body(raw, content_encoding)
    size = len(raw or b"")
    if body is None:
        return {"_note": f"undecodable body ({size} bytes)" if text is None else f"not JSON ({size} bytes)"}
    return redact_body(body)


def redact_error_fields(fields):
    """Field errors name paths and rules; values quoted in messages are masked."""
    if not isinstance(fields, dict):
        return None if fields is None else mask_text(fields)
    return {str(k): ([mask_text(m, 300) for m in v] if isinstance(v, list) else
                     redact_error_fields(v) if isinstance(v, dict) else mask_text(v, 300))
            for k, v in fields.items()}


def may_see_raw(viewer, department, extra_roles=RAW_VIEW_ROLES):
    """A department's own staff may open that department's raw message; roles named in extra_roles
    (MONITOR_RAW_VIEW_ROLES) any. Operators and auditors may not: they see no child data."""
    if not isinstance(viewer, dict):
        return False
    role = viewer.get("role")
    if role in extra_roles:
        return True
    return role == "department_staff" and bool(department) and viewer.get("department") == department
