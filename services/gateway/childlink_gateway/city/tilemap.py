"""The city map: Bangkok's 50 districts as tiles, grouped by the city's six district groups (two rows of
three, roughly as they lie: Thonburi to the west, the east beyond), each tile coloured by its figure
against the indicator's target. Server-drawn SVG: the pages carry no script."""

from markupsafe import Markup, escape

from .districts import ZONES, by_zone, name

TILE, GAP, COLS = 78, 6, 3
ZONE_W = COLS * (TILE + GAP)
HEAD = 26


def status_of(cell):
    if cell is None:
        return "none"
    if cell.get("suppressed"):
        return "small"
    if cell.get("meets") is True:
        return "meets"
    if cell.get("meets") is False:
        return "misses"
    return "none" if cell.get("value") in (None, 0) else "value"


def shown(cell, rate):
    if cell is None:
        return "-"
    if cell.get("suppressed"):
        return "<5"
    value = cell.get("value")
    if value is None:
        return "-"
    return f"{value:.1f}%" if rate else f"{int(value)}"


def tile_map(cells, t, lang, rate, link):
    """`cells`: {district code: value dict}; `link(code)`: the district page's URL."""
    grouped = by_zone()
    rows = [ZONES[:3], ZONES[3:]]
    zone_h = [-(-max(len(grouped[z]) for z in row) // COLS) for row in rows]  # tile rows, rounded up
    height = sum(HEAD + n * (TILE + GAP) + GAP for n in zone_h)
    width = 3 * (ZONE_W + 2 * GAP)
    parts = [(f'<svg class="tilemap" id="city-map" viewBox="0 0 {width} {height}" role="img" '
              f'aria-label="{escape(t("city.map.label"))}" xmlns="http://www.w3.org/2000/svg">')]
    y = 0
    for row, rows_in_zone in zip(rows, zone_h, strict=True):
        for column, zone in enumerate(row):
            x0 = column * (ZONE_W + 2 * GAP)
            parts.append(f'<text class="zone" x="{x0 + GAP}" y="{y + 18}">{escape(t("city.zone." + zone))}</text>')
            for index, code in enumerate(grouped[zone]):
                cell = cells.get(code)
                tx = x0 + GAP + (index % COLS) * (TILE + GAP)
                ty = y + HEAD + (index // COLS) * (TILE + GAP)
                label = name(code, lang)
                short = label if len(label) <= 11 else label[:10] + "…"
                parts.append(
                    f'<a href="{escape(link(code))}" id="tile-{code}" data-status="{status_of(cell)}">'
                    f'<title>{escape(label)}: {escape(shown(cell, rate))}</title>'
                    f'<rect class="tile st-{status_of(cell)}" x="{tx}" y="{ty}" width="{TILE}" height="{TILE}" rx="6"/>'
                    f'<text class="tname" x="{tx + TILE / 2}" y="{ty + 30}">{escape(short)}</text>'
                    f'<text class="tval" x="{tx + TILE / 2}" y="{ty + 54}">{escape(shown(cell, rate))}</text></a>')
        y += HEAD + rows_in_zone * (TILE + GAP) + GAP
    parts.append("</svg>")
    return Markup("".join(parts))
