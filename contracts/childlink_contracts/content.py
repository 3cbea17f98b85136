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

NOT_CONTENT = ("recorded_at",)
HASH_PREFIX = "sha256:"


def event_key(department, event_id):
    """The one key of an event across the system: its department and its event_id."""
    return f"{department}:{event_id}"


def canonical_content(event) -> bytes:
    """The bytes the content hash is taken over (see the module's doc)."""
    content = {key: value for key, value in event.items() if key not in NOT_CONTENT}
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def content_hash(event) -> str:
    """`sha256:<hex>` of the event's canonical content; `event` as `validate_event` returned it."""
    return HASH_PREFIX + hashlib.sha256(canonical_content(event)).hexdigest()
