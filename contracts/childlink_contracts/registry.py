"""Every event type childlink knows: which department sends it, about what, in which schema."""

from dataclasses import dataclass

from marshmallow import Schema

from . import common, education, health, medical, social


@dataclass(frozen=True)
class EventType:
    department: str
    type: str
    version: int
    subject: str  # "child", "centre", or "either" (a retraction from social, which sends both)
    schema: type[Schema]
    summary: str

    @property
    def key(self):
        return (self.department, self.type, self.version)

    @property
    def subject_kinds(self):
        """The subject kinds this type may be about: ("child",), ("centre",) or both."""
        return ("child", "centre") if self.subject == "either" else (self.subject,)


def _both(department, subject="child"):
    return EventType(department, "event.retracted", 1, subject, common.RetractedV1,
                     "The event named in `supersedes` was entered in error.")


def _consent(department):
    return EventType(department, "consent.recorded", 1, "child", common.ConsentRecordedV1,
                     "A parent grants or refuses sharing this department's records of the child outside it.")


EVENT_TYPES = [
    EventType("social", "centre.registered", 1, "centre", social.CentreRegisteredV1,
              "A community child development centre is registered."),
    EventType("social", "centre.assessed", 1, "centre", social.CentreAssessedV1,
              "A centre is assessed against the city's quality standards."),
    EventType("social", "centre.assessed", 2, "centre", social.CentreAssessedV2,
              "A centre is assessed against BMA's centre standard: its level, and a score for each of the "
              "7 areas and their indicators."),
    EventType("social", "child.enrolled", 1, "child", social.SocialChildEnrolledV1,
              "A child enrols at a community child development centre."),
    EventType("social", "child.attendance_recorded", 1, "child", social.AttendanceRecordedV1,
              "A child's attendance over a period at a centre."),
    EventType("social", "household.risk_assessed", 1, "child", social.HouseholdRiskAssessedV1,
              "A social worker assesses the risk in a child's household."),
    _consent("social"),
    _both("social", subject="either"),  # social retracts centre events as well as child events
    EventType("education", "child.enrolled", 1, "child", education.EducationChildEnrolledV1,
              "A child enrols in a kindergarten class at a city school."),
    EventType("education", "child.readiness_assessed", 1, "child", education.ReadinessAssessedV1,
              "A school-readiness assessment."),
    EventType("education", "child.special_needs_flagged", 1, "child", education.SpecialNeedsFlaggedV1,
              "A teacher flags a special educational need."),
    EventType("education", "child.attendance_recorded", 1, "child",
              education.EducationAttendanceRecordedV1, "A child's attendance over a period at school."),
    _consent("education"),
    _both("education"),
    EventType("health", "child.registered", 1, "child", health.ChildRegisteredV1,
              "A child is registered at a public health centre."),
    EventType("health", "child.growth_measured", 1, "child", health.GrowthMeasuredV1,
              "Weight and height measured at a well-child visit."),
    EventType("health", "child.immunised", 1, "child", health.ImmunisedV1,
              "A vaccine dose given under the Thai EPI schedule."),
    EventType("health", "child.screened", 1, "child", health.ScreenedV1,
              "A DSPM developmental screening across the five domains."),
    EventType("health", "child.visit_missed", 1, "child", health.VisitMissedV1,
              "A due visit passed without the child attending."),
    _consent("health"),
    _both("health"),
    EventType("medical", "child.assessed", 1, "child", medical.AssessedV1,
              "A developmental assessment at a hospital (TEDA4I)."),
    EventType("medical", "child.diagnosed", 1, "child", medical.DiagnosedV1,
              "A hospital diagnosis (ICD-10)."),
    EventType("medical", "child.therapy_planned", 1, "child", medical.TherapyPlannedV1,
              "A therapy plan at a hospital."),
    EventType("medical", "referral.outcome_recorded", 1, "child", medical.ReferralOutcomeRecordedV1,
              "The hospital's outcome for a referral, sent back to the referrer."),
    _consent("medical"),
    _both("medical"),
]

REGISTRY = {event_type.key: event_type for event_type in EVENT_TYPES}
INGEST_DEPARTMENTS = ("social", "education", "health", "medical")


def types_of(department):
    return sorted({t.type for t in EVENT_TYPES if t.department == department})


def lookup(department, type_, version):
    return REGISTRY.get((department, type_, version))
