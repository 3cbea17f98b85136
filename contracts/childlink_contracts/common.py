"""Event types any department may send about its own records."""

from marshmallow import Schema, fields, validate

from .fields import text

CONSENT_DECISIONS = ("refused", "granted")
CONSENT_SCOPES = ("share_outside_department",)


class RetractedV1(Schema):
    """The event named in `supersedes` was entered in error."""

    reason = text(max_length=500, required=True)


class ConsentRecordedV1(Schema):
    """A parent's decision on sharing the child's records this department holds outside it (Thai PDPA).

    The latest decision per department and scope stands; a correction or retraction works as for any event.
    """

    decision = fields.String(required=True, validate=validate.OneOf(CONSENT_DECISIONS))
    scope = fields.String(required=True, validate=validate.OneOf(CONSENT_SCOPES))
    note = text(max_length=500)
