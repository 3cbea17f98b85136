"""Reading a first load's JSON Lines file one line at a time: the `{"department": ..., "event": {...}}`
lines that `childlink-simulate --dry-run` writes and `childlink-send` reads (childlink_tools.eventfiles),
streamed rather than read whole (a million events are gigabytes of text).

Each line comes back as a Line, or as a Refusal naming its line number and field when it is not such a
line. `check_line` checks a Line's event against its contract as the department's ingest does and gives
a Checked (the normalised event and its content hash), or a Refusal naming the field."""

import json
from dataclasses import dataclass

from childlink_contracts import INGEST_DEPARTMENTS, ContractError, content_hash, validate_event


@dataclass(frozen=True)
class Line:
    number: int
    department: str
    event: dict


@dataclass(frozen=True)
class Checked:
    number: int
    department: str
    event: dict  # as validate_event normalised it: what the department's ingest publishes
    digest: str  # content_hash(event)


@dataclass(frozen=True)
class Refusal:
    number: int
    errors: dict  # field -> [messages], as a contract error gives them

    def lines(self):
        """One "line N: field: message" a field."""
        return [f"line {self.number}: {field}: {' '.join(str(m) for m in messages)}"
                for field, messages in sorted(self.errors.items())]


def parse_line(number, text):
    """A Line, a Refusal, or None for a blank line."""
    if not text.strip():
        return None
    try:
        item = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        return Refusal(number, {"_line": [f"not JSON ({getattr(exc, 'msg', exc)})"]})
    if not isinstance(item, dict) or "event" not in item or "department" not in item:
        return Refusal(number, {"_line": ['not a {"department": ..., "event": {...}} line']})
    department = item["department"]
    if department not in INGEST_DEPARTMENTS:
        return Refusal(number, {"department": [f"not one of {', '.join(INGEST_DEPARTMENTS)}"]})
    if not isinstance(item["event"], dict):
        return Refusal(number, {"event": ["not a JSON object"]})
    return Line(number, department, item["event"])


def check_line(item):
    """A Checked for a Line whose event keeps its contract, a Refusal naming the field for one that does
    not; a Refusal (or Checked) as it is."""
    if not isinstance(item, Line):
        return item
    try:
        event = validate_event(item.event, item.department)
    except ContractError as exc:
        return Refusal(item.number, exc.errors)
    return Checked(item.number, item.department, event, content_hash(event))


def read_lines(path):
    """Line or Refusal for every non-blank line of the file, in order."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            parsed = parse_line(number, raw)
            if parsed is not None:
                yield parsed


def chunks(items, size):
    """Lists of up to `size` items, in order."""
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
