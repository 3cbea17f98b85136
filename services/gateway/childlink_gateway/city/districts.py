"""Bangkok's 50 districts with their Thai and English names (shared/data/bangkok-districts.csv) and the
city's six district groups (กลุ่มเขต, BMA), which the city map lays out as tiles."""

import csv
import functools
from importlib import resources

ZONES = ("north_thonburi", "north", "east", "south_thonburi", "central", "south")  # map order: 2 rows of 3


@functools.cache
def districts():
    with (resources.files("childlink_gateway.city") / "districts.csv").open(encoding="utf-8") as handle:
        return {row["code"]: row for row in csv.DictReader(handle)}


def name(code, lang):
    row = districts().get(str(code))
    if row is None:
        return str(code)
    return row["name_th"] if lang == "th" else row["name_en"]


def by_zone():
    grouped = {zone: [] for zone in ZONES}
    for code, row in districts().items():
        grouped[row["zone"]].append(code)
    return grouped


def is_district(code):
    return str(code) in districts()
