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


# BMA's own centre standard (มาตรฐานศูนย์พัฒนาเด็กก่อนวัยเรียน กทม.): 7 areas, 35 indicators, 4 levels.
# Area 1 (health promotion) holds indicators 1-7 and area 2 (development promotion) 8-12 (shared/REFERENCE.md);
# how the other 23 split among areas 3-7 is the assessor's form's, so an indicator may sit in any area once.
BMA_AREAS = tuple(range(1, 8))
BMA_INDICATORS = tuple(range(1, 36))
KNOWN_AREA_INDICATORS = {1: range(1, 8), 2: range(8, 13)}


class AreaScoreV2(Schema):
    score = fields.Integer(strict=True, required=True, validate=validate.Range(min=0, max=100))
    indicators = fields.Dict(
        keys=fields.String(validate=validate.OneOf([str(n) for n in BMA_INDICATORS],
                                                   error="not one of the standard's 35 indicators (1-35)")),
        values=fields.Integer(strict=True, validate=validate.Range(min=0, max=100)),
        required=True, validate=validate.Length(min=1))


class CentreAssessedV2(CentreAssessedV1):
    """v1 and a score for each of BMA's 7 areas, with a score per indicator (0-100 each)."""

    areas = fields.Dict(
        keys=fields.String(validate=validate.OneOf([str(n) for n in BMA_AREAS], error="areas are 1-7")),
        values=fields.Nested(AreaScoreV2), required=True,
        validate=validate.Length(equal=len(BMA_AREAS), error="must give all 7 areas"))

    @validates_schema
    def each_indicator_once_in_its_area(self, data, **kwargs):
        seen = {}
        for area, scored in (data.get("areas") or {}).items():
            for indicator in scored.get("indicators") or {}:
                if indicator in seen:
                    raise ValidationError(f"indicator {indicator} is given in areas {seen[indicator]} and {area}",
                                          f"areas.{area}.indicators")
                seen[indicator] = area
                known = KNOWN_AREA_INDICATORS.get(int(area))
                home = next((a for a, r in KNOWN_AREA_INDICATORS.items() if int(indicator) in r), None)
                if (known is not None and int(indicator) not in known) or (home is not None and home != int(area)):
                    raise ValidationError(f"indicator {indicator} does not belong to area {area}",
                                          f"areas.{area}.indicators")


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
