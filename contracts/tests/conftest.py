"""Sample events for the contracts tests: one small, valid payload per registered event type."""

import copy
import uuid

import pytest
from childlink_contracts import lookup, with_check_digit

SAMPLE_PAYLOADS = {
    ("social", "centre.registered", 1): {"name": "Wat Pho community centre", "capacity": 40,
                                         "opened_on": "2015-06-01"},
    ("social", "centre.assessed", 1): {"standard_score": 82, "level": "good"},
    ("social", "centre.assessed", 2): {"standard_score": 82, "level": "good", "areas": {
        "1": {"score": 90, "indicators": {str(n): 90 for n in range(1, 8)}},
        "2": {"score": 80, "indicators": {str(n): 80 for n in range(8, 13)}},
        **{str(area): {"score": 80, "indicators": {str(n): 80 for n in indicators}}
           for area, indicators in ((3, range(13, 18)), (4, range(18, 23)), (5, range(23, 28)), (6, range(28, 32)),
                                    (7, range(32, 36)))}}},
    ("social", "child.enrolled", 1): {"centre_id": "CDC-1001-07", "enrolled_on": "2024-05-16"},
    ("social", "child.attendance_recorded", 1): {"period_start": "2024-06-01", "period_end": "2024-06-30",
                                                 "days_expected": 20, "days_present": 18},
    ("social", "household.risk_assessed", 1): {"risk_level": "medium", "factors": ["poverty", "single_carer"],
                                               "assessor_role": "social_worker"},
    ("social", "consent.recorded", 1): {"decision": "refused", "scope": "share_outside_department",
                                        "note": "mother asked that the centre's records stay at the centre"},
    ("social", "event.retracted", 1): {"reason": "entered against the wrong child"},
    ("education", "child.enrolled", 1): {"school_id": "BMA-SCH-0042", "class_level": "K1",
                                         "enrolled_on": "2024-05-16"},
    ("education", "child.readiness_assessed", 1): {"scores": {"physical": 80, "language": 55},
                                                   "overall": "needs_support"},
    ("education", "child.special_needs_flagged", 1): {"category": "speech_language",
                                                      "note": "few two-word phrases at 3y"},
    ("education", "child.attendance_recorded", 1): {"period_start": "2024-06-01", "period_end": "2024-06-30",
                                                    "days_expected": 21, "days_present": 21},
    ("education", "consent.recorded", 1): {"decision": "granted", "scope": "share_outside_department"},
    ("education", "event.retracted", 1): {"reason": "duplicate entry"},
    ("health", "child.registered", 1): {"birth_weight_g": 3100, "gestational_weeks": 39},
    ("health", "child.growth_measured", 1): {"weight_kg": 12.4, "height_cm": 88.5,
                                             "head_circumference_cm": 48.0, "measured_lying": False},
    ("health", "child.immunised", 1): {"vaccine": "MMR", "dose": 1, "lot_number": "L2024-118"},
    ("health", "child.screened", 1): {
        "age_band_months": 30,
        "domains": {"gross_motor": "normal", "fine_motor": "normal", "receptive_language": "suspected_delay",
                    "expressive_language": "delayed", "personal_social": "normal"},
    },
    ("health", "child.visit_missed", 1): {"visit_kind": "dspm_rescreen", "due_on": "2024-06-01"},
    ("health", "consent.recorded", 1): {"decision": "granted", "scope": "share_outside_department"},
    ("health", "event.retracted", 1): {"reason": "weighed the wrong child"},
    ("medical", "child.assessed", 1): {"tool": "TEDA4I", "result": "delayed",
                                       "domains_delayed": ["expressive_language"]},
    ("medical", "child.diagnosed", 1): {"icd10": "F80.1", "description": "Expressive language disorder"},
    ("medical", "child.therapy_planned", 1): {"therapy": "speech", "sessions": 12, "starts_on": "2024-07-01"},
    ("medical", "referral.outcome_recorded", 1): {"referral_id": "REF-2024-000913", "outcome": "treated",
                                                  "recorded_on": "2024-06-20"},
    ("medical", "consent.recorded", 1): {"decision": "granted", "scope": "share_outside_department"},
    ("medical", "event.retracted", 1): {"reason": "diagnosis recorded on the wrong chart"},
}

FACILITIES = {
    "social": {"code": "CDC-1001-07", "name": "Wat Pho community centre", "district_code": "1001"},
    "education": {"code": "BMA-SCH-0042", "name": "Wat Sraket school", "district_code": "1008"},
    "health": {"code": "PHC-12", "name": "Public Health Centre 12", "district_code": "1008"},
    "medical": {"code": "HOSP-TKS", "name": "Taksin Hospital", "district_code": "1018"},
}

CHILD = {
    "local_id": "HN-000123",
    "national_id": with_check_digit("110170012345"),
    "given_name": "Somchai",
    "family_name": "Jaidee",
    "birth_date": "2021-03-04",
    "sex": "male",
    "district_code": "1008",
    "guardian": {"national_id": with_check_digit("310050012345"), "phone": "0812345678",
                 "relation": "mother", "given_name": "Malee", "family_name": "Jaidee"},
}

CENTRE = {"centre_id": "CDC-1001-07", "name": "Wat Pho community centre", "district_code": "1001"}

def sample_event(key, subject_kind=None):
    """A valid event of the registered type `key`, as its department would send it."""
    department, type_, version = key
    event_type = lookup(*key)
    kind = subject_kind or event_type.subject_kinds[0]
    event = {
        "event_id": str(uuid.uuid4()),
        "type": type_,
        "version": version,
        "occurred_at": "2024-06-15T09:30:00+07:00",
        "recorded_at": "2024-06-15T10:02:11+07:00",
        "source": {"department": department, "system": f"{department}-records", "facility": FACILITIES[department]},
        "subject": {kind: CHILD if kind == "child" else CENTRE},
        "payload": SAMPLE_PAYLOADS[key],
    }
    if type_ == "event.retracted":
        event["supersedes"] = str(uuid.uuid4())
    return copy.deepcopy(event)


@pytest.fixture
def make_event():
    return sample_event


@pytest.fixture
def sample_payloads():
    return copy.deepcopy(SAMPLE_PAYLOADS)
