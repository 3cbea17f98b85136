"""Health (สำนักอนามัย): well-child visits, growth, immunisation and DSPM screening."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from .fields import FullMatch, PastDate, StrictBoolean, StrictFloat, text
from .vaccine_codes import CODES as VACCINE_CODES

DSPM_AGES_MONTHS = (9, 18, 30, 42, 60)
DSPM_DOMAINS = ("gross_motor", "fine_motor", "receptive_language", "expressive_language", "personal_social")
DSPM_RESULTS = ("normal", "suspected_delay", "delayed")
VACCINES = (
    "BCG", "HBV", "DTwP-HB-Hib", "OPV", "IPV", "ROTA", "MMR", "JE", "DTwP",
)
VISIT_KINDS = ("well_child", "immunisation", "dspm_screening", "dspm_rescreen", "growth")


class ChildRegisteredV1(Schema):
    birth_weight_g = fields.Integer(strict=True, validate=validate.Range(min=300, max=6500))
    gestational_weeks = fields.Integer(strict=True, validate=validate.Range(min=22, max=44))
    # HBV2 at 1 month is only for infants of HBsAg-positive mothers (MoPH EPI schedule 2566)
    mother_hbsag_positive = StrictBoolean()


class GrowthMeasuredV1(Schema):
    weight_kg = StrictFloat(required=True, validate=validate.Range(min=0.3, max=60))
    height_cm = StrictFloat(required=True, validate=validate.Range(min=30, max=150))
    head_circumference_cm = StrictFloat(validate=validate.Range(min=20, max=65))
    measured_lying = StrictBoolean()


class ImmunisedV1(Schema):
    vaccine = fields.String(required=True, validate=validate.OneOf(VACCINES))
    dose = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=5))
    lot_number = text(max_length=40)
    # the 43-file EPI.VACCINETYPE code beside the name: 3 characters, leading zeros kept ("010", not 10)
    vaccine_code = fields.String(validate=FullMatch(r"^[0-9A-Z]{3}$", error="must be a 3-character 43-file "
                                                    "vaccine code such as \"010\" or \"R11\" (keep leading zeros)"))

    @validates_schema
    def code_matches(self, data, **kwargs):
        code = data.get("vaccine_code")
        if code is None or "vaccine" not in data or "dose" not in data:
            return
        if code not in VACCINE_CODES:
            raise ValidationError(f"unknown 43-file vaccine code {code!r}", "vaccine_code")
        vaccine, dose = VACCINE_CODES[code]
        if (vaccine, dose) != (data["vaccine"], data["dose"]):
            raise ValidationError(f"code {code} is {vaccine} dose {dose}, not {data['vaccine']} dose "
                                  f"{data['dose']}", "vaccine_code")


class ScreenedV1(Schema):
    """A DSPM screening: each of the five domains normal, suspected delay or delayed."""

    age_band_months = fields.Integer(strict=True, required=True, validate=validate.OneOf(DSPM_AGES_MONTHS))
    rescreen = StrictBoolean(load_default=False)
    domains = fields.Dict(
        keys=fields.String(validate=validate.OneOf(DSPM_DOMAINS)),
        values=fields.String(validate=validate.OneOf(DSPM_RESULTS)),
        required=True,
        validate=validate.Length(equal=len(DSPM_DOMAINS), error="must give all five DSPM domains"),
    )


class VisitMissedV1(Schema):
    visit_kind = fields.String(required=True, validate=validate.OneOf(VISIT_KINDS))
    due_on = PastDate(required=True)
