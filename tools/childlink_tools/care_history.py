"""A child's life at a community child development centre (Social Development) and a kindergarten class
(Education): enrolment, monthly attendance, household risk, school readiness, special educational needs.

Attendance is reported monthly for the last `ATTENDANCE_MONTHS` complete months. Children marked
`stops_attending` fade out over their last three months, the pattern the city wants noticed.
"""

import datetime as dt

from childlink_contracts.education import READINESS_DOMAINS

from .population import primary_school_start
from .timing import DAY, add_months, at, month_starts, weekdays

ATTENDANCE_MONTHS = 6
FADING = (0.6, 0.25, 0.0)  # share of usual attendance in the last three months, oldest first
SCHOOL_BREAKS = {4: None, 10: None, 5: (16, 31), 3: (1, 15)}  # month -> school days open, None: closed
TEACHER_RISK_SHARE = 0.6
SOCIAL_WORKER_SHARE = {True: 0.5, False: 0.08}  # by whether the child lacks a national ID
SPECIAL_NEEDS_SHARE = 0.5
# How a lasting delay shows in class: DSPM pattern -> (special need category, readiness domains hit).
IN_CLASS = {
    "expressive_language": ("speech_language", ("language",)),
    "language": ("speech_language", ("language", "cognitive")),
    "motor": ("physical", ("physical",)),
    "autism": ("autism", ("social", "emotional", "language")),
    "global": ("learning", ("physical", "cognitive", "language", "social")),
}
TEACHER_NOTES = {
    "speech_language": "พูดช้า ใช้คำเดี่ยว สื่อสารกับเพื่อนได้น้อย",
    "autism": "ไม่ค่อยสบตา ชอบเล่นคนเดียว",
    "physical": "ทรงตัวไม่ดี หยิบจับของชิ้นเล็กได้ยาก",
    "learning": "เรียนรู้ช้ากว่าเพื่อนในห้อง",
}


def care_history(child, recorder):
    if child.cdc:
        centre = child.cdc.facility
        recorder.add("social", "child.enrolled", centre, at(child.cdc.start, recorder.rng),
                     {"centre_id": centre.code, "enrolled_on": child.cdc.start.isoformat()})
        if recorder.rng.random() < TEACHER_RISK_SHARE:
            day = child.cdc.start + recorder.rng.randrange(0, 30) * DAY
            _risk(child, recorder, centre, day, "centre_teacher")
        _attendance(child, recorder, "social", child.cdc, school=False)
    if recorder.rng.random() < SOCIAL_WORKER_SHARE[child.national_id is None]:
        today = recorder.now.date()
        first = max(child.birth_date + 90 * DAY, today - 3 * 365 * DAY)
        if first < today:
            day = first + recorder.rng.randrange((today - first).days) * DAY
            _risk(child, recorder, recorder.places.welfare_offices[child.district_code], day, "social_worker")
    if child.school:
        _school(child, recorder)


def _school(child, recorder):
    rng, school = recorder.rng, child.school
    recorder.add("education", "child.enrolled", school.facility, at(school.start, rng), {
        "school_id": school.facility.code, "class_level": school.class_level,
        "enrolled_on": school.start.isoformat(),
    })
    _attendance(child, recorder, "education", school, school=True)
    pattern = child.development.pattern
    category, weak = IN_CLASS.get(pattern, (None, ()))
    if category and rng.random() < SPECIAL_NEEDS_SHARE:
        day = school.start + rng.randrange(30, 180) * DAY
        recorder.add("education", "child.special_needs_flagged", school.facility, at(day, rng),
                     {"category": category, "note": TEACHER_NOTES[category]})
    final_year_end = primary_school_start(child.birth_date)
    assessed_on = dt.date(final_year_end.year, 2, rng.randrange(1, 26))
    if school.start < assessed_on and (school.end is None or assessed_on <= school.end):
        scores = {domain: _score(rng, 40 if domain in weak else 78) for domain in READINESS_DOMAINS}
        recorder.add("education", "child.readiness_assessed", school.facility, at(assessed_on, rng), {
            "scores": scores, "overall": "needs_support" if min(scores.values()) < 50 else "ready",
        })


def _score(rng, mean):
    return max(0, min(100, int(rng.gauss(mean, 10))))


def _attendance(child, recorder, department, enrolment, school):
    rng, today = recorder.rng, recorder.now.date()
    last = min(enrolment.end or today, today.replace(day=1) - DAY)  # complete months only
    first = max(enrolment.start, add_months(today.replace(day=1), -ATTENDANCE_MONTHS))
    periods = []
    for month in month_starts(first, last):
        month_end = add_months(month, 1) - DAY
        start, end = max(month, enrolment.start), min(month_end, last)
        if school and month.month in SCHOOL_BREAKS:
            open_days = SCHOOL_BREAKS[month.month]
            if open_days is None:
                continue
            start, end = max(start, month.replace(day=open_days[0])), min(end, month.replace(day=open_days[1]))
        expected = weekdays(start, end) if start <= end else 0
        if expected:
            periods.append((start, end, expected))
    usual = rng.uniform(0.75, 0.98)
    fading = child.stops_attending and enrolment.end is None
    for number, (start, end, expected) in enumerate(periods):
        share = usual
        from_last = len(periods) - number
        if fading and from_last <= len(FADING):
            share *= FADING[len(FADING) - from_last]
        present = max(0, min(expected, round(expected * share + rng.gauss(0, 1))))
        recorder.add(department, "child.attendance_recorded", enrolment.facility, at(end, rng, 15.0, 16.5), {
            "period_start": start.isoformat(), "period_end": end.isoformat(),
            "days_expected": expected, "days_present": present,
        }, recorded_at=at(end + rng.randrange(1, 6) * DAY, rng))
    if fading and periods:
        child.outcomes["stopped_attending"] = department


def _risk(child, recorder, facility, day, assessor):
    rng = recorder.rng
    no_id = child.national_id is None
    chances = {
        "migrant_status": 1.0 if child.no_id_reason == "migrant" else 0.0,
        "no_birth_registration": 0.8 if child.no_id_reason in ("stateless", "late_registration") else 0.0,
        "poverty": 0.5 if no_id else 0.25,
        "single_carer": 0.3 if child.guardian.relation == "grandparent" else 0.12,
        "housing": 0.08, "carer_illness": 0.05, "substance_use": 0.03, "violence": 0.03, "neglect": 0.03,
    }
    factors = [factor for factor, chance in chances.items() if rng.random() < chance]
    serious = {"violence", "neglect", "substance_use"} & set(factors)
    level = "high" if serious or len(factors) >= 3 else "medium" if factors else "low"
    recorder.add("social", "household.risk_assessed", facility, at(day, rng),
                 {"risk_level": level, "factors": factors, "assessor_role": assessor})
