"""Medical Service (สำนักการแพทย์): hospital assessment, diagnosis, therapy and back-referral."""

from marshmallow import Schema, fields, validate

from .fields import FullMatch, PastDate, text

THERAPIES = ("speech", "occupational", "physical", "behavioural", "teda4i_stimulation")
OUTCOMES = ("treated", "follow_up_needed", "no_problem_found", "did_not_attend", "transferred")


class AssessedV1(Schema):
    tool = fields.String(required=True, validate=validate.OneOf(("TEDA4I", "DSPM", "clinical")))
    result = fields.String(required=True, validate=validate.OneOf(("normal", "delayed", "inconclusive")))
    domains_delayed = fields.List(fields.String(validate=validate.Length(min=1, max=40)), load_default=list)


class DiagnosedV1(Schema):
    icd10 = fields.String(
        required=True,
        validate=FullMatch(r"^[A-TV-Z][0-9]{2}(\.[0-9A-Z]{1,4})?$", error="not an ICD-10 code such as F84.0"),
    )
    description = text(max_length=300)


class TherapyPlannedV1(Schema):
    therapy = fields.String(required=True, validate=validate.OneOf(THERAPIES))
    sessions = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=200))
    starts_on = fields.Date(required=True)


class ReferralOutcomeRecordedV1(Schema):
    referral_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    notes = text(max_length=1000)
    recorded_on = PastDate()
