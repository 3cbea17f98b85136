"""FHIR R4 resources from a child's page (childlink_referral.child_page), as plain JSON dicts.

Built from the page a viewer may see, so access and consent are decided once, where the staff pages
decide them. Every resource id is derived from childlink's own ids: an export taken twice is the same.
"""

import re

from ..times import BANGKOK, parse_instant
from . import codes as c

ID_UNSAFE = re.compile(r"[^A-Za-z0-9\-.]")


def fhir_id(*parts):
    """A FHIR id ([A-Za-z0-9-.]{1,64}) from childlink ids."""
    text = ID_UNSAFE.sub("-", "-".join(parts))
    return text[:64]


def bangkok(instant):
    """A clinical instant as Bangkok clock time (+07:00), the day staff and the 43 files know it by."""
    return parse_instant(instant.replace("Z", "+00:00")).astimezone(BANGKOK).isoformat()


def _ref(kind, resource_id):
    return {"reference": f"{kind}/{resource_id}"}


def _facility(code):
    """An Organization by identifier: a 5-digit MoPH facility code under th-moph-hcode, else childlink's."""
    system = c.TH_HCODE if code and code.isdigit() and len(code) == 5 else c.CHILDLINK_FACILITY
    return {"identifier": {"system": system, "value": code}, "display": code}


def patient(child_id, profile):
    identifiers = [{"system": c.CHILDLINK_CHILD, "value": child_id}]
    if profile.get("national_id"):
        identifiers.insert(0, {
            "use": "official",
            "type": {"coding": [{"system": c.V2_IDENTIFIER_TYPE, "code": "NI"},
                                {"system": c.TH_IDENTIFIER_TYPE, "code": "cid", "display": "เลขประจำตัวประชาชนไทย"}]},
            "system": c.TH_CID, "value": profile["national_id"]})
    resource = {"resourceType": "Patient", "id": fhir_id(child_id), "identifier": identifiers}
    name = {k: v for k, v in (("family", profile.get("family_name")),
                              ("given", [profile["given_name"]] if profile.get("given_name") else None)) if v}
    if name:
        resource["name"] = [{"use": "official", **name}]
    if profile.get("sex") in ("male", "female"):
        resource["gender"] = profile["sex"]
    if profile.get("birth_date"):
        resource["birthDate"] = profile["birth_date"]
    if profile.get("district_code"):
        resource["address"] = [{"use": "home", "district": profile["district_code"], "city": "Bangkok",
                                "country": "TH"}]
    return resource


def immunization(patient_id, entry):
    payload = entry["payload"]
    vaccine, dose = payload["vaccine"], payload["dose"]
    code = payload.get("vaccine_code") or c.THAI_VACCINE_CODE_FOR.get((vaccine, dose))
    coding = [{"system": c.TH_VACCINE, "code": code, "display": f"{vaccine} {dose}"}] if code else []
    resource = {
        "resourceType": "Immunization", "id": fhir_id(entry["event_id"]),
        "identifier": [{"system": c.CHILDLINK_EVENT, "value": entry["event_id"]}],
        "status": "completed",
        "vaccineCode": {"coding": coding, "text": f"{c.VACCINE_DISPLAY.get(vaccine, vaccine)} dose {dose}"},
        "patient": _ref("Patient", patient_id),
        "occurrenceDateTime": bangkok(entry["occurred_at"]),
        "recorded": bangkok(entry["recorded_at"]),
        "performer": [{"actor": _facility(entry["facility_code"])}],
        "protocolApplied": [{"series": vaccine, "doseNumberPositiveInt": dose}],
    }
    if payload.get("lot_number"):
        resource["lotNumber"] = payload["lot_number"]
    return resource


