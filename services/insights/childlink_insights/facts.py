"""A subject's facts: the counts it adds to each cell (scope, scope id, month, counter).

Derived again from the subject's standing events after every event it receives; the aggregator adds the
difference from its previous facts to the cells, so a cell is always the sum of its subjects' facts.
The definitions follow the Ministry of Public Health's HDC (docs/indicators.md names each source).

Scopes: `city` (BKK), `district` (its code), `facility` (a health centre or hospital code: where the child
is followed, the receiving side of a referral), `centre` (a child development centre id).
"""

import datetime as dt

from .calendar import SNAPSHOT, add_months, month_of
from .overdue import index_month, overdue_spans
from .subjects import effective_events

CITY = ("city", "BKK")
DSPM_AGES = (9, 18, 30, 42, 60)
FOLLOW_UP_DAYS = 30  # screened within 30 days of reaching the age; re-screened within 30 days (HDC)
# "Fully immunised at age 1" (HDC): BCG, HBV1, IPV, DTP-HB-Hib 3, OPV 3, MMR 1 by the first birthday.
FULL_AT_1 = {"BCG": 1, "HBV": 1, "IPV": 1, "DTwP-HB-Hib": 3, "OPV": 3, "MMR": 1}
# ... and at age 2 the boosters of 18 months (DTP 4, OPV 4, MMR 2) and LAJE 1 of 12 months besides.
FULL_AT_2 = {**FULL_AT_1, "DTP": 4, "OPV": 4, "MMR": 2, "JE": 1}
VACCINE_FAMILY = {"DTwP": "DTP", "DTwP-HB-Hib": "DTwP-HB-Hib", "LAJE": "JE"}
GROWTH_CUTS = (("z_wfa", "underweight", -1), ("z_lhfa", "stunting", -1), ("z_wflh", "wasting", -1),
               ("z_wflh", "overweight", +1))
GOOD_LEVELS = ("good", "excellent")
MAX_CLOSE_DAYS = 365


def _day(text):
    return dt.date.fromisoformat(text)


class Facts:
    def __init__(self):
        self.cells = {}

    def add(self, scopes, month, counter, value=1):
        for scope in scopes:
            if scope[1]:
                key = (scope[0], scope[1], month, counter)
                self.cells[key] = self.cells.get(key, 0) + value


def facts_of(state, zscores):
    facts = Facts()
    kind = state["kind"]
    if kind == "child":
        _child_facts(state, facts, zscores)
    elif kind == "centre":
        _centre_facts(state, facts)
    elif kind == "referral":
        _referral_facts(state, facts)
    return {key: value for key, value in facts.cells.items() if value}


# --- children -----------------------------------------------------------------------------------

def _child_facts(state, facts, zscores):
    if not state.get("birth_date"):
        return
    birth = _day(state["birth_date"])
    events = effective_events(state)
    health = [e for e in events if e["department"] == "health"]
    district = state.get("district_code") or next((e["district"] for e in reversed(events)), None)
    home = health[-1]["facility"] if health else None
    scopes = [CITY, ("district", district), ("facility", home)]
    facts.add(scopes, month_of(birth), "children.born")
    if home:
        facts.add([("district", district)], SNAPSHOT, f"member.facility.{home}")
    outcomes = _dspm_facts(birth, events, facts, scopes)
    _immunisation_facts(birth, health, facts, scopes)
    _overdue_facts(birth, health, facts, scopes)
    _growth_facts(state, birth, health, facts, scopes, zscores)
    _centre_child_facts(events, outcomes, facts)


