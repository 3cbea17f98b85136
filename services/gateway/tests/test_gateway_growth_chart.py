"""The growth charts and table of issue 11: weight-for-length/height, points where WHO puts them, the
beyond-3-SD zones, axis titles clear of the ticks, every indicator's z and band per measurement."""

import re
import xml.etree.ElementTree as ET

import pytest
from childlink_gateway import charts
from childlink_gateway.fake_referral import FakeReferral, sample_child
from childlink_gateway.i18n import Translator
from childlink_gateway.testing import Browser

SVG = "{http://www.w3.org/2000/svg}"
SD = ("-3", "-2", "0", "2", "3")


def sd(*values):
    return dict(zip(SD, values, strict=True))


GROWTH = {
    "birth_date": "2024-01-01", "sex": "male",
    "points": [
        # 20 months, measured standing: WHO computes (and the chart draws) a length of 80.7 cm
        {"age_days": 609, "age_months": 20.0, "weight_kg": 8.9, "height_cm": 80.0, "measured_lying": False,
         "plotted_cm": 80.7, "plotted_as": "length", "z": {"z_wfa": -2.4, "z_lhfa": -1.9, "z_wflh": -2.15,
                                                           "z_bmi": -2.0, "z_hcfa": None},
         "band": {"wfa": "moderate", "lhfa": "normal", "wflh": "moderate", "bmi": "moderate", "hcfa": None}},
        # 26 months, measured lying: a height of 84.3 cm
        {"age_days": 791, "age_months": 26.0, "weight_kg": 10.2, "height_cm": 85.0, "measured_lying": True,
         "plotted_cm": 84.3, "plotted_as": "height", "z": {"z_wfa": -1.9, "z_lhfa": -1.6, "z_wflh": -1.3},
         "band": {"wfa": "normal", "lhfa": "normal", "wflh": "normal"}, "rechecked": True,
         "implausible": {"z_wfa": False}},
    ],
    "bands": {
        "weight_for_length": [{"length_cm": cm, "sd": sd(w - 2, w - 1.4, w, w + 1.6, w + 2.5)}
                              for cm, w in ((70.0, 8.5), (80.0, 10.4), (90.0, 12.7), (100.0, 15.3))],
        "weight_for_height": [{"length_cm": cm, "sd": sd(w - 2, w - 1.4, w, w + 1.6, w + 2.5)}
                              for cm, w in ((75.0, 9.6), (85.0, 11.8), (95.0, 14.2), (105.0, 17.0))],
        "length_height_for_age": [{"age_months": m, "sd": sd(v - 8, v - 5.5, v, v + 5.5, v + 8)}
                                  for m, v in ((0, 49.9), (12, 75.7), (23.984, 87.8), (24, 87.1), (36, 96.1))],
    },
}


def parse(markup):
    return ET.fromstring(str(markup))


def test_weight_for_length_and_for_height_are_charts_of_their_own_over_the_length_as_who_computes_it():
    series = charts.normalise(GROWTH)
    assert [(p.x, p.value, p.z) for p in series["weight_for_length"].points] == [(80.7, 8.9, -2.15)]
    assert [(p.x, p.value) for p in series["weight_for_height"].points] == [(84.3, 10.2)]
    svg = parse(charts.render(series["weight_for_length"], Translator("th"), "wfl"))
    assert svg.get("data-indicator") == "weight_for_length"
    [circle] = svg.findall(f"{SVG}circle")
    assert circle.find(f"{SVG}title").text == "80.7 ซม.: 8.9 กก."  # every word in the viewer's language
    assert "ความยาว (ซม.)" in [t.text for t in svg.iter(f"{SVG}text")]


def test_length_height_for_age_draws_points_as_who_adjusts_them_and_the_step_at_24_months():
    series = charts.normalise(GROWTH)["length_height_for_age"]
    assert [p.value for p in series.points] == [80.7, 84.3]
    medians = [(x, sds[0]) for x, sds in series.bands]
    assert (23.984, 87.8) in medians and (24, 87.1) in medians