def _observation(resource_id, patient_id, event_id, when, facility, category, code, **value):
    return {
        "resourceType": "Observation", "id": resource_id,
        "identifier": [{"system": c.CHILDLINK_EVENT, "value": event_id}],
        "status": "final",
        "category": [{"coding": [{"system": c.OBSERVATION_CATEGORY, "code": category}]}],
        "code": code, "subject": _ref("Patient", patient_id), "effectiveDateTime": bangkok(when),
        "performer": [_facility(facility)], **value,
    }


def growth_observations(patient_id, point):
    """Weight, length/height and head circumference (LOINC), and each WHO z-score the page computed."""
    found = []
    for field, loinc, display, unit in c.MEASUREMENTS:
        if point.get(field) is None:
            continue
        code = {"coding": [{"system": c.LOINC, "code": loinc, "display": display}], "text": display}
        extra = {}
        if field == "height_cm" and point.get("measured_lying") is not None:
            extra["method"] = {"text": "lying (length)" if point["measured_lying"] else "standing (height)"}
        found.append(_observation(
            fhir_id(point["event_id"], loinc), patient_id, point["event_id"], point["occurred_at"],
            point["facility_code"], "vital-signs", code,
            valueQuantity={"value": point[field], "unit": unit, "system": c.UCUM, "code": unit}, **extra))
    measured = [{"reference": f"Observation/{o['id']}"} for o in found]
    for key, (code, display) in c.Z_SCORES.items():
        z = (point.get("z") or {}).get(key)
        band = (point.get("band") or {}).get(key.removeprefix("z_"))
        if z is None or band == "implausible":
            continue
        interpretation = "L" if z < -2 else "H" if z > 2 else "N"
        found.append(_observation(
            fhir_id(point["event_id"], "z", code), patient_id, point["event_id"], point["occurred_at"],
            point["facility_code"], "exam", {"coding": [{"system": c.WHO_Z, "code": code, "display": display}],
                                             "text": display},
            valueQuantity={"value": round(z, 2), "unit": "SD", "system": c.UCUM, "code": "1"},
            interpretation=[{"coding": [{"system": c.INTERPRETATION, "code": interpretation}],
                             "text": band or ""}],
            derivedFrom=measured))
    return found


def _hdc_code(domain, result):
    return f"1B2{c.DSPM_DOMAIN_CODES[domain][2]}{c.DSPM_RESULT_DIGIT[result]}"


def _overall(domains):
    results = set(domains.values())
    if results <= {"normal"}:
        return "1B260", "Normal: on track for the age"
    if "delayed" in results:
        return "1B262", "Suspected delay: refer for assessment"
    return "1B261", "Suspected delay: stimulate for a month, then re-screen"


def dspm_observation(patient_id, screening):
    """One Observation per DSPM screening: the overall result (HDC 1B260-1B262) and one component per
    domain with its HDC code (1B200-1B249), as the 43 files record them."""
    domains = screening["domains"]
    overall, overall_display = _overall(domains)
    band = screening["age_band_months"]
    components = []
    for domain, (code, display, _) in c.DSPM_DOMAIN_CODES.items():
        result = domains.get(domain)
        if result is None:
            continue
        components.append({
            "code": {"coding": [{"system": c.DSPM, "code": code, "display": display}], "text": display},
            "valueCodeableConcept": {"coding": [{"system": c.HDC_PPSPECIAL, "code": _hdc_code(domain, result),
                                                 "display": c.DSPM_RESULT_DISPLAY[result]}],
                                     "text": result},
        })
    text = f"DSPM {band}-month {'re-screen' if screening.get('rescreen') else 'screening'}"
    return _observation(
        fhir_id(screening["event_id"]), patient_id, screening["event_id"], screening["occurred_at"],
        screening["facility_code"], "survey",
        {"coding": [{"system": c.DSPM, "code": f"dspm-{band}m", "display": text}], "text": text},
        valueCodeableConcept={"coding": [{"system": c.HDC_PPSPECIAL, "code": overall, "display": overall_display}],
                              "text": overall_display},
        component=components)


