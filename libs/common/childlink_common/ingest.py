"""Department ingest: check a request's events against the contracts and store them in the outbox.

All or nothing: one invalid event rejects the whole batch (422, every bad field named by its index in
the request), and so does one that reuses an accepted event_id with other content (409 `conflict`),
so a department system can fix and resend it without working out what was kept.
"""

import json
import time
from dataclasses import dataclass

from childlink_contracts import ContractError, validate_event

MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_BATCH = 1000
# An event_id names one event: a change is a new event that names the old one in `supersedes`
# (childlink_contracts.content says what counts as the same content).
CONFLICT = ("already accepted with other content: send the event as it was accepted, or a new event "
            "(a new event_id) that names it in `supersedes`")


@dataclass
class Answer:
    status: int
    body: dict


def problem(status, error, detail, **extra):
    return Answer(status, {"error": error, "detail": detail, **extra})


def parse_events(raw: bytes):
    if len(raw) > MAX_BODY_BYTES:
        return None, problem(413, "too_large", f"request body over {MAX_BODY_BYTES} bytes")
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, problem(400, "malformed_json", f"body is not valid JSON: {exc}")
    except RecursionError:  # "[[[[..." thousands deep: the parser gives up; it was a 500 before
        return None, problem(400, "malformed_json", "body is not valid JSON: nested too deeply")
    events = document if isinstance(document, list) else [document]
    if not events:
        return None, problem(422, "invalid_events", "the batch is empty", errors={"_batch": ["empty"]})
    if len(events) > MAX_BATCH:
        return None, problem(413, "too_large", f"at most {MAX_BATCH} events per request")
    return events, None


def accept_events(raw: bytes, department: str, outbox, clock=time.time) -> Answer:
    events, failure = parse_events(raw)
    if failure:
        return failure
    valid, errors, seen = [], {}, set()
    for index, event in enumerate(events):  # every error is named by the event's index in the request
        try:
            checked = validate_event(event, department)
        except ContractError as exc:
            errors[str(index)] = exc.errors
            continue
        if checked["event_id"] in seen:
            errors[str(index)] = {"event_id": ["appears twice in this batch"]}
        seen.add(checked["event_id"])
        valid.append((index, checked))
    if errors:
        return problem(422, "invalid_events", f"{len(errors)} of {len(events)} events are invalid; "
                       "nothing was stored", errors=errors)
    statuses = outbox.add([event for _index, event in valid], clock(), refuse_conflicts=True)
    conflicts = {str(index): {"event_id": [CONFLICT]}
                 for (index, _event), status in zip(valid, statuses) if status == "conflict"}
    if conflicts:
        return problem(409, "conflict", f"{len(conflicts)} of {len(events)} events reuse an event_id already "
                       "accepted with other content; nothing was stored", errors=conflicts)
    return Answer(202, {"accepted": [{"event_id": event["event_id"], "status": status}
                                     for (_index, event), status in zip(valid, statuses)]})
