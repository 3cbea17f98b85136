"""`make run`'s demo children: a few crafted records that put a referral in every demo user's inbox.

    python -m childlink_tools.demo            # send them to the running ingest APIs (127.0.0.1:8101-8104)
    python -m childlink_tools.demo --print    # write the events as JSON Lines instead

The simulator's children are random: with 20 of them the hospital, the centre or the school may get no
referral at all. These five children are set up so the referral rules raise one for each receiving demo
user of `childlink_gateway.seed` (all in Phra Nakhon, district 1001, and its hospital, Klang, HOSP-1008):

- a DSPM screening with a delayed domain at HC-1001-01 -> Klang hospital (hosp.anan), from hc.somsri;
- a weight-for-age below -2 at HC-1001-01 -> that health centre's nutrition clinic (hc.somsri);
- a hospital diagnosis F80.1 of a child enrolled at CDC-1001-001 -> the centre (cdc.malee);
- a hospital diagnosis F84.0 of a child in kindergarten at SCH-1001-01 -> the school (school.pim);
- a high household risk in district 1001 -> the district's social workers (sw.kanya).

Event ids are derived from each event's content, so sending again the same day answers `duplicate`.
"""

import argparse
import datetime as dt
import json
import sys
import uuid

from childlink_contracts import with_check_digit

from .client import IngestClient, IngestError
from .departments import SYSTEMS, default_api_key, default_url
from .timing import BANGKOK

NAMESPACE = uuid.UUID("6f1c9a52-3a4e-4f0e-9d0b-6b8c2f7e1d01")
DISTRICT = "1001"
DOMAINS = ("gross_motor", "fine_motor", "receptive_language", "expressive_language", "personal_social")


def _months_before(day, months, extra_days=0):
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return dt.date(year, month + 1, min(day.day, 28)) - dt.timedelta(days=extra_days)


def _child(n, given, family, sex, birth_date, local_id):
    return {"local_id": local_id, "national_id": with_check_digit(f"110170099{n:03d}"), "given_name": given,
            "family_name": family, "sex": sex, "birth_date": birth_date.isoformat(), "district_code": DISTRICT,
            "guardian": {"relation": "mother", "given_name": "แม่" + given, "family_name": family,
                         "phone": f"08100000{n:02d}"}}


def _event(department, type_, facility, subject, when, payload):
    at = when.isoformat()
    body = {"type": type_, "version": 1, "occurred_at": at, "recorded_at": at,
            "source": {"department": department, "system": SYSTEMS[department],
                       "facility": {"code": facility, "district_code": DISTRICT}},
            "subject": {"child": subject}, "payload": payload}
    body["event_id"] = str(uuid.uuid5(NAMESPACE, json.dumps(body, sort_keys=True, ensure_ascii=False)))
    return department, body


def demo_events(today=None):
    """[(department, event)] in the order to send them; dates relative to `today` (Bangkok)."""
    today = today or dt.datetime.now(BANGKOK).date()

    def at(days_ago, hour=9):
        day = today - dt.timedelta(days=days_ago)
        return dt.datetime(day.year, day.month, day.day, hour, 0, tzinfo=BANGKOK)

    events = []
    # 1. delayed at the 30-month DSPM screening (screened 10 days ago, at 30 months and a week)
    screened = at(10)
    a = _child(1, "ปิยะพงษ์", "ศรีสุข", "male", _months_before(screened.date(), 30, 7), "HN-DEMO-0001")
    events += [_event("health", "child.registered", "HC-1001-01", a, at(900), {"birth_weight_g": 3050}),
               _event("health", "child.screened", "HC-1001-01", a, screened, {
                   "age_band_months": 30, "domains": {d: "normal" for d in DOMAINS} | {
                       "expressive_language": "delayed"}})]
    # 2. underweight: 9.5 kg at 86 cm for a girl of 2 1/2 (WHO weight-for-age z about -2.5)
    b = _child(2, "กมลชนก", "ใจงาม", "female", _months_before(today, 30, 20), "HN-DEMO-0002")
    events += [_event("health", "child.registered", "HC-1001-01", b, at(900), {"birth_weight_g": 2600}),
               _event("health", "child.growth_measured", "HC-1001-01", b, at(5), {
                   "weight_kg": 9.5, "height_cm": 86.0})]
    # 3. enrolled at a child development centre, then diagnosed at Klang hospital
    c = _child(3, "ธนากร", "มั่นคง", "male", _months_before(today, 40, 3), "CDC-DEMO-0003")
    events += [_event("social", "child.enrolled", "CDC-1001-001", c, at(200), {
                   "centre_id": "CDC-1001-001", "enrolled_on": (today - dt.timedelta(days=200)).isoformat()}),
               _event("medical", "child.diagnosed", "HOSP-1008", c, at(12), {
                   "icd10": "F80.1", "description": "Expressive language disorder"})]
    # 4. in kindergarten (K2), then diagnosed at Klang hospital
    d = _child(4, "ณัฐธิดา", "พรหมมา", "female", _months_before(today, 58, 11), "SCH-DEMO-0004")
    events += [_event("education", "child.enrolled", "SCH-1001-01", d, at(180), {
                   "school_id": "SCH-1001-01", "class_level": "K2",
                   "enrolled_on": (today - dt.timedelta(days=180)).isoformat()}),
               _event("medical", "child.diagnosed", "HOSP-1008", d, at(8), {
                   "icd10": "F84.0", "description": "Childhood autism"})]
    # 5. a household found at high risk by the district's social worker
    e = _child(5, "สุภาวดี", "แก้วดี", "female", _months_before(today, 22, 2), "DSW-DEMO-0005")
    events += [_event("social", "household.risk_assessed", f"DSW-{DISTRICT}", e, at(6), {
        "risk_level": "high", "factors": ["poverty", "single_carer"], "assessor_role": "social_worker"})]
    return events


def send(events, timeout=10.0):
    """Send each department's events as one batch; {department: 'n accepted, m duplicate'}."""
    by_department = {}
    for department, event in events:
        by_department.setdefault(department, []).append(event)
    results = {}
    for department, batch in by_department.items():
        with IngestClient(default_url(department), default_api_key(department), timeout=timeout) as client:
            answer = client.send(batch)
        statuses = [entry.get("status") for entry in answer.get("accepted", [])]
        results[department] = f"{statuses.count('accepted')} accepted, {statuses.count('duplicate')} duplicate"
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(prog="childlink-demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--print", action="store_true", help="write the events as JSON Lines; send nothing")
    args = parser.parse_args(argv)
    events = demo_events()
    if args.print:
        for department, event in events:
            print(json.dumps({"department": department, "event": event}, ensure_ascii=False))
        return 0
    try:
        results = send(events)
    except IngestError as exc:
        print(f"childlink-demo: {exc}", file=sys.stderr)
        return 2
    print("demo children (a referral for every demo user's inbox): "
          + "; ".join(f"{d} {r}" for d, r in results.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
