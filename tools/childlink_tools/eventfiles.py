"""Reading and writing event files: a JSON array or object, or JSON Lines.

A line may be a bare event or the simulator's `{"department": ..., "event": {...}}`; each event comes
back with where it was found ("line 7", "item 3") so errors can point at the input.
"""

import json


class EventFileError(ValueError):
    pass


def read_events(text, source="input"):
    """[(where, department or None, event)] from the text of a JSON or JSONL file."""
    stripped = text.strip()
    if not stripped:
        return []
    try:
        document = json.loads(stripped)
    except json.JSONDecodeError:
        return [_unwrap(f"{source} line {number}", _parse_line(line, source, number))
                for number, line in enumerate(text.splitlines(), 1) if line.strip()]
    if isinstance(document, list):
        return [_unwrap(f"{source} item {number}", item) for number, item in enumerate(document, 1)]
    return [_unwrap(f"{source} line 1", document)]


def _parse_line(line, source, number):
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise EventFileError(f"{source} line {number}: not JSON ({exc.msg})") from None


def _unwrap(where, item):
    if isinstance(item, dict) and set(item) == {"department", "event"}:
        return where, item["department"], item["event"]
    return where, None, item


def write_events(stream, department_events):
    """Write [(department, event)] as JSON Lines, one `{"department", "event"}` object a line."""
    for department, event in department_events:
        stream.write(json.dumps({"department": department, "event": event}, ensure_ascii=False) + "\n")
