"""The growth charts as inline SVG, drawn on the server from what `child_page` returns. No script, no CDN.

Two forms, picked by the data:
- with WHO reference curves for an indicator (`bands`): the child's measurements over the -3..+3 SD
  curves, the normal range (-2..+2) green, the -3..-2 and +2..+3 ranges amber, beyond 3 SD red;
- with z-scores only: the z-score over age against the same bands drawn flat.

Weight-for-age and length/height-for-age are drawn over age; weight-for-length (under 2 years) and
weight-for-height (from 2 years) over the length/height, each against its own WHO table. Points go
where WHO computes them: a length/height converted for the position it was measured in (the referral
service sends it as `plotted_cm` / `plotted_as`), so the length-to-height step at 24 months shows.

`normalise` accepts the few shapes the referral service may send (see its docstring); the rest of
the module works on plain (x, value) pairs.
"""

import datetime as dt
import math
from dataclasses import dataclass, field

from markupsafe import Markup, escape

from .dates import parse

INDICATORS = {
    # indicator: (measurement key, z-score keys it may come under, unit)
    "weight_for_age": ("weight_kg", ("z_wfa", "wfa_z", "weight_for_age", "wfa"), "kg"),
    "length_height_for_age": ("height_cm", ("z_lhfa", "lhfa_z", "height_for_age", "length_height_for_age",
                                            "lhfa", "hfa"), "cm"),
    "weight_for_length": ("weight_kg", ("z_wflh", "wflh_z", "wfl", "wflh"), "kg"),
    "weight_for_height": ("weight_kg", ("z_wflh", "wflh_z", "wfh", "wflh"), "kg"),
}
BY_LENGTH = {"weight_for_length": "length", "weight_for_height": "height"}  # drawn over the length/height
SWITCH_DAYS = 731  # WHO: the length table below 731 days, the height table from 731
WFLH_UNTIL_DAYS = 1856  # the last day WHO's 2006 standards score
SD_NAMES = {
    -3: ("-3", "sd-3", "sd3neg", "minus3", "SD3neg", "z-3"),
    -2: ("-2", "sd-2", "sd2neg", "minus2", "SD2neg", "z-2"),
    0: ("0", "sd0", "median", "SD0", "m", "z0"),
    2: ("2", "+2", "sd2", "sd+2", "plus2", "SD2", "z2"),
    3: ("3", "+3", "sd3", "sd+3", "plus3", "SD3", "z3"),
}
AGE_DAYS_PER_MONTH = 30.4375
WIDTH, HEIGHT = 640, 300
PAD_L, PAD_R, PAD_T, PAD_B = 62, 16, 14, 46  # room for the axis titles clear of the tick labels
GREEN, AMBER, RED = "#dcefdc", "#fbecc7", "#f7d6d2"


@dataclass
class Point:
    age_months: float
    value: float | None
    z: float | None
    when: object = None
    x: float | None = None  # the length/height (cm) for the by-length charts, else the age in months

    def __post_init__(self):
        if self.x is None:
            self.x = self.age_months


@dataclass
class Series:
    indicator: str
    unit: str
    points: list = field(default_factory=list)
    bands: list = field(default_factory=list)  # [(age_months, {-3: v, -2: v, 0: v, 2: v, 3: v})]


def _number(value):
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _age(row, birth_date):
    if _number(row.get("age_months")) is not None:
        return _number(row["age_months"])
    if _number(row.get("age_days")) is not None:
        return _number(row["age_days"]) / AGE_DAYS_PER_MONTH
    when = row.get("occurred_at") or row.get("measured_on") or row.get("date") or row.get("at")
    born, measured = parse(birth_date), parse(when)
    if born is None or measured is None:
        return None
    born = born.date() if isinstance(born, dt.datetime) else born
    measured = measured.date() if isinstance(measured, dt.datetime) else measured
    return (measured - born).days / AGE_DAYS_PER_MONTH


def _z(row, names):
    for container in (row, row.get("z") or {}, row.get("z_scores") or {}, row.get("zscores") or {}):
        if isinstance(container, dict):
            for name in names:
                if _number(container.get(name)) is not None:
                    return _number(container[name])
    return None


def _band_row(row):
    sds = row.get("sd") if isinstance(row.get("sd"), dict) else row
    found = {}
    for z, names in SD_NAMES.items():
        for name in names:
            if _number(sds.get(name)) is not None:
                found[z] = _number(sds[name])
                break
    return found if len(found) == len(SD_NAMES) else None


