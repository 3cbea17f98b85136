"""`$everything` for one child and the per-district bulk export, for a viewer, audited.

Access and consent are the child page's (childlink_referral.child_page): a viewer gets FHIR for exactly
what the staff pages would show them, and a parent's refusal to share hides the record as it does there.
Each export, allowed or refused, is written to the audit log (`audit.fhir_export`): who, their role and
place, which child or district, the reason given, the outcome; never a name or national ID.
"""

from childlink_common.logs import get_logger

from ..child_page import child_page
from ..identity import log_rows
from ..times import iso
from .resources import bundle, everything, fhir_id

audit = get_logger("childlink.audit")
VIEWER_HEADERS = {"user_id": "X-Childlink-User", "role": "X-Childlink-Role",
                  "department": "X-Childlink-Department", "facility": "X-Childlink-Facility",
                  "district": "X-Childlink-District"}


def viewer_from_headers(headers):
    return {name: headers.get(header) or None for name, header in VIEWER_HEADERS.items()}


def _audit(viewer, action, target, outcome, reason=None, **extra):
    viewer = viewer if isinstance(viewer, dict) else {}
    audit.info("audit.fhir_export", action=action, target=target, outcome=outcome, reason=reason,
               user_id=viewer.get("user_id"), role=viewer.get("role"), department=viewer.get("department"),
               facility=viewer.get("facility"), district=viewer.get("district"), **extra)


def patient_everything(store, viewer, child_id, now, base_url, reason=None):
    """{"ok": True, "bundle": Bundle} or the child page's refusal ({"ok": False, "error": ...})."""
    answer = child_page(store, viewer, child_id, now)
    if not answer.get("ok"):
        _audit(viewer, "Patient/$everything", child_id, answer["error"]["code"], reason)
        return answer
    resources = everything(answer["child"])
    shared = answer["child"]["consent"]["shared"]
    _audit(viewer, "Patient/$everything", child_id, "shown" if shared else "consent_refused", reason,
           resources=len(resources))
    return {"ok": True, "bundle": bundle(resources, fhir_id("everything", child_id), iso(now), base_url)}


def district_children(store):
    """Every child id the store knows that was not merged into another, in first-seen order."""
    seen = set()
    for row in log_rows(store):
        child_id = row["child_id"]
        if child_id in seen:
            continue
        seen.add(child_id)
        if not (store.child(child_id) or {}).get("merged_into"):
            yield child_id


def district_resources(store, viewer, now, counts):
    """Every resource of every child the viewer (a district officer) may see, child by child, consent
    respected: children whose parents refused sharing are counted in `counts`, not exported. Audited once
    the last child is done."""
    counts.update({"children": 0, "consent_refused": 0, "not_visible": 0, "resources": 0})
    for child_id in district_children(store):
        answer = child_page(store, viewer, child_id, now)
        if not answer.get("ok"):
            counts["not_visible"] += 1
            continue
        if not answer["child"]["consent"]["shared"]:
            counts["consent_refused"] += 1
            continue
        counts["children"] += 1
        for resource in everything(answer["child"]):
            counts["resources"] += 1
            yield resource
    _audit(viewer, "bulk $export", viewer.get("district"), "exported", None, **counts)


def district_export(store, viewer, now):
    """(resources by type {"Patient": [...], ...}, counts): `district_resources` gathered in memory."""
    by_type, counts = {}, {}
    for resource in district_resources(store, viewer, now, counts):
        by_type.setdefault(resource["resourceType"], []).append(resource)
    return by_type, counts
