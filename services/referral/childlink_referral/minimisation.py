"""Data minimisation on the child page: each role sees the kinds of record its work needs (PDPA s.22,
collect and disclose the minimum), not everything any department recorded about the child.

The table (docs/security.md, "What each role sees") in code. A child-care centre or a school sees the
child's registration, development, growth, immunisations and attendance (what its care and its
follow-up of a referral need) but not a hospital's diagnoses or therapy plans, nor a social worker's
household risk assessment. A diagnosis reaches such a viewer only inside a referral addressed to or
sent by them (the referral carries what the receiver needs), never from the timeline. A department's
own staff see all of their own department's records.
"""

REGISTRATION, DEVELOPMENT, GROWTH, IMMUNISATION, ATTENDANCE = (
    "registration", "development", "growth", "immunisation", "attendance")
DIAGNOSIS, THERAPY, OUTCOME, HOUSEHOLD, CONSENT = (
    "diagnosis", "therapy", "referral_outcome", "household_risk", "consent")

KIND_OF_TYPE = {
    "child.registered": REGISTRATION, "child.enrolled": REGISTRATION,
    "child.screened": DEVELOPMENT, "child.assessed": DEVELOPMENT, "child.readiness_assessed": DEVELOPMENT,
    "child.special_needs_flagged": DEVELOPMENT,
    "child.growth_measured": GROWTH,
    "child.immunised": IMMUNISATION, "child.visit_missed": IMMUNISATION,
    "child.attendance_recorded": ATTENDANCE,
    "child.diagnosed": DIAGNOSIS,
    "child.therapy_planned": THERAPY,
    "referral.outcome_recorded": OUTCOME,
    "household.risk_assessed": HOUSEHOLD,
    "consent.recorded": CONSENT,
}
KINDS = (REGISTRATION, DEVELOPMENT, GROWTH, IMMUNISATION, ATTENDANCE, DIAGNOSIS, THERAPY, OUTCOME, HOUSEHOLD,
         CONSENT)
CARE = frozenset({REGISTRATION, DEVELOPMENT, GROWTH, IMMUNISATION, ATTENDANCE, CONSENT})
CLINICAL = CARE | {DIAGNOSIS, THERAPY, OUTCOME}
SEES = {
    "health_centre_staff": CLINICAL,
    "hospital_staff": CLINICAL,
    "centre_staff": CARE,
    "school_staff": CARE,
    "social_worker": CARE | {HOUSEHOLD},
    "district_officer": CARE,
    "department_staff": CARE,
    "registrar": frozenset({REGISTRATION, CONSENT}),
}
# The page's sections, each built from one kind: shown only to a role that sees that kind.
SECTION_KIND = {"growth": GROWTH, "dspm": DEVELOPMENT, "immunisations": IMMUNISATION}


def kind_of(entry):
    """A correction has its record's type, so its record's kind; a retraction (event.retracted) has none:
    it is shown with the entry it retracts."""
    return KIND_OF_TYPE.get(entry.get("type"))


def sees_kind(viewer, kind):
    return kind in SEES.get(viewer["role"], frozenset())


def visible_entries(viewer, entries, visible_referral_ids):
    """The timeline entries this viewer may read. A department's own staff see all of their department's;
    a referral outcome is visible with the referral it answers; an unknown kind is shown to no one but
    the department that recorded it (new event types are opt-in here, not leaked by default)."""
    shown = []
    for entry in entries:
        if entry.get("department") == "referral" or entry.get("type") == "event.retracted":
            continue  # referral transitions come from the referrals the viewer may see (child_page)
        kind = kind_of(entry)
        own = viewer["role"] == "department_staff" and entry.get("department") == viewer.get("department")
        answers_theirs = kind == OUTCOME and (entry.get("payload") or {}).get("referral_id") in visible_referral_ids
        if own or answers_theirs or sees_kind(viewer, kind):
            shown.append(entry)
    ids = {e["event_id"] for e in shown}
    retractions = [e for e in entries if e.get("type") == "event.retracted" and e.get("supersedes") in ids]
    return shown + retractions


def sections(viewer):
    """{section: shown?} for growth, dspm and immunisations."""
    own_health = viewer["role"] == "department_staff" and viewer.get("department") == "health"
    return {name: own_health or sees_kind(viewer, kind) for name, kind in SECTION_KIND.items()}