def _dspm_facts(birth, events, facts, scopes):
    """Per key age: the child's cohort month (when it reached the age) and what happened then.
    Returns {age: on_track or None (screened, not on track) } for the ages it was screened at."""
    screens = [e for e in events if e["type"] == "child.screened"]
    stimulated = [e for e in events if (e["type"] == "child.assessed" and e["p"].get("tool") == "TEDA4I")
                  or (e["type"] == "child.therapy_planned" and e["p"].get("therapy") == "teda4i_stimulation")]
    outcomes = {}
    for age in DSPM_AGES:
        reached = add_months(birth, age)
        month = month_of(reached)
        prefix = f"dspm.{age}."
        facts.add(scopes, month, prefix + "target")
        band = [e for e in screens if e["p"].get("age_band_months") == age]
        first = next((e for e in band if not e["p"].get("rescreen")), None)
        if first is None:
            continue
        first_day = _day(first["date"])
        results = set((first["p"].get("domains") or {}).values())
        suspected = results != {"normal"}
        facts.add(scopes, month, prefix + "screened")
        if 0 <= (first_day - reached).days <= FOLLOW_UP_DAYS:
            facts.add(scopes, month, prefix + "screened_in_time")
        on_track = not suspected
        if on_track:
            facts.add(scopes, month, prefix + "normal_first")
        else:
            facts.add(scopes, month, prefix + "suspected")
            if "delayed" in results:
                facts.add(scopes, month, prefix + "refer_now")
            else:
                facts.add(scopes, month, prefix + "stimulate")
            rescreen = next((e for e in band if e["p"].get("rescreen") and e["date"] >= first["date"]), None)
            if rescreen is not None and (_day(rescreen["date"]) - first_day).days <= FOLLOW_UP_DAYS:
                facts.add(scopes, month, prefix + "followed_in_time")
                if set((rescreen["p"].get("domains") or {}).values()) == {"normal"}:
                    on_track = True
                    facts.add(scopes, month, prefix + "normal_after_stimulation")
            if not on_track:
                facts.add(scopes, month, prefix + "delayed")
                if any(e["date"] >= first["date"] for e in stimulated):
                    facts.add(scopes, month, prefix + "teda4i")
        if on_track:
            facts.add(scopes, month, prefix + "on_track")
        outcomes[age] = on_track
    return outcomes


def _doses_by(health, until):
    given = {}
    for event in health:
        if event["type"] != "child.immunised" or _day(event["date"]) > until:
            continue
        vaccine = event["p"].get("vaccine")
        family = VACCINE_FAMILY.get(vaccine, vaccine)
        dose = event["p"].get("dose") or 0
        given[family] = max(given.get(family, 0), dose)
        if vaccine == "DTwP-HB-Hib" and dose >= 4:  # a booster recorded under the combined vaccine
            given["DTP"] = max(given.get("DTP", 0), dose)
    return given


def _immunisation_facts(birth, health, facts, scopes):
    for years, needed in ((1, FULL_AT_1), (2, FULL_AT_2)):
        birthday = add_months(birth, 12 * years)
        month = month_of(birthday)
        facts.add(scopes, month, f"epi.age{years}.target")
        given = _doses_by(health, birthday)
        if all(given.get(vaccine, 0) >= dose for vaccine, dose in needed.items()):
            facts.add(scopes, month, f"epi.age{years}.full")


def _overdue_facts(birth, health, facts, scopes):
    """+1 in the first month of each span with a dose overdue at the month's end, -1 in the month after it:
    the indicator sums the changes up to its month (childlink_insights.overdue)."""
    for first, last in overdue_spans(birth, health):
        facts.add(scopes, index_month(first), "epi.overdue.change")
        facts.add(scopes, index_month(last + 1), "epi.overdue.change", -1)


def _growth_facts(state, birth, health, facts, scopes, zscores):
    latest_in_month = {}
    for event in health:
        if event["type"] == "child.growth_measured":
            latest_in_month[event["date"][:7]] = event  # events come oldest first: the month's last wins
    for month, event in latest_in_month.items():
        age_days = (_day(event["date"]) - birth).days
        facts.add(scopes, month, "growth.measured")
        z, implausible = _zscores_of(event, state.get("sex"), age_days, zscores)
        for key, name, side in GROWTH_CUTS:
            value = z.get(key)
            if value is None or implausible.get(key):
                continue
            if name != "overweight":
                facts.add(scopes, month, f"growth.{key}.known")
            if side < 0 and value < -2:
                facts.add(scopes, month, f"growth.{name}")
                if value < -3:
                    facts.add(scopes, month, f"growth.{name}_severe")
            elif side > 0 and value > 2:
                facts.add(scopes, month, f"growth.{name}")


