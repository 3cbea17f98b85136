"""The growth chart: WHO bands and the child's points as inline SVG, from the child page's growth data."""

import re
import xml.etree.ElementTree as ET

from childlink_gateway.charts import normalise, render
from childlink_gateway.fake_referral import sample_child
from childlink_gateway.i18n import Translator

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup):
    return ET.fromstring(str(markup))


def test_the_documented_shape_gives_both_indicators():
    series = normalise(sample_child()["growth"])
    assert set(series) == {"weight_for_age", "length_height_for_age", "weight_for_length"}
    wfa = series["weight_for_age"]
    assert [round(p.age_months, 1) for p in wfa.points] == [6.0, 12.2, 18.2]
    assert [p.value for p in wfa.points] == [6.9, 8.1, 8.3]
    assert [p.z for p in wfa.points] == [-0.3, -0.9, -2.1]
    assert wfa.bands[0] == (0, {-3: 2.0, -2: 2.4, 0: 3.2, 2: 4.2, 3: 4.8})
    assert series["length_height_for_age"].bands == []


def test_with_reference_curves_the_chart_draws_three_bands_a_median_and_each_measurement():
    svg = parse(render(normalise(sample_child()["growth"])["weight_for_age"], Translator("en"), "Weight for age"))
    assert svg.get("data-kind") == "measure"
    assert len(svg.findall(f"{SVG}polygon")) == 5  # red, amber, green, amber, red
    assert len(svg.findall(f"{SVG}circle")) == 3
    assert svg.find(f"{SVG}title").text == "Weight for age"
    assert "18.2 mo: 8.3 kg" in [c.find(f"{SVG}title").text for c in svg.findall(f"{SVG}circle")]


def test_points_stay_inside_the_drawing():
    svg = parse(render(normalise(sample_child()["growth"])["weight_for_age"], Translator("en"), "w"))
    width, height = map(float, svg.get("viewBox").split()[2:])
    for circle in svg.findall(f"{SVG}circle"):
        assert 0 <= float(circle.get("cx")) <= width and 0 <= float(circle.get("cy")) <= height


def test_without_reference_curves_the_z_scores_are_drawn_against_flat_bands():
    growth = {"points": [{"age_days": 400, "z": {"z_wfa": -2.5}}, {"age_days": 500, "z": {"z_wfa": -3.4}}]}
    svg = parse(render(normalise(growth)["weight_for_age"], Translator("th"), "น้ำหนัก"))
    assert svg.get("data-kind") == "z"
    assert len(svg.findall(f"{SVG}polygon")) == 5
    assert len(svg.findall(f"{SVG}circle")) == 2


def test_ages_come_from_dates_when_not_given_and_bad_rows_are_skipped():
    growth = {"birth_date": "2024-01-01", "points": [
        {"occurred_at": "2025-01-01T02:00:00Z", "weight_kg": 9.0},
        {"occurred_at": "garbage", "weight_kg": 9.5},
        {"age_months": 13, "weight_kg": "heavy"},
        "not a row",
        {"age_months": 14, "weight_kg": float("nan"), "z_wfa": 0.1},
    ]}
    points = normalise(growth)["weight_for_age"].points
    assert [(round(p.age_months), p.value, p.z) for p in points] == [(12, 9.0, None), (14, None, 0.1)]


def test_nothing_to_draw_is_no_chart():
    assert normalise(None) == {}
    assert normalise({"points": []}) == {}
    assert normalise([{"age_months": 3}]) == {}


def test_the_svg_carries_no_script_and_escapes_its_text():
    growth = normalise(sample_child()["growth"])["weight_for_age"]
    markup = str(render(growth, Translator("en"), '<script>alert("x")</script>'))
    assert "<script" not in markup and "&lt;script&gt;" in markup
    assert not re.search(r"\son\w+=", markup)


def test_operator_chart_ticks_are_round_numbers_and_whole_for_counts():
    import re

    from childlink_gateway.operations.charts import chart, nice_ticks

    assert nice_ticks(424.5) == [0, 100, 200, 300, 400, 500]
    assert nice_ticks(1, integer=True) == [0, 1]
    assert nice_ticks(3, integer=True) == [0, 1, 2, 3]
    assert nice_ticks(0.9) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert all(float(t).is_integer() for t in nice_ticks(7, integer=True))
    svg = str(chart([("seen", "seen", [12, 424, 301], "bar")], end_iso="2026-12-07T10:00:00Z", bucket_minutes=5,
                    title="flow"))
    assert re.findall(r'class="tick"[^>]*>([^<]+)<', svg) == ["100", "200", "300", "400", "500"]
    outbox = str(chart([("outbox_backlog", "outbox", [0, 1, 0], "line")], end_iso="2026-12-07T10:00:00Z",
                       bucket_minutes=5, title="outbox"))
    assert re.findall(r'class="tick"[^>]*>([^<]+)<', outbox) == ["1"]
