"""Social Development (สำนักพัฒนาสังคม): community child development centres."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from .fields import PastDate, code, text

RISK_LEVELS = ("low", "medium", "high")
RISK_FACTORS = (
    "poverty", "single_carer", "carer_illness", "substance_use", "violence",
    "housing", "migrant_status", "no_birth_registration", "neglect",
)


class CentreRegisteredV1(Schema):
    name = text(max_length=200, required=True)
    capacity = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=1000))
    opened_on = PastDate()


class CentreAssessedV1(Schema):
    standard_score = fields.Integer(strict=True, required=True, validate=validate.Range(min=0, max=100))
    level = fields.String(required=True, validate=validate.OneOf(("basic", "good", "excellent", "not_met")))


class SocialChildEnrolledV1(Schema):
    centre_id = code(required=True)
    enrolled_on = PastDate(required=True)


class AttendanceRecordedV1(Schema):
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    days_expected = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=31))
    days_present = fields.Integer(strict=True, required=True, validate=validate.Range(min=0, max=31))

    @validates_schema
    def consistent(self, data, **kwargs):
        if data.get("days_present", 0) > data.get("days_expected", 31):
            raise ValidationError("must not exceed days_expected", "days_present")
        if data.get("period_start") and data.get("period_end") and data["period_end"] < data["period_start"]:
            raise ValidationError("must not be before period_start", "period_end")


class HouseholdRiskAssessedV1(Schema):
    risk_level = fields.String(required=True, validate=validate.OneOf(RISK_LEVELS))
    factors = fields.List(fields.String(validate=validate.OneOf(RISK_FACTORS)), load_default=list)
    assessor_role = fields.String(validate=validate.OneOf(("social_worker", "centre_teacher", "volunteer")))