def test_the_beyond_3_sd_zones_are_drawn_red_above_and_below():
    svg = parse(charts.render(charts.normalise(GROWTH)["weight_for_height"], Translator("en"), "wfh"))
    fills = [p.get("fill") for p in svg.findall(f"{SVG}polygon")]
    assert fills.count(charts.RED) == 2 and fills.count(charts.AMBER) == 2 and fills.count(charts.GREEN) == 1


@pytest.mark.parametrize("indicator", ["weight_for_length", "length_height_for_age"])
@pytest.mark.parametrize("lang", ["th", "en"])
def test_axis_titles_stay_clear_of_the_tick_labels(indicator, lang):
    svg = parse(charts.render(charts.normalise(GROWTH)[indicator], Translator(lang), "t"))
    texts = list(svg.iter(f"{SVG}text"))
    titles = [t for t in texts if t.get("class") == "axis-title"]
    x_title, y_title = titles
    y_ticks = [t for t in texts if t.get("text-anchor") == "end"]
    x_ticks = [t for t in texts if t.get("text-anchor") == "middle" and t.get("class") != "axis-title"]
    font = 12
    # the rotated y title's glyphs reach font/2 right of its x (plus room for Thai marks)
    widest = max(len(t.text) for t in y_ticks) * 11 * 0.62
    assert float(y_title.get("x")) + font < min(float(t.get("x")) - widest for t in y_ticks)
    # the x title's top (baseline - font, Thai marks above) sits below the tick labels' baseline + descent
    assert float(x_title.get("y")) - font * 1.3 > max(float(t.get("y")) + 4 for t in x_ticks)


def test_the_table_gives_every_indicator_its_z_and_band_newest_first():
    rows = charts.measurement_table(GROWTH)
    assert [r["age_months"] for r in rows] == [26.0, 20.0]
    latest, first = rows
    assert [c["indicator"] for c in first["cells"]] == ["wfa", "lhfa", "wflh", "bmi", "hcfa"]
    assert [(c["z"], c["band"]) for c in first["cells"]] == [
        (-2.4, "moderate"), (-1.9, "normal"), (-2.15, "moderate"), (-2.0, "moderate"), (None, None)]
    assert first["plotted_cm"] == 80.7 and latest["rechecked"]


def test_the_child_page_shows_the_table_in_thai(app):
    child = sample_child()
    child["growth"] = {**GROWTH, "bands": {**child["growth"]["bands"], **GROWTH["bands"]}}
    browser = Browser(app, FakeReferral(children=[child]))
    browser.sign_in("hosp.anan")
    page = browser.get("/children/c-1?reason=care").get_data(as_text=True)
    table = page[page.index('id="growth-table"'):page.index("</table>", page.index('id="growth-table"'))]
    for words in ("น้ำหนักตามเกณฑ์ความยาว/ส่วนสูง", "ดัชนีมวลกายตามเกณฑ์อายุ", "รอบศีรษะตามเกณฑ์อายุ",
                  "−3 ถึง −2 SD", "คิดเป็นความยาว 80.7 ซม. (WHO)", "ท่ายืน", "วัดซ้ำยืนยันแล้ว", "8.9 กก."):
        assert words in table, words
    assert "-2.15" in table
    assert re.search(r'data-indicator="weight_for_length"', page)
    assert re.search(r'data-indicator="weight_for_height"', page)


def test_past_61_months_a_measurement_is_on_the_age_charts_only():
    growth = {"points": [{"age_days": 2000, "weight_kg": 18.0, "height_cm": 110.0, "plotted_cm": 110.0,
                          "plotted_as": "height", "z": {"z_wfa": -0.2, "z_lhfa": 0.1, "z_wflh": None}}]}
    assert set(charts.normalise(growth)) == {"weight_for_age", "length_height_for_age"}
