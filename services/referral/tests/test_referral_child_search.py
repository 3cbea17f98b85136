"""Finding a child by national ID, name or birth date: by any department's spelling, only children the
viewer may see, bad queries refused naming the field."""

import pytest
from childlink_common.testing.events import child, event
from childlink_referral.child_search import search_children
from childlink_referral.testing import CENTRE, HC, HOSPITAL, OPERATOR, screening


@pytest.fixture
def kids(world):
    world.a = world.send(screening({"fine_motor": "delayed"}, subject=child(local_id="S-A")))  # สมใจ ใจดี
    world.b = world.send(event("health", "child.registered", subject=child(
        local_id="S-B", national_id=None, given_name="ด.ช.ธนากร", family_name="มั่นคง", birth_date="2023-01-02")))
    return world


def found(world, viewer, **query):
    answer = search_children(world.store, viewer, query)
    assert answer["ok"], answer
    return [item["child_id"] for item in answer["items"]]


def test_by_national_id_name_or_birth_date(kids):
    assert found(kids, HC, national_id="1234567890121") == [kids.a]
    assert found(kids, HC, national_id="1-2345-67890-12-1") == [kids.a]
    assert found(kids, HC, name="สมใจ") == [kids.a]
    assert found(kids, HC, name="ธนากร มั่น") == [kids.b]  # the title dropped, a prefix of the family name
    assert found(kids, HC, birth_date="2023-01-02") == [kids.b]
    assert found(kids, HC, name="สมใจ", birth_date="2023-01-02") == []
    item = search_children(kids.store, HC, {"name": "สมใจ"})["items"][0]
    assert item == {"child_id": kids.a, "name": "สมใจ ใจดี", "birth_date": "2024-03-15", "district_code": "1001"}


def test_only_children_the_viewer_may_see(kids):
    assert found(kids, HOSPITAL, name="สมใจ") == [kids.a]  # referred to the hospital
    assert found(kids, HOSPITAL, name="ธนากร") == []  # no referral, no record there
    assert found(kids, CENTRE, birth_date="2024-03-15") == []
    assert search_children(kids.store, OPERATOR, {"name": "สมใจ"})["error"]["code"] == "forbidden"


@pytest.mark.parametrize("query, field", [
    ({"national_id": "1234567890120"}, "national_id"), ({"birth_date": "15/03/2024"}, "birth_date"),
    ({"name": "!!"}, "name"), ({}, "name"),
])
def test_a_bad_query_is_refused_naming_the_field(kids, query, field):
    answer = search_children(kids.store, HC, query)
    assert not answer["ok"] and answer["error"]["code"] == "invalid" and answer["error"]["field"] == field
