"""Department ingest: check a request's events against the contracts and store them in the outbox.

All or nothing: one invalid event rejects the whole batch (422, every bad field named by index),
so a department system can fix and resend it without working out what was kept.
"""

import json
import time
from dataclasses import dataclass

from childlink_contracts import ContractError, validate_event

MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_BATCH = 1000


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
    valid, errors = [], {}
    for index, event in enumerate(events):
        try:
            valid.append(validate_event(event, department))
        except ContractError as exc:
            errors[str(index)] = exc.errors
    ids, seen = [event["event_id"] for event in valid], set()
    for index, event_id in enumerate(ids):
        if event_id in seen:
            errors.setdefault(str(index), {})["event_id"] = ["appears twice in this batch"]
        seen.add(event_id)
    if errors:
        return problem(422, "invalid_events", f"{len(errors)} of {len(events)} events are invalid; "
                       "nothing was stored", errors=errors)
    statuses = outbox.add(valid, clock())
    return Answer(202, {"accepted": [{"event_id": event_id, "status": status}
                                     for event_id, status in zip(ids, statuses)]})