SERVICE_REQUEST_STATUS = {  # Task status -> ServiceRequest status
    "requested": "active", "accepted": "active", "in-progress": "active", "on-hold": "on-hold",
    "completed": "completed", "rejected": "revoked", "cancelled": "revoked", "failed": "revoked",
    "entered-in-error": "entered-in-error",
}


def _party(side):
    code = side.get("facility")
    party = _facility(code) if code else {"display": side.get("department") or side.get("district") or "-"}
    return party


def referral_resources(patient_id, referral):
    """A ServiceRequest (what was asked) and a Task (where the loop stands: FHIR status, e-Refer code beside)."""
    rid = referral["referral_id"]
    identifier = [{"system": c.CHILDLINK_REFERRAL, "value": rid}]
    reason = {"coding": [{"system": c.REFERRAL_REASON, "code": referral["reason"]}], "text": referral.get("note")
              or referral["reason"]}
    request = {
        "resourceType": "ServiceRequest", "id": fhir_id("sr", rid), "identifier": identifier,
        "status": SERVICE_REQUEST_STATUS.get(referral["fhir_status"], "unknown"), "intent": "order",
        "code": reason, "reasonCode": [reason], "subject": _ref("Patient", patient_id),
        "authoredOn": referral["created_at"], "requester": _party(referral["from"]),
        "performer": [_party(referral["to"])],
    }
    erefer = referral.get("erefer_code")
    task = {
        "resourceType": "Task", "id": fhir_id("task", rid), "identifier": identifier,
        "basedOn": [_ref("ServiceRequest", request["id"])], "focus": _ref("ServiceRequest", request["id"]),
        "for": _ref("Patient", patient_id),
        "status": referral["fhir_status"], "intent": "order",
        "businessStatus": {"coding": [
            {"system": c.TASK_BUSINESS_STATUS, "code": referral["fhir_business_status"]},
            *([{"system": c.EREFER_STATUS, "code": erefer, "display": c.EREFER_DISPLAY.get(erefer, erefer)}]
              if erefer else [])], "text": referral["status"]},
        "authoredOn": referral["created_at"], "lastModified": referral["updated_at"],
        "requester": _party(referral["from"]), "owner": _party(referral["to"]),
        "restriction": {"period": {"end": referral["due_by"]}},
    }
    outcome = referral.get("outcome")
    if outcome:
        task["output"] = [{"type": {"text": "outcome"}, "valueString": outcome}]
    for field, text in (("reject_reason", "rejected"), ("cancel_reason", "cancelled"), ("error_reason", "error")):
        if referral.get(field):
            task["statusReason"] = {"text": f"{text}: {referral[field]}"}
    return [request, task]


def everything(page):
    """Every resource of a child page: Patient first, then by kind in time order."""
    child_id, profile = page["child_id"], page.get("profile") or {}
    patient_resource = patient(child_id, profile)
    pid = patient_resource["id"]
    resources = [patient_resource]
    for entry in page.get("timeline") or []:
        if (entry.get("department"), entry.get("type"), entry.get("status")) == ("health", "child.immunised", "current"):
            resources.append(immunization(pid, entry))
    for point in (page.get("growth") or {}).get("points", []):
        resources.extend(growth_observations(pid, point))
    for screening in (page.get("dspm") or {}).get("screenings", []):
        resources.append(dspm_observation(pid, screening))
    for referral in page.get("referrals") or []:
        resources.extend(referral_resources(pid, referral))
    return resources


def bundle(resources, bundle_id, now_iso, base_url):
    """A searchset Bundle; `base_url` is the FHIR base (".../fhir") the entries' fullUrls hang off."""
    base = base_url.rstrip("/")
    return {"resourceType": "Bundle", "id": bundle_id, "type": "searchset", "timestamp": now_iso,
            "total": len(resources),
            "entry": [{"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r,
                       "search": {"mode": "match" if r["resourceType"] == "Patient" else "include"}}
                      for r in resources]}
