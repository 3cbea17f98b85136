"""What the pages show, worked out from the referral service's answers: plain data, no web, no nameko.

The referral service owns the data and its shapes; the normalisers here accept the documented shapes
(docs/referral-interface.md) and a few close variants, and never fail a page over a missing field.
"""

import re
from dataclasses import dataclass, field
from urllib.parse import urlencode

from childlink_contracts.health import DSPM_DOMAINS, DSPM_RESULTS
from childlink_contracts.medical import OUTCOMES

from .dates import parse

# As docs/referral-interface.md lists them.
STATUSES = ("requested", "accepted", "rejected", "scheduled", "in_progress", "completed", "cancelled", "expired",
            "entered_in_error")
OPEN_STATUSES = ("requested", "accepted", "scheduled", "in_progress")
REASONS = ("dspm_delayed", "dspm_suspected_delay", "dspm_rescreen_not_normal", "dspm_trace_rescreen",
           "dspm_rescreen_overdue",
           "nutrition_follow_up", "household_support", "immunisation_overdue", "special_needs", "social_follow_up")
DEPARTMENTS = ("health", "medical", "social", "education")
ACCESS_REASONS = ("care", "referral_follow_up", "audit")
PAGE_SIZE = 25
FACILITY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
DISTRICT_RE = re.compile(r"^\d{4}$")
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")


def valid_id(value):
    return bool(value) and bool(ID_RE.match(value))


@dataclass
class InboxQuery:
    status: str = "open"  # "open", "all" or one status
    reason: str = ""
    facility: str = ""
    district: str = ""
    department: str = ""
    overdue: bool = False
    page: int = 1
    ignored: list = field(default_factory=list)  # fields given but not valid, named for the page

    def filters(self):
        """The `filters` argument of list_referrals."""
        found = {}
        if self.status == "open":
            found["status"] = list(OPEN_STATUSES)
        elif self.status in STATUSES:
            found["status"] = [self.status]
        for name in ("reason", "facility", "district", "department"):
            if getattr(self, name):
                found[name] = getattr(self, name)
        if self.overdue:
            found["overdue"] = True
        return found

    def query_string(self, page=None):
        parts = [("status", self.status)]
        parts += [(n, getattr(self, n)) for n in ("reason", "facility", "district", "department") if getattr(self, n)]
        if self.overdue:
            parts.append(("overdue", "1"))
        parts.append(("page", str(page or self.page)))
        return urlencode(parts)


def inbox_query(args):
    """An InboxQuery from the query string; what is not valid is dropped and named, never passed on."""
    query = InboxQuery()
    status = args.get("status", "open")
    if status in ("open", "all", *STATUSES):
        query.status = status
    else:
        query.ignored.append("status")
    reason = args.get("reason", "").strip()
    if reason:
        if re.match(r"^[a-z0-9_]{1,40}$", reason):
            query.reason = reason
        else:
            query.ignored.append("reason")
    facility = args.get("facility", "").strip()
    if facility:
        if FACILITY_RE.match(facility):
            query.facility = facility
        else:
            query.ignored.append("facility")
    district = args.get("district", "").strip()
    if district:
        if DISTRICT_RE.match(district):
            query.district = district
        else:
            query.ignored.append("district")
    department = args.get("department", "").strip()
    if department:
        if department in DEPARTMENTS:
            query.department = department
        else:
            query.ignored.append("department")
    query.overdue = args.get("overdue") in ("1", "on", "true")
    try:
        query.page = min(max(int(args.get("page", "1")), 1), 10_000)
    except ValueError:
        query.ignored.append("page")
    return query


