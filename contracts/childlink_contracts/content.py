"""An event's identity and its content hash: what tells "the same event again" from "another event under
a used event_id".

Identity: an event is named by its department and its event_id together (`source.department` +
`event_id`). Two departments' systems choose their UUIDs independently, so the referral service never
takes one department's event as a duplicate of another department's, whatever their ids.

Content: the event as the contracts normalise it (`validate_event`'s result: defaults filled in, every
field in its one canonical form), without `recorded_at`, serialised as JSON with sorted keys, no
whitespace and UTF-8 text, then hashed with SHA-256. `recorded_at` is left out because it says when a
department system wrote the record down, not what happened: a system that re-exports and re-sends an
event stamps it again, and that resend is the same event.

- same identity, same content: a duplicate (202 `duplicate` at ingest; counted, not applied, downstream);
- same identity, other content: a conflict (409 `conflict` naming `event_id` at ingest, nothing stored;
  dead-lettered with reason `conflict` at the referral service). A change to an event is a new event
  that names it in `supersedes`.
"""

import hashlib
import json

import orjson

NOT_CONTENT = ("recorded_at",)
HASH_PREFIX = "sha256:"


def event_key(department, event_id):
    """The one key of an event across the system: its department and its event_id."""
    return f"{department}:{event_id}"


# orjson writes what json.dumps writes (same escapes, keys sorted by code point, same digits) but for
# floats below 1e-4 ("0.00001", "1e-7" where json writes "1e-05", "1e-07") and NaN/Infinity ("null").
# An output holding one of those shapes as a number, or any null at all, goes to json.dumps. The
# differential test (contracts/tests/test_contracts_content.py) is what this rests on.
_ORJSON_OPTIONS = (orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATETIME
                   | orjson.OPT_PASSTHROUGH_DATACLASS)  # those raise here, and json.dumps has its own say
_SMALL_FLOAT_MARKS = (b"e-", b"0.0000")
_NUMBER_CHARS = frozenset(b"0123456789.-")
_BEFORE_A_VALUE = frozenset(b":,[")


def _orjson_may_differ(encoded):
    if b"null" in encoded:
        return True
    for mark in _SMALL_FLOAT_MARKS:  # a literal find is C-speed; a regex scanning every byte was not
        at = encoded.find(mark)
        while at != -1:
            start = at
            while start and encoded[start - 1] in _NUMBER_CHARS:
                start -= 1
            if start and encoded[start - 1] in _BEFORE_A_VALUE:  # a number, not text inside a string
                return True
            at = encoded.find(mark, at + 1)
    return False


def _json_dumps(content) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def canonical_content(event) -> bytes:
    """The bytes the content hash is taken over (see the module's doc)."""
    content = {key: value for key, value in event.items() if key not in NOT_CONTENT}
    try:
        encoded = orjson.dumps(content, option=_ORJSON_OPTIONS)
    except TypeError:  # a key not text, an int past 64 bits, a lone surrogate, a type orjson leaves to us
        return _json_dumps(content)
    if _orjson_may_differ(encoded):
        return _json_dumps(content)
    return encoded


def content_hash(event) -> str:
    """`sha256:<hex>` of the event's canonical content; `event` as `validate_event` returned it."""
    return HASH_PREFIX + hashlib.sha256(canonical_content(event)).hexdigest()
