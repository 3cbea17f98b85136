"""Operator charts as inline SVG drawn on the server: the live flow map, sparklines and per-flow charts.

Presentation attributes only (fill, stroke): the gateway's Content-Security-Policy allows no inline
style and no script. Every text is escaped; the values are counts and times, never child data.
"""

import datetime as dt
import math

from markupsafe import Markup, escape

BANGKOK = dt.timezone(dt.timedelta(hours=7))
STATUS_COLOURS = {
    "ok": ("#e5f3e6", "#2e7d32"), "no_traffic": ("#eef1f6", "#5d6675"), "silent": ("#fdf1d8", "#a86400"),
    "lag": ("#fdf1d8", "#a86400"), "outbox_growing": ("#fbe3e0", "#b3261e"),
    "outbox_unreachable": ("#fbe3e0", "#b3261e"), "dead_letters": ("#fbe3e0", "#b3261e"),
    "no_consumers": ("#fbe3e0", "#b3261e"),
}
SERIES_COLOURS = {"seen": "#1f4e9c", "stored": "#2e7d32", "failures": "#a86400", "dead_letters": "#b3261e",
                  "lag_pipeline_avg": "#6a3d9a", "outbox_backlog": "#b3261e"}


def _num(value):
    return f"{value:.1f}".rstrip("0").rstrip(".")


def sparkline(values, width=160, height=30, colour="#1f4e9c", label=""):
    """A bar per minute; the tallest bar is full height."""
    values = [v or 0 for v in values or []]
    if not values:
        return Markup("")
    top = max(values) or 1
    bar = width / len(values)
    bars = []
    for i, value in enumerate(values):
        if value:
            h = max(1.0, (height - 2) * value / top)
            bars.append(f'<rect x="{_num(i * bar)}" y="{_num(height - h)}" width="{_num(max(bar - 0.6, 0.6))}" '
                        f'height="{_num(h)}" fill="{colour}"/>')
    return Markup(
        f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(label)}"><rect x="0" y="{height - 1}" width="{width}" height="1" fill="#dde2ea"/>'
        + "".join(bars) + "</svg>")


def time_labels(end_iso, count, bucket_minutes, every):
    """(index, 'HH:MM' Bangkok) for every `every`-th bucket, the last bucket ending at end_iso."""
    try:
        end = dt.datetime.fromisoformat(end_iso).astimezone(BANGKOK)
    except (AttributeError, ValueError):
        return []
    out = []
    for i in range(0, count, max(1, every)):
        start = end - dt.timedelta(minutes=(count - i) * bucket_minutes)
        out.append((i, start.strftime("%H:%M")))
    return out


def nice_ticks(top, integer=False, most=5):
    """Round tick values from 0 to at least `top`: steps of 1, 2 or 5 times a power of ten (whole numbers
    only for counts), so an axis reads 0 100 200 300 400 500, never 106.1 212.2 318.4 424.5."""
    top = max(float(top), 1.0 if integer else 1e-9)
    raw = top / most
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw and not (integer and m == 2.5))
    if integer:
        step = max(1, round(step))
    count = math.ceil(top / step - 1e-9)
    return [round(step * i, 10) for i in range(count + 1)]


def _tick_text(value):
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.10g}"