def page_count(total, page_size=PAGE_SIZE):
    return max((int(total or 0) + page_size - 1) // page_size, 1)


# --- the child page ---------------------------------------------------------------------------------

RESULT_RANK = {result: n for n, result in enumerate(DSPM_RESULTS)}


@dataclass
class DspmGrid:
    columns: list  # [{"when", "age_band_months", "rescreen"}]
    rows: list  # [(domain, [result or None per column])]

    def __bool__(self):
        return bool(self.columns)


def dspm_grid(dspm):
    """Domains down, screenings across, from either shape:
    a list of screenings [{"occurred_at", "age_band_months", "rescreen", "domains": {domain: result}}], or
    per domain {"domains": {domain: [{"occurred_at", "age_band_months", "result"}]}} / {domain: [...]}."""
    screenings = {}
    if isinstance(dspm, dict) and isinstance(dspm.get("screenings"), list):
        dspm = dspm["screenings"]
    if isinstance(dspm, list):
        for item in dspm:
            if isinstance(item, dict) and isinstance(item.get("domains"), dict):
                key = (str(item.get("occurred_at") or item.get("date") or ""), item.get("age_band_months"))
                column = screenings.setdefault(key, {"when": key[0], "age_band_months": key[1],
                                                     "rescreen": bool(item.get("rescreen")), "results": {}})
                column["results"].update(item["domains"])
    elif isinstance(dspm, dict):
        per_domain = dspm.get("domains") if isinstance(dspm.get("domains"), dict) else dspm
        for domain, results in per_domain.items():
            for item in results if isinstance(results, list) else []:
                if not isinstance(item, dict):
                    continue
                key = (str(item.get("occurred_at") or item.get("date") or ""), item.get("age_band_months"))
                column = screenings.setdefault(key, {"when": key[0], "age_band_months": key[1],
                                                     "rescreen": bool(item.get("rescreen")), "results": {}})
                column["results"][domain] = item.get("result")
    columns = sorted(screenings.values(), key=lambda c: (c["when"], c["age_band_months"] or 0))
    domains = list(DSPM_DOMAINS) + sorted({d for c in columns for d in c["results"]} - set(DSPM_DOMAINS))
    rows = [(domain, [c["results"].get(domain) for c in columns]) for domain in domains]
    return DspmGrid([{k: v for k, v in c.items() if k != "results"} for c in columns], rows)


@dataclass
class Dose:
    vaccine: str
    dose: object
    due: object  # a date, or an age in months
    given_on: object
    status: str  # given, overdue, due, upcoming


def immunisation_rows(immunisations):
    """Rows of the schedule against what was given. Accepts a list of doses
    [{"vaccine", "dose", "due_on" | "due_age_months", "given_on" | "given_at", "status"}] or
    {"schedule": [...doses...], "given": [...], "overdue": [...]}."""
    doses = []
    overdue_keys = set()
    if isinstance(immunisations, dict):
        schedule = immunisations.get("schedule") or immunisations.get("doses") or []
        given = {(g.get("vaccine"), g.get("dose")): g for g in immunisations.get("given") or []
                 if isinstance(g, dict)}
        overdue_keys = {(o.get("vaccine"), o.get("dose")) for o in immunisations.get("overdue") or []
                        if isinstance(o, dict)}
        items = []
        for item in schedule if isinstance(schedule, list) else []:
            if isinstance(item, dict):
                match = given.pop((item.get("vaccine"), item.get("dose")), None)
                items.append({**item, **({"given_on": _given_on(match)} if match else {})})
        items += list(given.values())  # given outside the schedule: still shown
    else:
        items = immunisations if isinstance(immunisations, list) else []
    for item in items:
        if not isinstance(item, dict):
            continue
        key = (item.get("vaccine"), item.get("dose"))
        given_on = _given_on(item)
        status = item.get("status") or ("given" if given_on else "overdue" if key in overdue_keys or
                                        item.get("overdue") else "upcoming")
        due = item.get("due_on") or item.get("due_by") or item.get("due")
        if due is None and item.get("due_age_months") is not None:
            due = {"months": item["due_age_months"]}
        doses.append(Dose(str(item.get("vaccine") or "?"), item.get("dose"), due, given_on, status))
    return doses


def _given_on(item):
    return item.get("given_on") or item.get("given_at") or item.get("occurred_at")


def timeline_summary(entry):
    """The few payload facts worth a line on the timeline, as (label key, value) pairs; no names."""
    payload = entry.get("payload") or {}
    kind = entry.get("type", "")
    facts = []
    if kind == "child.growth_measured":
        for key in ("weight_kg", "height_cm", "head_circumference_cm"):
            if payload.get(key) is not None:
                facts.append((f"fact.{key}", payload[key]))
    elif kind == "child.screened":
        facts.append(("fact.age_band_months", payload.get("age_band_months")))
        worst = max((RESULT_RANK.get(r, 0) for r in (payload.get("domains") or {}).values()), default=0)
        facts.append(("fact.dspm_worst", ("result", DSPM_RESULTS[worst])))
    elif kind == "child.immunised":
        facts.append(("fact.vaccine", ("dose", (payload.get("vaccine"), payload.get("dose")))))
    elif kind == "child.diagnosed":
        facts.append(("fact.icd10", payload.get("icd10")))
    elif kind == "child.assessed":
        facts.append(("fact.tool", payload.get("tool")))
        facts.append(("fact.result", ("result", payload.get("result"))))
    elif kind == "child.therapy_planned":
        facts.append(("fact.therapy", ("therapy", payload.get("therapy"))))
        facts.append(("fact.sessions", payload.get("sessions")))
    elif kind == "referral.outcome_recorded":
        facts.append(("fact.outcome", ("outcome", payload.get("outcome"))))
    elif kind == "child.visit_missed":
        facts.append(("fact.visit_kind", ("visit", payload.get("visit_kind"))))
        facts.append(("fact.due_on", ("date", payload.get("due_on"))))
    elif kind == "child.enrolled":
        facts.append(("fact.class_level", payload.get("class_level") or payload.get("centre_id")))
    elif kind.startswith("referral.") and kind != "referral.outcome_recorded":
        facts.append(("fact.reason", ("reason", payload.get("reason"))))
        if payload.get("outcome"):
            facts.append(("fact.outcome", ("outcome", payload.get("outcome"))))
    elif kind == "consent.recorded":
        facts.append(("fact.decision", ("consent", payload.get("decision"))))
    elif kind == "household.risk_assessed":
        facts.append(("fact.risk_level", ("risk", payload.get("risk_level"))))
    elif kind == "child.readiness_assessed":
        facts.append(("fact.result", payload.get("result") or payload.get("level")))
    return [(label, value) for label, value in facts if value not in (None, "", ("result", None))]


def mask_national_id(national_id):
    """'1-2345-67890-12-1' shown as 'x-xxxx-xxxxx-12-1': enough to confirm, not enough to copy."""
    digits = re.sub(r"\D", "", str(national_id or ""))
    if len(digits) != 13:
        return ""
    return f"x-xxxx-xxxxx-{digits[10:12]}-{digits[12]}"


def newest_first(entries):
    return sorted(entries, key=lambda e: str(e.get("occurred_at_utc") or e.get("occurred_at") or ""),
                  reverse=True)


def is_date(value):
    return parse(value) is not None


OUTCOME_CHOICES = OUTCOMES


# --- identity reviews (registrar) -------------------------------------------------------------------

REVIEW_STATUSES = ("open", "linked", "kept_apart")  # as the referral service's review queue names them
REVIEW_FILTERS = (*REVIEW_STATUSES, "all")
# The matcher's compared fields, in its order (childlink_referral.matching.scoring.FIELDS).
COMPARED_FIELDS = ("given_name", "family_name", "birth_date", "sex", "national_id", "guardian_national_id",
                   "guardian_phone", "district")
MERGE_STATUSES = ("active", "undone")


@dataclass
class ReviewQuery:
    status: str = "open"  # one of REVIEW_FILTERS
    page: int = 1
    ignored: list = field(default_factory=list)

    def status_filter(self):
        """The `status` argument of list_identity_reviews: None for every status."""
        return None if self.status == "all" else self.status

    def query_string(self, page=None):
        return urlencode([("status", self.status), ("page", str(page or self.page))])


def review_query(args):
    query = ReviewQuery()
    status = args.get("status", "open")
    if status in REVIEW_FILTERS:
        query.status = status
    else:
        query.ignored.append("status")
    try:
        query.page = min(max(int(args.get("page", "1")), 1), 10_000)
    except ValueError:
        query.ignored.append("page")
    return query


def _number(value):
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def comparison_rows(outcome):
    """The field-by-field comparison of a review's outcome as rows {field, level, weight, agreement}:
    `agreement` is "agree" (the field speaks for one child), "disagree" (against) or "neutral" (missing on
    a side, or no weight). Unknown shapes give no rows rather than a broken page."""
    rows = []
    comparison = (outcome or {}).get("comparison") if isinstance(outcome, dict) else None
    for item in comparison if isinstance(comparison, list) else []:
        if not isinstance(item, dict) or not item.get("field"):
            continue
        weight = _number(item.get("weight"))
        agreement = "neutral" if weight is None or weight == 0 else "agree" if weight > 0 else "disagree"
        rows.append({"field": str(item["field"]), "level": item.get("level"), "weight": weight,
                     "agreement": agreement})
    return rows


def reason_text(t, reason):
    """A matcher's reason (a code and its parameters, childlink_referral.matching.decision.reason) in the
    viewer's language: `identity.why.<code>`, a level worded by `idlevel.*`, numbers signed in bits. A
    reason stored as text before reasons were coded is shown as it is; an unknown code as the code."""
    if isinstance(reason, str):
        return reason
    if not isinstance(reason, dict) or not isinstance(reason.get("code"), str):
        return ""
    key = f"identity.why.{reason['code']}"
    if not t.has(key):
        return reason["code"]
    params = {}
    for name, value in reason.items():
        if name == "level":
            params[name] = t.maybe("idlevel", value)
        elif name == "field":
            params[name] = t.maybe("idfield", value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            params[name] = weight_text(value)
    try:
        return t(key, **params)
    except (KeyError, IndexError):  # a parameter the message names is missing: the words without it
        return t(key)


def weight_text(value):
    """A weight or score in bits, signed: '+4.2', '−1.0'; '' when there is none."""
    number = _number(value)
    if number is None:
        return ""
    if round(number, 1) == 0:
        return "0"
    return f"{number:+.1f}".replace("-", "−")


def probability_text(value):
    """A match probability as a percentage, never rounded to a certainty it is not: '<0.1%', '>99.9%'."""
    number = _number(value)
    if number is None:
        return ""
    if number >= 1:
        return "100%"
    if number > 0.999:
        return ">99.9%"
    if number <= 0:
        return "0%"
    if number < 0.001:
        return "<0.1%"
    return f"{number * 100:.1f}%"


def format_national_id(value):
    """'1234567890121' as '1-2345-67890-12-1'; anything else as it came."""
    digits = re.sub(r"\D", "", str(value or ""))
    if len(digits) != 13:
        return str(value or "")
    return f"{digits[0]}-{digits[1:5]}-{digits[5:10]}-{digits[10:12]}-{digits[12]}"


def identity_records(side):
    """A side of a review (child or candidate) as one flat row per department record: the fields a
    registrar compares, from `subject` as the department sent it (guardian nested or flattened)."""
    rows = []
    records = (side or {}).get("records") if isinstance(side, dict) else None
    for record in records if isinstance(records, list) else []:
        if not isinstance(record, dict):
            continue
        subject = record.get("subject") if isinstance(record.get("subject"), dict) else {}
        guardian = subject.get("guardian") if isinstance(subject.get("guardian"), dict) else {}
        key = str(record.get("record_key") or "")
        department = record.get("department") or (key.split(":")[1] if key.count(":") >= 2 else None)
        rows.append({
            "record_key": key, "department": department,
            "given_name": subject.get("given_name"), "family_name": subject.get("family_name"),
            "birth_date": subject.get("birth_date"), "sex": subject.get("sex"),
            "district_code": subject.get("district_code"),
            "national_id": format_national_id(subject.get("national_id")) if subject.get("national_id") else "",
            "guardian_phone": guardian.get("phone") or subject.get("guardian_phone"),
            "guardian_national_id": format_national_id(guardian.get("national_id") or
                                                       subject.get("guardian_national_id")),
            "guardian_relation": guardian.get("relation"),
        })
    return rows
