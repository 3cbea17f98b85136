"""One example event per registered type and version: printed in the AsyncAPI document, and published by
the conformance test exactly as the document shows them (tests/e2e/test_asyncapi_conformance.py).

One child (born 2022-01-10, 30 months old on 2024-07-15, the day of every example) and one centre, so
the examples read as one story and each lands in a timeline. The payloads follow the contracts tests'
samples (contracts/tests/conftest.py), with dates made to fit that age.
"""

import copy
import uuid

from .national_id import with_check_digit
from .registry import EventType

EXAMPLE_NAMESPACE = uuid.UUID("5b0c1a52-7f0e-4c4e-9d8e-3c1f4a2b6e10")
OCCURRED_AT = "2024-07-15T09:30:00+07:00"
RECORDED_AT = "2024-07-15T10:02:11+07:00"

CHILD = {
    "local_id": "HN-000123",
    "national_id": with_check_digit("110170012345"),
    "given_name": "สมชาย",
    "family_name": "ใจดี",
    "birth_date": "2022-01-10",
    "sex": "male",
    "district_code": "1008",
    "guardian": {"national_id": with_check_digit("310050012345"), "phone": "0812345678",
                 "relation": "mother", "given_name": "มาลี", "family_name": "ใจดี"},
}
CENTRE = {"centre_id": "CDC-1001-07", "name": "ศูนย์พัฒนาเด็กก่อนวัยเรียนวัดโพธิ์", "district_code": "1001"}
FACILITIES = {
    "social": {"code": "CDC-1001-07", "name": "ศูนย์พัฒนาเด็กก่อนวัยเรียนวัดโพธิ์", "district_code": "1001"},
    "education": {"code": "BMA-SCH-0042", "name": "โรงเรียนวัดสระเกศ", "district_code": "1008"},
    "health": {"code": "PHC-12", "name": "ศูนย์บริการสาธารณสุข 12", "district_code": "1008"},
    "medical": {"code": "HOSP-TKS", "name": "โรงพยาบาลตากสิน", "district_code": "1018"},
}

PAYLOADS = {
    ("social", "centre.registered", 1): {"name": "ศูนย์พัฒนาเด็กก่อนวัยเรียนวัดโพธิ์", "capacity": 40,
                                         "opened_on": "2015-06-01"},
    ("social", "centre.assessed", 1): {"standard_score": 82, "level": "good"},
    ("social", "centre.assessed", 2): {"standard_score": 82, "level": "good", "areas": {
        str(area): {"score": 82, "indicators": {str(n): 82 for n in indicators}}
        for area, indicators in ((1, range(1, 8)), (2, range(8, 13)), (3, range(13, 18)), (4, range(18, 23)),
                                 (5, range(23, 28)), (6, range(28, 32)), (7, range(32, 36)))}},
    ("social", "child.enrolled", 1): {"centre_id": "CDC-1001-07", "enrolled_on": "2024-05-16"},
    ("social", "child.attendance_recorded", 1): {"period_start": "2024-06-01", "period_end": "2024-06-30",
                                                 "days_expected": 20, "days_present": 18},
    ("social", "household.risk_assessed", 1): {"risk_level": "medium", "factors": ["poverty", "single_carer"],
                                               "assessor_role": "social_worker"},
    ("social", "consent.recorded", 1): {"decision": "granted", "scope": "share_outside_department"},
    ("social", "event.retracted", 1): {"reason": "entered against the wrong child"},
    ("education", "child.enrolled", 1): {"school_id": "BMA-SCH-0042", "class_level": "K1",
                                         "enrolled_on": "2024-05-16"},
    ("education", "child.readiness_assessed", 1): {"scores": {"physical": 80, "language": 55},
                                                   "overall": "needs_support"},
    ("education", "child.special_needs_flagged", 1): {"category": "speech_language",
                                                      "note": "few two-word phrases"},
    ("education", "child.attendance_recorded", 1): {"period_start": "2024-06-01", "period_end": "2024-06-30",
                                                    "days_expected": 21, "days_present": 21},
    ("education", "consent.recorded", 1): {"decision": "granted", "scope": "share_outside_department"},
    ("education", "event.retracted", 1): {"reason": "duplicate entry"},
    ("health", "child.registered", 1): {"birth_weight_g": 3100, "gestational_weeks": 39},
    ("health", "child.growth_measured", 1): {"weight_kg": 13.1, "height_cm": 91.5,
                                             "head_circumference_cm": 48.5, "measured_lying": False},
    ("health", "child.immunised", 1): {"vaccine": "MMR", "dose": 2, "lot_number": "L2024-118"},
    ("health", "child.screened", 1): {
        "age_band_months": 30,
        "rescreen": False,
        "domains": {"gross_motor": "normal", "fine_motor": "normal", "receptive_language": "normal",
                    "expressive_language": "suspected_delay", "personal_social": "normal"},
    },
    ("health", "child.visit_missed", 1): {"visit_kind": "growth", "due_on": "2024-07-01"},
    ("health", "consent.recorded", 1): {"decision": "granted", "scope": "share_outside_department"},
    ("health", "event.retracted", 1): {"reason": "weighed the wrong child"},
    ("medical", "child.assessed", 1): {"tool": "TEDA4I", "result": "delayed",
                                       "domains_delayed": ["expressive_language"]},
    ("medical", "child.diagnosed", 1): {"icd10": "F80.1", "description": "Expressive language disorder"},
    ("medical", "child.therapy_planned", 1): {"therapy": "speech", "sessions": 12, "starts_on": "2024-07-22"},
    ("medical", "referral.outcome_recorded", 1): {"referral_id": "REF-2024-000913", "outcome": "treated",
                                                  "recorded_on": "2024-07-15"},
    ("medical", "consent.recorded", 1): {"decision": "granted", "scope": "share_outside_department"},
    ("medical", "event.retracted", 1): {"reason": "diagnosis recorded on the wrong chart"},
}


def example_event_id(event_type: EventType, what="example"):
    """A fixed UUID per type and version, so the generated document stays the same from run to run."""
    return str(uuid.uuid5(EXAMPLE_NAMESPACE, f"{event_type.department}.{event_type.type}.v{event_type.version}"
                                             f"/{what}"))


def example_event(event_type: EventType):
    """The example event of `event_type`, as its department's service accepts it and publishes it."""
    kind = event_type.subject_kinds[0]
    event_id = example_event_id(event_type)
    event = {
        "event_id": event_id,
        "type": event_type.type,
        "version": event_type.version,
        "occurred_at": OCCURRED_AT,
        "recorded_at": RECORDED_AT,
        "source": {"department": event_type.department, "system": f"{event_type.department}-records",
                   "facility": FACILITIES[event_type.department]},
        "subject": {kind: CHILD if kind == "child" else CENTRE},
        "correlation_id": event_id,
        "payload": PAYLOADS[event_type.key],
    }
    if event_type.type == "event.retracted":  # retracts an event of its own department's, not shown here
        event["supersedes"] = example_event_id(event_type, "retracted")
    return copy.deepcopy(event)