def _plotted(row, age):
    """(the length/height WHO computes with, "length" | "height") for a point; without the referral's
    `plotted_cm` the height as measured, its basis by age."""
    cm = _number(row.get("plotted_cm"))
    basis = row.get("plotted_as") if row.get("plotted_as") in ("length", "height") else None
    if cm is None:
        cm = _number(row.get("height_cm"))
    if basis is None and age is not None:
        basis = "length" if age * AGE_DAYS_PER_MONTH < SWITCH_DAYS - 0.5 else "height"
    return cm, basis


def _point(indicator, row, age, measure, z_names):
    z = _z(row, z_names)
    if indicator in BY_LENGTH:
        if age > WFLH_UNTIL_DAYS / AGE_DAYS_PER_MONTH:
            return None  # WHO's weight-for-length/height is for the under-fives only
        cm, basis = _plotted(row, age)
        if basis != BY_LENGTH[indicator] or cm is None:
            return None
        value = _number(row.get(measure))
        return Point(age, value, z, _when(row), x=cm) if value is not None or z is not None else None
    value = _plotted(row, age)[0] if indicator == "length_height_for_age" else _number(row.get(measure))
    return Point(age, value, z, _when(row)) if value is not None or z is not None else None


def _when(row):
    return row.get("occurred_at") or row.get("measured_on") or row.get("date")


def _band_x(indicator, row, birth_date):
    if indicator in BY_LENGTH:
        return _number(row.get("length_cm") if "length_cm" in row else row.get("height_cm"))
    return _age(row, birth_date)


def normalise(growth, birth_date=None):
    """{indicator: Series} from `growth`, which may be a list of points or
    {"points": [...], "bands": {indicator: [{"age_months"|"age_days", "sd": {"-3": v, ..., "3": v}}]}}.
    A point carries its age (age_months, age_days, or a date and the birth date), its measurements
    (weight_kg, height_cm) and its z-scores (z_wfa / z_lhfa, flat or under "z")."""
    if isinstance(growth, list):
        rows, band_sets = growth, {}
    elif isinstance(growth, dict):
        rows, band_sets = growth.get("points") or [], growth.get("bands") or {}
        birth_date = growth.get("birth_date") or birth_date
    else:
        rows, band_sets = [], {}
    series = {}
    for indicator, (measure, z_names, unit) in INDICATORS.items():
        one = Series(indicator, unit)
        for row in rows if isinstance(rows, list) else []:
            if not isinstance(row, dict):
                continue
            age = _age(row, birth_date)
            point = _point(indicator, row, age, measure, z_names) if age is not None else None
            if point is not None:
                one.points.append(point)
        one.points.sort(key=lambda p: p.age_months)
        raw_bands = band_sets.get(indicator) if isinstance(band_sets, dict) else None
        for row in raw_bands if isinstance(raw_bands, list) else []:
            x = _band_x(indicator, row, birth_date) if isinstance(row, dict) else None
            sds = _band_row(row) if isinstance(row, dict) else None
            if x is not None and sds:
                one.bands.append((x, sds))
        one.bands.sort(key=lambda b: b[0])
        drawable = one.points and (indicator not in BY_LENGTH or any(p.z is not None for p in one.points)
                                   or (one.bands and any(p.value is not None for p in one.points)))
        if drawable:
            series[indicator] = one
    return series


