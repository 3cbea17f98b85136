"""make run's demo children: valid events, one per demo user's inbox, sent again as duplicates."""

import datetime as dt

from childlink_contracts import validate_event
from childlink_tools import demo


def test_every_demo_event_keeps_its_contract_and_ids_are_stable_for_a_day():
    today = dt.date(2026, 12, 7)
    events = demo.demo_events(today)
    for department, event in events:
        validate_event(event, department)  # raises ContractError naming the field
    assert [e["event_id"] for _, e in demo.demo_events(today)] == [e["event_id"] for _, e in events]
    assert len({e["event_id"] for _, e in events}) == len(events)
    assert {d for d, _ in events} == {"health", "social", "education", "medical"}


def test_the_demo_children_aim_at_every_receiving_demo_user():
    """The facility each rule refers to is the one a demo user works at (childlink_gateway.seed)."""
    events = demo.demo_events(dt.date(2026, 12, 7))
    types = {(d, e["type"]) for d, e in events}
    assert ("medical", "child.diagnosed") in types and ("health", "child.screened") in types
    places = {e["payload"].get("centre_id") or e["payload"].get("school_id") for _, e in events} - {None}
    assert places == {"CDC-1001-001", "SCH-1001-01"}
    screened = next(e for _, e in events if e["type"] == "child.screened")
    birth = dt.date.fromisoformat(screened["subject"]["child"]["birth_date"])
    months = (dt.date.fromisoformat(screened["occurred_at"][:10]) - birth).days / 30.44
    assert 30 <= months < 31  # inside the 30-month DSPM band
