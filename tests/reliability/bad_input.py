"""Bad input for the ingest API: named cases, and hypothesis strategies that break valid events.

Valid events come from the simulator (one of every department and type it makes) plus
childlink_common.testing.events for the types a small simulation may not reach.
"""

import copy
import datetime as dt
import json

from childlink_common.testing.events import event as make_event
from childlink_contracts import with_check_digit
from hypothesis import strategies as st

from .harness import dataset

MAX_BODY = 5 * 1024 * 1024


def seed_events():
    """{(department, type): a valid event}, one of each kind the simulator and test helpers make."""
    found = {}
    for department, event in dataset(children=120).events:
        found.setdefault((department, event["type"]), event)
    for (department, type_) in [("medical", "child.diagnosed"), ("health", "child.registered")]:
        found.setdefault((department, type_), make_event(department, type_))
    return {key: copy.deepcopy(value) for key, value in sorted(found.items())}


def _health():
    return copy.deepcopy(make_event("health", "child.growth_measured"))


def _with(path, value, base=None):
    event = base or _health()
    target = event
    *parents, last = path.split(".")
    for key in parents:
        target = target[key]
    target[last] = value
    return event


def _without(path, base=None):
    event = base or _health()
    target = event
    *parents, last = path.split(".")
    for key in parents:
        target = target[key]
    del target[last]
    return event


def _future(days):
    return (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).isoformat()


def _bad_national_id():
    valid = with_check_digit("110170012345")
    return valid[:12] + str((int(valid[12]) + 1) % 10)


def _json(value):
    return json.dumps(value).encode("ascii")  # \\u escapes, as most JSON encoders send them


def named_cases():
    """(name, department, raw body, expected status, {field path or "": words the answer must contain})."""
    social_type = copy.deepcopy(make_event("social", "household.risk_assessed"))
    social_type["source"]["department"] = "health"
    social_type["source"]["facility"]["code"] = "HC-1001-01"
    good, bad = _health(), _with("payload.weight_kg", "heavy")
    return [
        ("wrong type: weight as text", "health", _json([_with("payload.weight_kg", "heavy")]), 422,
         {"payload.weight_kg": "number"}),
        ("wrong type: occurred_at as a number", "health", _json([_with("occurred_at", 1730000000)]), 422,
         {"occurred_at": "datetime"}),
        ("wrong type: version as text", "health", _json([_with("version", "1")]), 422, {"version": "integer"}),
        ("wrong type: subject as a list", "health", _json([_with("subject", ["child"])]), 422, {"subject": ""}),
        ("missing field: event_id", "health", _json([_without("event_id")]), 422,
         {"event_id": "Missing data"}),
        ("missing field: birth date", "health", _json([_without("subject.child.birth_date")]), 422,
         {"subject.child.birth_date": "Missing data"}),
        ("missing field: payload weight", "health", _json([_without("payload.weight_kg")]), 422,
         {"payload.weight_kg": "Missing data"}),
        ("unknown event type", "health", _json([_with("type", "child.teleported")]), 422,
         {"type": "unknown event type"}),
        ("national ID failing its checksum", "health",
         _json([_with("subject.child.national_id", _bad_national_id())]), 422,
         {"subject.child.national_id": "check digit"}),
        ("national ID of 12 digits", "health", _json([_with("subject.child.national_id", "110170012345")]),
         422, {"subject.child.national_id": "13 digits"}),
        ("future occurred_at", "health", _json([_with("occurred_at", _future(3))]), 422,
         {"occurred_at": "future"}),
        ("future birth date", "health",
         _json([_with("subject.child.birth_date", (dt.date.today() + dt.timedelta(days=40)).isoformat())]),
         422, {"subject.child.birth_date": "future"}),
        ("Buddhist-era year as Gregorian: birth date", "health",
         _json([_with("subject.child.birth_date", "2567-03-15")]), 422,
         {"subject.child.birth_date": "Buddhist-era"}),
        ("Buddhist-era year as Gregorian: occurred_at", "health",
         _json([_with("occurred_at", "2569-06-15T09:30:00+07:00")]), 422, {"occurred_at": "Buddhist-era"}),
        ("another department's event type", "health", _json([social_type]), 422,
         {"type": "social event"}),
        ("another department's source", "health", _json([_with("source.department", "social")]), 422,
         {"source.department": "health department's endpoint"}),
        ("lone surrogate in a name", "health", _json([_with("subject.child.given_name", "\ud800")]), 422,
         {"subject.child.given_name": "surrogate"}),
        ("one bad event in a good batch: nothing stored", "health", _json([good, bad]), 422,
         {"payload.weight_kg": "number"}),
        ("the same event twice in a batch", "health", _json([good, good]), 422, {"event_id": "twice"}),
        ("empty batch", "health", b"[]", 422, {"": "empty"}),
        ("a JSON string, not an event", "health", b'"hello"', 422, {"_schema": "JSON object"}),
        ("malformed JSON", "health", b'{"event_id": "abc", ', 400, {"": "not valid JSON"}),
        ("not UTF-8", "health", b"[{\"type\": \"\xc3\x28\"}]", 400, {"": "not valid JSON"}),
        ("JSON nested 100000 deep", "health", b"[" * 100_000 + b"]" * 100_000, 400, {"": "nested too deeply"}),
        ("oversized body", "health", b"[" + b" " * (MAX_BODY + 10) + b"]", 413, {"": "too_large"}),
        ("too many events in one request", "health", _json([_health() for _ in range(1001)]), 413,
         {"": "at most"}),
    ]


