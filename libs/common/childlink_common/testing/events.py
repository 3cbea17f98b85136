"""Build valid events for tests, with every field overridable."""

import datetime as dt
import uuid

from childlink_contracts.clinical import dspm_band_for

BANGKOK = dt.timezone(dt.timedelta(hours=7))

DEFAULT_PAYLOADS = {
    ("health", "child.registered"): {"birth_weight_g": 3100},
    ("health", "child.growth_measured"): {"weight_kg": 9.6, "height_cm": 75.7},
    ("health", "child.immunised"): {"vaccine": "MMR", "dose": 1},
    ("health", "child.screened"): {"age_band_months": 18, "domains": {
        "gross_motor": "normal", "fine_motor": "normal", "receptive_language": "normal",
        "expressive_language": "normal", "personal_social": "normal"}},
    ("social", "child.enrolled"): {"centre_id": "CDC-1001-01", "enrolled_on": "2025-06-01"},
    ("social", "household.risk_assessed"): {"risk_level": "low", "factors": []},
    ("education", "child.enrolled"): {"school_id": "SCH-1001-01", "class_level": "K1",
                                      "enrolled_on": "2025-05-16"},
    ("medical", "child.diagnosed"): {"icd10": "F80.1"},
}

FACILITIES = {"health": "HC-1001-01", "social": "CDC-1001-01", "education": "SCH-1001-01",
              "medical": "HOSP-01"}


def instant(days_ago, hour=9):
    moment = dt.datetime.now(BANGKOK).replace(hour=hour, minute=0, second=0, microsecond=0)
    return (moment - dt.timedelta(days=days_ago)).isoformat()


def child(local_id="L1", national_id="1234567890121", **overrides):
    subject = {"local_id": local_id, "birth_date": "2024-03-15", "sex": "female",
               "given_name": "สมใจ", "family_name": "ใจดี", "district_code": "1001"}
    if national_id:
        subject["national_id"] = national_id
    subject.update(overrides)
    return subject


def body_subject(subject):
    return subject or child()


def _default_payload(department, type_, subject, occurred):
    """The type's default payload; a screening gets the DSPM band that fits the child's age then."""
    payload = dict(DEFAULT_PAYLOADS[(department, type_)])
    if (department, type_) == ("health", "child.screened"):
        band = dspm_band_for(dt.date.fromisoformat(subject["birth_date"]), dt.datetime.fromisoformat(occurred))
        payload["age_band_months"] = band or payload["age_band_months"]
    return payload


def event(department, type_, *, subject=None, occurred_days_ago=10, payload=None, event_id=None,
          facility=None, **overrides):
    occurred = instant(occurred_days_ago)
    body = {
        "event_id": event_id or str(uuid.uuid4()),
        "type": type_,
        "version": 1,
        "occurred_at": occurred,
        "recorded_at": occurred,
        "source": {"department": department, "system": f"{department}-his",
                   "facility": {"code": facility or FACILITIES[department], "district_code": "1001"}},
        "subject": {"child": body_subject(subject)},
        "payload": payload if payload is not None else _default_payload(department, type_, body_subject(subject),
                                                                         occurred),
    }
    body.update(overrides)
    return body
