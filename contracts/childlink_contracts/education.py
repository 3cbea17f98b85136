"""Education (สำนักการศึกษา): kindergarten classes in city schools."""

from marshmallow import Schema, fields, validate

from .fields import PastDate, code, text
from .social import AttendanceRecordedV1

CLASS_LEVELS = ("K1", "K2", "K3")
READINESS_DOMAINS = ("physical", "emotional", "social", "cognitive", "language")
NEED_CATEGORIES = (
    "learning", "speech_language", "autism", "hearing", "vision", "physical", "behavioural", "other",
)


class EducationChildEnrolledV1(Schema):
    school_id = code(required=True)
    class_level = fields.String(required=True, validate=validate.OneOf(CLASS_LEVELS))
    enrolled_on = PastDate(required=True)


class ReadinessAssessedV1(Schema):
    scores = fields.Dict(
        keys=fields.String(validate=validate.OneOf(READINESS_DOMAINS)),
        values=fields.Integer(strict=True, validate=validate.Range(min=0, max=100)),
        required=True,
        validate=validate.Length(min=1),
    )
    overall = fields.String(required=True, validate=validate.OneOf(("ready", "needs_support")))


class SpecialNeedsFlaggedV1(Schema):
    category = fields.String(required=True, validate=validate.OneOf(NEED_CATEGORIES))
    note = text(max_length=500)


EducationAttendanceRecordedV1 = AttendanceRecordedV1
