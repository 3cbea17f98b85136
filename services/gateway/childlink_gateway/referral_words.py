"""A referral's note, reasons, evidence and history in the viewer's language, from the structured fields the
referral service keeps beside its English text (`note_details`, `cancel_details`, `evidence`, history
`details`). Dates are Bangkok days, Buddhist era on Thai pages. What staff typed themselves (a reason for
rejecting, an outcome's notes) is shown as they typed it; the rules' own English is never shown on a Thai
page: without structured fields the reason's name stands in for it.
"""

from childlink_contracts.vaccine_codes import ORAL_VACCINES

Z_NAMES = ("z_wfa", "z_lhfa", "z_wflh", "z_bmi")


def dose_label(t, vaccine, dose):
    """'ครั้งที่ 2' for an oral dose (OPV, rotavirus), 'เข็มที่ 2' for an injection; 'dose 2' in English."""
    if dose is None or dose == "":
        return ""
    return t("dose.oral" if vaccine in ORAL_VACCINES else "dose.injection", n=dose)


def _domains(t, domains):
    return ", ".join(t.maybe("domain", d) for d in domains or []) or "—"


def _values(t, d, details):
    values = {}
    for key, value in details.items():
        if key.endswith(("_on", "_by")) or key in ("since", "on"):
            values[key] = d(value)
        elif key in ("domains", "delayed"):
            values[key] = _domains(t, value)
        elif key == "z":
            values[key] = ", ".join(f"{t('zname.' + k)} {z:+.2f}".replace("-", "−")
                                    for k, z in sorted(value.items()) if k in Z_NAMES)
        elif key == "doses":
            values[key] = ", ".join(
                t("note.dose_due", vaccine=t.maybe("vaccine", item.get("vaccine")),
                  dose=dose_label(t, item.get("vaccine"), item.get("dose")), due_on=d(item.get("due_on")))
                for item in value or [])
        elif key == "factors":  # the social worker's own coded words, named as the department sent them
            values[key] = ", ".join(t.maybe("factor", f) for f in value or []) or "—"
        elif key == "department":
            values[key] = t.maybe("dept", value)
        elif key == "event_ids":
            values["count"] = len(value or [])
        else:
            values[key] = "" if value is None else value
    values.setdefault("count", 0)
    return values


def _say(t, d, prefix, details, fallback=""):
    if not isinstance(details, dict) or not details.get("kind" if prefix == "note" else "code"):
        return fallback
    key = f"{prefix}.{details.get('kind') if prefix == 'note' else details.get('code')}"
    if not t.has(key):
        return fallback
    try:
        return t(key, **_values(t, d, details))
    except (KeyError, IndexError, ValueError):
        return fallback


def note(t, d, referral):
    """Why it was raised, from `note_details`; else the reason's name (never the rules' English on Thai)."""
    fallback = referral.get("note") if t.lang == "en" else t.maybe("reason", referral.get("reason"))
    return _say(t, d, "note", referral.get("note_details"), fallback or "")


def cancel_reason(t, d, referral):
    """Why the rules withdrew it (structured), or the words of whoever cancelled it."""
    if referral.get("cancel_details"):
        return _say(t, d, "why", referral["cancel_details"], t("why.no_longer_applies", count=0))
    return referral.get("cancel_reason") or ""


def evidence(t, d, item):
    return _say(t, d, "evidence", item, t("evidence.later_evidence", count=len(item.get("event_ids") or [])))


def history_note(t, d, item):
    """One history line's note: the rules' and timer's from structured details, staff's as typed."""
    details = item.get("details") or {}
    action = item.get("action")
    if action == "raise":
        return _say(t, d, "note", details.get("note"), item.get("note") if t.lang == "en" else "")
    if action == "withdraw":
        return _say(t, d, "why", details.get("why"), item.get("note") if t.lang == "en" else
                    t("why.no_longer_applies", count=0))
    if action == "attach_evidence":
        return evidence(t, d, details.get("evidence") or {})
    if action == "schedule" and details.get("scheduled_for"):
        return t("note.appointment", on=d(details["scheduled_for"]))
    return item.get("note") or ""