def _nice_ticks(low, high, count=5):
    span = max(high - low, 1e-9)
    magnitude = 10 ** math.floor(math.log10(span / count))
    for step in (magnitude, 2 * magnitude, 2.5 * magnitude, 5 * magnitude, 10 * magnitude):
        if span / step <= count:
            break
    first = (low // step) * step
    ticks, value = [], first
    while value <= high + 1e-9:
        if value >= low - 1e-9:
            ticks.append(round(value, 6))
        value += step
    return ticks


def _fmt(number):
    return f"{number:.1f}".rstrip("0").rstrip(".")


class _Frame:
    def __init__(self, x_low, x_high, y_low, y_high):
        self.x_low, self.x_high = x_low, max(x_high, x_low + 1)
        self.y_low, self.y_high = y_low, max(y_high, y_low + 1e-6)

    def x(self, value):
        return PAD_L + (value - self.x_low) / (self.x_high - self.x_low) * (WIDTH - PAD_L - PAD_R)

    def y(self, value):
        return HEIGHT - PAD_B - (value - self.y_low) / (self.y_high - self.y_low) * (HEIGHT - PAD_T - PAD_B)

    def xy(self, x, y):
        return f"{self.x(x):.1f},{self.y(y):.1f}"


def _area(frame, lower, upper, colour):
    """A band between two curves [(x, y)], as one polygon."""
    path = [frame.xy(x, y) for x, y in upper] + [frame.xy(x, y) for x, y in reversed(lower)]
    return f'<polygon points="{" ".join(path)}" fill="{colour}" stroke="none"/>'


def _axes(frame, x_label, y_label, y_ticks, x_ticks):
    parts = []
    for tick in y_ticks:
        y = frame.y(tick)
        parts.append(f'<line x1="{PAD_L}" y1="{y:.1f}" x2="{WIDTH - PAD_R}" y2="{y:.1f}" stroke="#d9d9d9" '
                     f'stroke-width="0.5"/>')
        parts.append(f'<text x="{PAD_L - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
                     f'fill="#555">{escape(_fmt(tick))}</text>')
    for tick in x_ticks:
        x = frame.x(tick)
        parts.append(f'<line x1="{x:.1f}" y1="{HEIGHT - PAD_B}" x2="{x:.1f}" y2="{HEIGHT - PAD_B + 4}" '
                     f'stroke="#777"/>')
        parts.append(f'<text x="{x:.1f}" y="{HEIGHT - PAD_B + 16}" text-anchor="middle" font-size="11" '
                     f'fill="#555">{escape(_fmt(tick))}</text>')
    parts.append(f'<line x1="{PAD_L}" y1="{HEIGHT - PAD_B}" x2="{WIDTH - PAD_R}" y2="{HEIGHT - PAD_B}" '
                 f'stroke="#777"/>')
    parts.append(f'<line x1="{PAD_L}" y1="{PAD_T}" x2="{PAD_L}" y2="{HEIGHT - PAD_B}" stroke="#777"/>')
    # titles a full line away from the tick labels (Thai vowels and tone marks stand tall)
    parts.append(f'<text class="axis-title" x="{(PAD_L + WIDTH - PAD_R) / 2:.0f}" y="{HEIGHT - 8}" '
                 f'text-anchor="middle" font-size="12" fill="#333">{escape(x_label)}</text>')
    middle = (PAD_T + HEIGHT - PAD_B) / 2
    parts.append(f'<text class="axis-title" x="16" y="{middle:.0f}" text-anchor="middle" font-size="12" '
                 f'fill="#333" transform="rotate(-90 16 {middle:.0f})">{escape(y_label)}</text>')
    return parts


def _child_line(frame, pairs, label):
    parts = []
    if len(pairs) > 1:
        parts.append(f'<polyline points="{" ".join(frame.xy(x, y) for x, y in pairs)}" fill="none" '
                     f'stroke="#1f4e9c" stroke-width="2"/>')
    for x, y in pairs:
        parts.append(f'<circle cx="{frame.x(x):.1f}" cy="{frame.y(y):.1f}" r="3.5" fill="#1f4e9c">'
                     f'<title>{escape(label(x, y))}</title></circle>')
    return parts


def _x_range(series, pairs):
    if series.indicator in BY_LENGTH:
        low = math.floor(min(x for x, _ in pairs) / 5) * 5 - 5
        high = math.ceil(max(x for x, _ in pairs) / 5) * 5 + 5
        return (max(low, series.bands[0][0]) if series.bands else low,
                min(high, series.bands[-1][0]) if series.bands else high)
    x_high = max(max(x for x, _ in pairs), 12.0) + 2
    # End the chart at the first reference age past the child's last point, so the bands fill it.
    return 0.0, next((age for age, _ in series.bands if age >= x_high), x_high)


def render(series, t, title):
    """One SVG chart for one Series; `t` is the page's Translator (axis labels, legend)."""
    by_length = series.indicator in BY_LENGTH
    x_label = t(f"chart.{BY_LENGTH[series.indicator]}_cm") if by_length else t("chart.age_months")
    x_unit = t("unit.cm") if by_length else t("chart.months_short")
    unit = t(f"unit.{series.unit}")
    if series.bands and any(p.value is not None for p in series.points):
        pairs = [(p.x, p.value) for p in series.points if p.value is not None]
        x_low, x_high = _x_range(series, pairs)
        bands = [(x, sds) for x, sds in series.bands if x_low <= x <= x_high] or series.bands
        y_low = min(min(s[-3] for _, s in bands), min(y for _, y in pairs))
        y_high = max(max(s[3] for _, s in bands), max(y for _, y in pairs))
        margin = (y_high - y_low) * 0.05
        frame = _Frame(x_low, x_high, max(y_low - margin, 0), y_high + margin)
        curve = {z: [(age, sds[z]) for age, sds in bands] for z in SD_NAMES}
        floor = [(x, frame.y_low) for x, _ in curve[-3]]
        ceiling = [(x, frame.y_high) for x, _ in curve[3]]
        parts = [_area(frame, floor, curve[-3], RED), _area(frame, curve[-3], curve[-2], AMBER),
                 _area(frame, curve[-2], curve[2], GREEN), _area(frame, curve[2], curve[3], AMBER),
                 _area(frame, curve[3], ceiling, RED)]
        parts.append(f'<polyline points="{" ".join(frame.xy(x, y) for x, y in curve[0])}" fill="none" '
                     f'stroke="#2e7d32" stroke-width="1" stroke-dasharray="4 3"/>')
        parts += _axes(frame, x_label, t("chart.axis.weight_kg" if series.unit == "kg" else "chart.axis.height_cm"),
                       _nice_ticks(frame.y_low, frame.y_high), _nice_ticks(frame.x_low, frame.x_high, 8))
        parts += _child_line(frame, pairs, lambda x, y: f"{_fmt(x)} {x_unit}: {_fmt(y)} {unit}")
        kind = "measure"
    else:
        pairs = [(p.x, p.z) for p in series.points if p.z is not None and p.x is not None]
        if not pairs:
            return Markup("")
        if by_length:
            x_low, x_high = math.floor(min(x for x, _ in pairs)) - 5, math.ceil(max(x for x, _ in pairs)) + 5
        else:
            x_low, x_high = 0.0, max(max(x for x, _ in pairs), 12.0) + 2
        z_low = min(-4.0, min(y for _, y in pairs) - 0.5)
        z_high = max(4.0, max(y for _, y in pairs) + 0.5)
        frame = _Frame(x_low, x_high, z_low, z_high)
        flat = {z: [(x_low, float(z)), (x_high, float(z))] for z in SD_NAMES}
        parts = [_area(frame, [(x_low, z_low), (x_high, z_low)], flat[-3], RED),
                 _area(frame, flat[-3], flat[-2], AMBER), _area(frame, flat[-2], flat[2], GREEN),
                 _area(frame, flat[2], flat[3], AMBER),
                 _area(frame, flat[3], [(x_low, z_high), (x_high, z_high)], RED)]
        parts += _axes(frame, x_label, t("chart.z_score"), [z for z in range(int(z_low), int(z_high) + 1)],
                       _nice_ticks(x_low, x_high, 8))
        parts += _child_line(frame, pairs, lambda x, y: f"{_fmt(x)} {x_unit}: z {y:+.2f}")
        kind = "z"
    body = "".join(parts)
    return Markup(
        f'<svg class="chart" data-kind="{kind}" data-indicator="{series.indicator}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
        f'<title>{escape(title)}</title>{body}</svg>')


TABLE_INDICATORS = ("wfa", "lhfa", "wflh", "bmi", "hcfa")  # the columns of the measurement table
BANDS = ("severe", "moderate", "normal", "high", "implausible")


def measurement_table(growth):
    """One row per measurement, newest first: its date, age, measures (and the length/height WHO
    computes with, when the position changed it), and every indicator's z-score and band."""
    rows = growth.get("points") if isinstance(growth, dict) else growth
    found = []
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict):
            continue
        z = row.get("z") if isinstance(row.get("z"), dict) else {}
        bands = row.get("band") if isinstance(row.get("band"), dict) else {}
        height, plotted = _number(row.get("height_cm")), _number(row.get("plotted_cm"))
        found.append({
            "when": _when(row), "age_months": _number(row.get("age_months")),
            "weight_kg": _number(row.get("weight_kg")), "height_cm": height,
            "head_circumference_cm": _number(row.get("head_circumference_cm")),
            "plotted_cm": plotted if plotted is not None and height is not None and abs(plotted - height) > 1e-6
            else None,
            "plotted_as": row.get("plotted_as"), "measured_lying": row.get("measured_lying"),
            "rechecked": bool(row.get("rechecked")),
            "cells": [{"indicator": key, "z": _number(z.get(f"z_{key}")),
                       "band": bands.get(key) if bands.get(key) in BANDS else None,
                       "flagged": bool((row.get("implausible") or {}).get(f"z_{key}"))}
                      for key in TABLE_INDICATORS],
        })
    found.sort(key=lambda r: r["age_months"] if r["age_months"] is not None else -1, reverse=True)
    return found
