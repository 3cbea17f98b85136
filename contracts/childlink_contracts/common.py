"""Event types any department may send about its own records."""

from marshmallow import Schema

from .fields import text


class RetractedV1(Schema):
    """The event named in `supersedes` was entered in error."""

    reason = text(max_length=500, required=True)
