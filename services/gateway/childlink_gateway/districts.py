"""Bangkok's 50 districts by code, named in the viewer's language.

data/bangkok-districts.csv is a copy of the project's shared district list (code, name_th, name_en: the
BMA's สำนักงานเขต codes 1001-1050), as tools/childlink_tools/data has it too.
"""

import csv
import functools
import io
from importlib import resources


@functools.cache
def _names():
    text = (resources.files("childlink_gateway") / "data" / "bangkok-districts.csv").read_text(encoding="utf-8")
    return {row["code"]: {"th": row["name_th"], "en": row["name_en"]} for row in csv.DictReader(io.StringIO(text))}


def district_name(code, lang="th"):
    """'พระนคร' / 'Phra Nakhon' for '1001'; the code itself when unknown (shown as a code), '' for none."""
    if not code:
        return ""
    names = _names().get(str(code))
    return names[lang if lang in names else "th"] if names else str(code)


def known(code):
    return str(code) in _names()
