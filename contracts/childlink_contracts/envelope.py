"""The envelope every childlink event travels in, whatever its department or type."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from .fields import FullMatch, NationalId, PastDate, PastInstant, code, district_code, text

DEPARTMENTS = ("social", "education", "health", "medical", "referral")
SEXES = ("male", "female")


class FacilitySchema(Schema):
    code = code(required=True)
    name = text(max_length=200)
    district_code = district_code(required=True)


class SourceSchema(Schema):
    department = fields.String(required=True, validate=validate.OneOf(DEPARTMENTS))
    system = code(required=True)
    facility = fields.Nested(FacilitySchema, required=True)


class GuardianSchema(Schema):
    national_id = NationalId()
    phone = fields.String(validate=FullMatch(r"^0[0-9]{8,9}$"))
    relation = fields.String(validate=validate.OneOf(("mother", "father", "grandparent", "other")))
    given_name = text(max_length=100)
    family_name = text(max_length=100)


class ChildSubjectSchema(Schema):
    local_id = code(required=True)
    national_id = NationalId()
    given_name = text(max_length=100)
    family_name = text(max_length=100)
    birth_date = PastDate(required=True)
    sex = fields.String(required=True, validate=validate.OneOf(SEXES))
    district_code = district_code()
    guardian = fields.Nested(GuardianSchema)


class CentreSubjectSchema(Schema):
    centre_id = code(required=True)
    name = text(max_length=200)
    district_code = district_code(required=True)


class SubjectSchema(Schema):
    child = fields.Nested(ChildSubjectSchema)
    centre = fields.Nested(CentreSubjectSchema)

    @validates_schema
    def exactly_one(self, data, **kwargs):
        if ("child" in data) == ("centre" in data):
            raise ValidationError("give exactly one of 'child' or 'centre'", "_schema")


class EnvelopeSchema(Schema):
    """Everything but the payload, which the registry checks against the type's own schema."""

    event_id = fields.UUID(required=True)
    type = fields.String(required=True, validate=FullMatch(r"^[a-z_]+\.[a-z_]+$"))
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    occurred_at = PastInstant(required=True)
    recorded_at = PastInstant(required=True)
    source = fields.Nested(SourceSchema, required=True)
    subject = fields.Nested(SubjectSchema, required=True)
    correlation_id = fields.String(validate=validate.Length(min=1, max=100))
    supersedes = fields.UUID()
    payload = fields.Dict(required=True)