def answer_mentions(body, field, words):
    """Does the answer name `field` (an event's field, or "" for the request) and say `words`?"""
    if field == "":
        return words.lower() in json.dumps(body, ensure_ascii=False).lower()
    for per_event in (body.get("errors") or {}).values():
        if isinstance(per_event, dict) and field in per_event:
            return words.lower() in " ".join(map(str, per_event[field])).lower()
    return False


# --- hypothesis: breaking valid events ---------------------------------------------------------

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30),
)
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)), max_leaves=12)
nasty_text = st.one_of(
    st.text(max_size=40),
    st.lists(st.one_of(*(st.characters(categories=[c]) for c in ("Cs", "Cc", "Co", "Zs", "Lo", "Mn"))),
             min_size=1, max_size=20).map("".join),  # Cs: lone surrogates, which JSON can carry
    st.sampled_from(["", " ", "\u0000", "\ud800", "a\udfff", "สมใจ ใจดี", "x" * 5000, "1' OR '1'='1",
                     "${jndi:ldap://x}", "\n", "C-001\n"]),
)
dates = st.one_of(
    st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)).map(lambda d: d.isoformat()),
    st.integers(min_value=2500, max_value=2600).map(lambda y: f"{y}-03-15"),  # Buddhist-era years
    st.sampled_from(["2024-02-30", "2024-13-01", "24-01-01", "2024/01/01", "15 มี.ค. 2567", "today"]),
)
instants = st.one_of(
    st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30),
                 timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=7)),
                                            dt.timezone(dt.timedelta(hours=-12)), None])).map(
        lambda moment: moment.isoformat()),
    st.integers(min_value=2500, max_value=2600).map(lambda y: f"{y}-06-15T09:30:00+07:00"),
    st.sampled_from(["2024-06-15T09:30:00", "2024-06-15", "2024-06-15T25:00:00+07:00", "now",
                     "2024-06-15T09:30:00Z", "2024-06-15T09:30:00.123456789+07:00"]),
)
national_ids = st.one_of(st.from_regex(r"\A[0-9]{13}\Z"), st.from_regex(r"\A[0-9]{1,20}\Z"), nasty_text)


def _paths(value, prefix=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*prefix, index)
            yield from _paths(item, (*prefix, index))


def _get(event, path):
    for key in path:
        event = event[key]
    return event


def _set(event, path, value):
    target = event
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


def _delete(event, path):
    target = event
    for key in path[:-1]:
        target = target[key]
    if isinstance(target, dict):
        del target[path[-1]]
    else:
        target.pop(path[-1])


FREE_TEXT = {"given_name", "family_name", "name", "note", "notes", "description", "reason", "lot_number",
             "system"}
FIELD_VALUES = {
    "occurred_at": instants, "recorded_at": instants, "birth_date": dates, "national_id": national_ids,
    "enrolled_on": dates, "due_on": dates, "starts_on": dates, "recorded_on": dates, "opened_on": dates,
    "period_start": dates, "period_end": dates, "event_id": st.one_of(st.uuids().map(str), nasty_text),
    "supersedes": st.one_of(st.uuids().map(str), nasty_text), "type": nasty_text,
    "department": st.sampled_from(["health", "social", "education", "medical", "referral", "HEALTH", ""]),
}


@st.composite
def broken_event(draw, seeds):
    """A valid event with one to three things broken: a field replaced, removed, or given odd text."""
    key = draw(st.sampled_from(sorted(seeds)))
    department, _ = key
    event = copy.deepcopy(seeds[key])
    if draw(st.booleans()):
        # odd text in one free-text field only: often still a valid event, so it goes downstream
        texts = [path for path in _paths(event) if isinstance(_get(event, path), str)]
        free = [path for path in texts if path[-1] in FREE_TEXT]
        _set(event, draw(st.sampled_from(free or texts)), draw(nasty_text))
        return department, event
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = list(_paths(event))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        how = draw(st.sampled_from(["replace", "replace", "delete", "text", "field"]))
        if how == "delete":
            _delete(event, path)
        elif how == "text":
            _set(event, path, draw(nasty_text))
        elif how == "field" and path[-1] in FIELD_VALUES:
            _set(event, path, draw(FIELD_VALUES[path[-1]]))
        else:
            _set(event, path, draw(json_values))
    return department, event


@st.composite
def request_body(draw, seeds):
    """(department, raw bytes): a batch of broken and valid events, now and then a mangled body."""
    department = draw(st.sampled_from(sorted({d for d, _ in seeds})))
    own = {key: value for key, value in seeds.items() if key[0] == department}
    events = []
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        if draw(st.booleans()):
            events.append(draw(broken_event(own))[1])
        else:
            valid = copy.deepcopy(own[draw(st.sampled_from(sorted(own)))])
            valid["event_id"] = str(draw(st.uuids()))
            events.append(valid)
    body = events if len(events) > 1 or draw(st.booleans()) else events[0]
    raw = json.dumps(body, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")
    mangle = draw(st.sampled_from(["none"] * 6 + ["truncate", "garbage"]))
    if mangle == "truncate" and len(raw) > 2:
        raw = raw[: draw(st.integers(min_value=1, max_value=len(raw) - 1))]
    elif mangle == "garbage":
        raw = draw(st.binary(max_size=64)) + raw
    return department, raw