def chart(series, *, end_iso, bucket_minutes, title, unit="", threshold=None, width=720, height=220,
          threshold_label=""):
    """series: [(name, label, values, "bar"|"line")]; bars side by side per bucket, lines over them."""
    pad_l, pad_r, pad_t, pad_b = 46, 12, 24, 30
    plot_w, plot_h = width - pad_l - pad_r, height - pad_t - pad_b
    count = max((len(values) for _, _, values, _ in series), default=0)
    if not count:
        return Markup("")
    numbers = [v for _, _, values, _ in series for v in values if v is not None]
    integer = all(float(v).is_integer() for v in [*numbers, threshold or 0])
    ticks = nice_ticks(max([*numbers, threshold or 0, 1 if integer else 0]) or 1, integer=integer)
    top = ticks[-1]
    step = plot_w / count
    bar_series = [s for s in series if s[3] == "bar"]
    parts = [f'<rect x="{pad_l}" y="{pad_t}" width="{plot_w}" height="{plot_h}" fill="#fff" stroke="#dde2ea"/>']
    for tick in ticks[1:]:
        y = pad_t + plot_h * (1 - tick / top)
        parts.append(f'<line x1="{pad_l}" x2="{pad_l + plot_w}" y1="{_num(y)}" y2="{_num(y)}" stroke="#eef1f6"/>')
        parts.append(f'<text class="tick" x="{pad_l - 4}" y="{_num(y + 4)}" font-size="10" text-anchor="end" '
                     f'fill="#5d6675">{escape(_tick_text(tick))}</text>')

    def y_of(value):
        return pad_t + plot_h * (1 - (value / top))

    for k, (name, _label, values, _kind) in enumerate(bar_series):
        width_each = max(step / max(len(bar_series), 1) - 0.5, 0.6)
        for i, value in enumerate(values):
            if value:
                x = pad_l + i * step + k * (step / len(bar_series))
                parts.append(f'<rect class="bar-{escape(name)}" x="{_num(x)}" y="{_num(y_of(value))}" '
                             f'width="{_num(width_each)}" height="{_num(pad_t + plot_h - y_of(value))}" '
                             f'fill="{SERIES_COLOURS.get(name, "#1f4e9c")}"/>')
    for name, _label, values, kind in series:
        if kind != "line":
            continue
        points = [(pad_l + (i + 0.5) * step, y_of(v)) for i, v in enumerate(values) if v is not None]
        if points:
            colour = SERIES_COLOURS.get(name, "#6a3d9a")
            path = " ".join(f"{_num(x)},{_num(y)}" for x, y in points)
            parts.append(f'<polyline class="line-{escape(name)}" points="{path}" fill="none" stroke-width="2" '
                         f'stroke="{colour}"/>')
            parts += [f'<circle cx="{_num(x)}" cy="{_num(y)}" r="2.5" fill="{colour}"/>' for x, y in points]
    if threshold is not None:
        y = y_of(threshold)
        parts.append(f'<line class="threshold" x1="{pad_l}" x2="{pad_l + plot_w}" y1="{_num(y)}" y2="{_num(y)}" '
                     f'stroke="#b3261e" stroke-dasharray="5 4"/>')
        parts.append(f'<text x="{pad_l + plot_w - 4}" y="{_num(y - 4)}" font-size="10" text-anchor="end" '
                     f'fill="#b3261e">{escape(threshold_label)}</text>')
    every = max(1, count // 6)
    for i, label in time_labels(end_iso, count, bucket_minutes, every):
        x = pad_l + i * step
        parts.append(f'<text x="{_num(x)}" y="{height - 10}" font-size="10" fill="#5d6675">{escape(label)}</text>')
    if unit:
        parts.append(f'<text x="4" y="14" font-size="10" fill="#5d6675">{escape(unit)}</text>')
    return Markup(f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
                  + "".join(parts) + "</svg>")


def flow_map(departments, t, width=980):
    """The live map: each department's box (rate, last seen, outbox) -> its queue (depth, consumers)
    -> the referral service -> referral.events. Boxes link to the department's flow page."""
    ingest = [d for d in departments if d["name"] != "referral"]
    referral = next((d for d in departments if d["name"] == "referral"), None)
    row_h, top = 96, 16
    height = max(top * 2 + row_h * len(ingest), 220)
    dept_x, dept_w, queue_x, queue_w, ref_x, ref_w, out_x, out_w = 10, 210, 310, 230, 610, 170, 825, 150
    parts = [('<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#5d6675"/></marker></defs>')]
    ref_y = height / 2 - 50

    def box(x, y, w, h, status, lines, href=None, ident=None):
        fill, stroke = STATUS_COLOURS.get(status, STATUS_COLOURS["ok"])
        inner = [(f'<rect x="{x}" y="{_num(y)}" width="{w}" height="{h}" rx="8" fill="{fill}" stroke="{stroke}" '
                 f'stroke-width="2"/>')]
        for i, (text, bold) in enumerate(lines):
            weight = ' font-weight="700"' if bold else ""
            inner.append(f'<text x="{x + 10}" y="{_num(y + 20 + i * 16)}" font-size="{13 if bold else 11}"{weight} '
                         f'fill="#1d2430">{escape(text)}</text>')
        group = f'<g class="node" data-status="{escape(status)}"' + (f' id="{escape(ident)}"' if ident else "") + ">"
        body = group + "".join(inner) + "</g>"
        return f'<a href="{escape(href)}">{body}</a>' if href else body

    def arrow(x1, y1, x2, y2, label, ident=None):
        ident_attr = f' id="{escape(ident)}"' if ident else ""
        mid_x, mid_y = (x1 + x2) / 2, (y1 + y2) / 2
        return (f'<g class="edge"{ident_attr}><line x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(x2)}" y2="{_num(y2)}" '
                f'stroke="#5d6675" stroke-width="1.5" marker-end="url(#arrow)"/>'
                f'<text x="{_num(mid_x)}" y="{_num(mid_y - 5)}" font-size="10" text-anchor="middle" '
                f'fill="#5d6675">{escape(label)}</text></g>')

    for i, dept in enumerate(ingest):
        y = top + i * row_h
        name = dept["name"]
        outbox = dept.get("outbox") or {}
        outbox_text = (t("op.map.outbox", n=outbox.get("backlog")) if outbox.get("ok")
                       else t("op.map.outbox_unknown") if outbox else "")
        seen = t("op.map.last_seen_ago", s=_ago(dept.get("last_seen_ago_s"), t)) if dept.get("last_seen") \
            else t("op.map.no_traffic")
        parts.append(box(dept_x, y, dept_w, 76, dept["status"],
                         [(t.maybe("dept", name), True), (t("op.map.rate", r=_num(dept["rate_per_min"])), False),
                          (seen, False), (outbox_text, False)], href=f"/operator/flows/{name}", ident=f"map-{name}"))
        queue = dept.get("queue") or {}
        q_status = "no_consumers" if queue and not queue.get("consumers") else (
            "ok" if queue else "no_traffic")
        q_lines = [(f"referral.{name}.events", True)]
        if queue:
            q_lines += [(t("op.map.depth", n=queue.get("messages", 0)), False),
                        (t("op.map.consumers", n=queue.get("consumers", 0)), False),
                        (t("op.map.rates", i=_num(queue.get("publish_rate", 0.0)),
                           o=_num(queue.get("ack_rate", 0.0))), False)]
        else:
            q_lines.append((t("op.map.queue_unknown"), False))
        parts.append(box(queue_x, y, queue_w, 76, q_status, q_lines, ident=f"map-queue-{name}"))
        parts.append(arrow(dept_x + dept_w, y + 38, queue_x, y + 38, f"{name}.events",
                           ident=f"edge-{name}"))
        parts.append(arrow(queue_x + queue_w, y + 38, ref_x, ref_y + 50, ""))
    if referral is not None:
        outbox = referral.get("outbox") or {}
        lines = [(t("op.map.referral"), True),
                 (t("op.map.stored_24h", n=sum(d.get("stored_24h", 0) for d in ingest)), False)]
        if outbox.get("ok"):
            lines.append((t("op.map.outbox", n=outbox.get("backlog")), False))
        lag = max((d["lag"]["avg_s"] for d in ingest if d.get("lag")), default=None)
        if lag is not None:
            lines.append((t("op.map.lag", s=_num(lag)), False))
        parts.append(box(ref_x, ref_y, ref_w, 100, referral["status"], lines, href="/operator/flows/referral",
                         ident="map-referral"))
        parts.append(box(out_x, ref_y + 12, out_w, 76, "ok" if referral.get("last_seen") else "no_traffic",
                         [("referral.events", True), (t("op.map.rate", r=_num(referral["rate_per_min"])), False),
                          (t("op.map.last_seen_ago", s=_ago(referral.get("last_seen_ago_s"), t))
                           if referral.get("last_seen") else t("op.map.no_traffic"), False)],
                         ident="map-referral-events"))
        parts.append(arrow(ref_x + ref_w, ref_y + 50, out_x, ref_y + 50, ""))
    return Markup(f'<svg class="flowmap" id="flow-map" viewBox="0 0 {width} {_num(height)}" role="img" '
                  f'aria-label="{escape(t("op.map.title"))}">' + "".join(parts) + "</svg>")


def _ago(seconds, t):
    if seconds is None:
        return "-"
    seconds = int(seconds)
    if seconds < 90:
        return t("op.ago.s", n=seconds)
    if seconds < 5400:
        return t("op.ago.m", n=seconds // 60)
    if seconds < 172800:
        return t("op.ago.h", n=seconds // 3600)
    return t("op.ago.d", n=seconds // 86400)


def ago(seconds, t):
    return _ago(seconds, t)


def duration(seconds, t):
    """A lag for reading: '0.42 s', '3.5 min', '5.2 h', '12 days'."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return t("op.dur.s", n=f"{seconds:.2f}")
    if seconds < 3600:
        return t("op.dur.m", n=f"{seconds / 60:.1f}")
    if seconds < 172800:
        return t("op.dur.h", n=f"{seconds / 3600:.1f}")
    return t("op.dur.d", n=f"{seconds / 86400:.0f}")
