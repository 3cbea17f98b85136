"""Events for the insights tests, built by hand so each indicator's branch can be seen."""

import uuid

HEALTH_CENTRE = {"code": "HC01", "district_code": "1001"}


def child_event(type_, occurred_on, payload, *, local_id="A1", birth_date="2024-01-10", national_id=None,
                department="health", facility=HEALTH_CENTRE, district="1001", supersedes=None, event_id=None,
                sex="female"):
    child = {"local_id": local_id, "birth_date": birth_date, "sex": sex, "district_code": district}
    if national_id:
        child["national_id"] = national_id
    event = {
        "event_id": event_id or str(uuid.uuid4()), "type": type_, "version": 1,
        "occurred_at": f"{occurred_on}T03:00:00Z", "recorded_at": f"{occurred_on}T03:00:00Z",
        "source": {"department": department, "system": "test", "facility": facility},
        "subject": {"child": child}, "payload": payload,
    }
    if supersedes:
        event["supersedes"] = supersedes
    return event


def screened(occurred_on, band, results="normal", rescreen=False, **kwargs):
    domains = ("gross_motor", "fine_motor", "receptive_language", "expressive_language", "personal_social")
    if isinstance(results, str):
        results = {domain: results for domain in domains}
    else:
        results = {domain: results.get(domain, "normal") for domain in domains}
    return child_event("child.screened", occurred_on, {"age_band_months": band, "rescreen": rescreen,
                                                        "domains": results}, **kwargs)


def centre_event(type_, occurred_on, payload, centre_id="C01", district="1002"):
    return {
        "event_id": str(uuid.uuid4()), "type": type_, "version": 1,
        "occurred_at": f"{occurred_on}T03:00:00Z", "recorded_at": f"{occurred_on}T03:00:00Z",
        "source": {"department": "social", "system": "test", "facility": {"code": centre_id, "district_code": district}},
        "subject": {"centre": {"centre_id": centre_id, "district_code": district}}, "payload": payload,
    }


def referral_event(status, occurred_on, referral_id="R1", reason="dspm_delay", district="1001", outcome=None):
    return {
        "event_id": str(uuid.uuid4()), "type": f"referral.{status}", "version": 1,
        "occurred_at": f"{occurred_on}T03:00:00Z", "recorded_at": f"{occurred_on}T03:00:00Z",
        "source": {"department": "referral", "system": "childlink-referral",
                   "facility": {"code": "HC01", "district_code": district}},
        "subject": {"child_id": "child-1"},
        "payload": {"referral_id": referral_id, "reason": reason, "status": status, "district": district,
                    "outcome": outcome, "to": {"facility": "H01"}, "from": {"facility": "HC01"}},
    }