def _zscores_of(event, sex, age_days, zscores):
    """A measurement's z-scores, kept on the kept event for the sex and age they were computed at: facts are
    derived again after every event of the child, and z-scores cost more than all the rest of it."""
    basis = [sex, age_days]
    if event.get("z_basis") != basis:
        p = event["p"]
        event["z"], event["z_flags"] = zscores(sex, age_days, p.get("weight_kg"), p.get("height_cm"),
                                               p.get("measured_lying"))
        event["z_basis"] = basis
    return event["z"], event["z_flags"]


def _centre_child_facts(events, outcomes, facts):
    """Children in a community centre (their latest social enrolment) and how they develop."""
    enrolments = [e for e in events if e["type"] == "child.enrolled" and e["department"] == "social"]
    if not enrolments:
        return
    latest = enrolments[-1]
    centre = latest["p"].get("centre_id")
    scopes = [CITY, ("district", latest["district"]), ("centre", centre)]
    facts.add(scopes, SNAPSHOT, "centre.children")
    if outcomes:
        facts.add(scopes, SNAPSHOT, "centre.children_screened")
        if outcomes[max(outcomes)]:  # the latest key age screened
            facts.add(scopes, SNAPSHOT, "centre.children_on_track")
    for event in events:
        if event["type"] == "child.attendance_recorded" and event["department"] == "social":
            month = str(event["p"].get("period_start", event["date"]))[:7]
            att_scopes = [CITY, ("district", event["district"]), ("centre", centre)]
            facts.add(att_scopes, month, "attendance.expected", event["p"].get("days_expected") or 0)
            facts.add(att_scopes, month, "attendance.present", event["p"].get("days_present") or 0)


# --- centres ------------------------------------------------------------------------------------

def _centre_facts(state, facts):
    events = effective_events(state)
    registered = [e for e in events if e["type"] == "centre.registered"]
    if not registered:
        return
    scopes = [CITY, ("district", state.get("district_code")), ("centre", state.get("centre_id"))]
    facts.add(scopes, SNAPSHOT, "centres.registered")
    facts.add([("district", state.get("district_code"))], SNAPSHOT, f"member.centre.{state.get('centre_id')}")
    facts.add(scopes, SNAPSHOT, "centres.seats", registered[-1]["p"].get("capacity") or 0)
    assessments = [e for e in events if e["type"] == "centre.assessed"]
    if assessments:
        level = assessments[-1]["p"].get("level")
        facts.add(scopes, SNAPSHOT, "centres.assessed")
        facts.add(scopes, SNAPSHOT, f"centres.level.{level}")
        if level in GOOD_LEVELS:
            facts.add(scopes, SNAPSHOT, "centres.good_or_above")
        areas = assessments[-1]["p"].get("areas") or {}  # centre.assessed v2: BMA's 7 areas
        if areas:
            facts.add(scopes, SNAPSHOT, "centres.areas_assessed")
            for area, scored in areas.items():
                facts.add(scopes, SNAPSHOT, f"centres.area.{area}.score", scored.get("score") or 0)


# --- referrals ----------------------------------------------------------------------------------

def _referral_facts(state, facts):
    events = effective_events(state)
    if not events:
        return
    requested = next((e for e in events if e["type"] == "referral.requested"), events[0])
    p = requested["p"]
    receiver = (p.get("to") or {}).get("facility")
    scopes = [CITY, ("district", p.get("district")), ("facility", receiver)]
    month = requested["date"][:7]
    facts.add(scopes, month, "referrals.raised")
    facts.add(scopes, month, f"referrals.reason.{p.get('reason')}")
    final = events[-1]
    if final["type"] == "referral.completed" and final["p"].get("outcome"):
        close_month = final["date"][:7]
        days = min(MAX_CLOSE_DAYS, (_day(final["date"]) - _day(requested["date"])).days)
        facts.add(scopes, close_month, "referrals.closed")
        facts.add(scopes, close_month, f"referrals.days_to_close.{days}")
    elif final["type"] == "referral.expired":
        facts.add(scopes, final["date"][:7], "referrals.expired")
