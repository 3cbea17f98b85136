"""The Thai and English catalogues hold the same keys, and every key the pages use."""

import json
import re
import string
from importlib import resources

from childlink_gateway.i18n import Translator, catalogue

PACKAGE = resources.files("childlink_gateway")
KEY_CALL = re.compile(r"""(?<![\w.])(?:_|t|ctx\.t)\(\s*["']([a-z_]+\.[a-z_.]*[a-z_])["'](?!\s*\+)""")


def used_keys():
    found = set()
    sources = [p for p in (PACKAGE / "templates").iterdir() if p.name.endswith(".html")]
    sources += [p for p in PACKAGE.iterdir() if p.name.endswith(".py")]
    for path in sources:
        found.update(KEY_CALL.findall(path.read_text("utf-8")))
    return found


def placeholders(text):
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_catalogues_have_the_same_keys_and_no_empty_text():
    th, en = catalogue("th"), catalogue("en")
    assert set(th) == set(en)
    assert all(th.values()) and all(en.values())


def test_both_catalogues_use_the_same_placeholders():
    th, en = catalogue("th"), catalogue("en")
    assert {k: placeholders(v) for k, v in th.items()} == {k: placeholders(v) for k, v in en.items()}


def test_every_key_the_pages_use_is_in_the_catalogues():
    keys = used_keys()
    assert len(keys) > 80  # the pattern finds them
    assert sorted(keys - set(catalogue("en"))) == []


def test_every_coded_value_the_pages_spell_out_is_in_the_catalogues():
    from childlink_contracts.health import DSPM_DOMAINS, DSPM_RESULTS
    from childlink_contracts.medical import OUTCOMES
    from childlink_gateway import charts, pages, roles

    expected = {f"action.{a}" for a in roles.ACTIONS} | {f"action.done.{a}" for a in roles.ACTIONS}
    expected |= {f"access.{r}" for r in pages.ACCESS_REASONS} | {f"chart.{i}" for i in charts.INDICATORS}
    expected |= {f"status.{s}" for s in pages.STATUSES} | {f"reason.{r}" for r in pages.REASONS}
    expected |= {f"role.{r}" for r in roles.ROLES} | {f"outcome.{o}" for o in OUTCOMES}
    expected |= {f"domain.{d}" for d in DSPM_DOMAINS} | {f"result.{r}" for r in DSPM_RESULTS}
    expected |= {f"dept.{d}" for d in pages.DEPARTMENTS} | {f"refusal.{c}" for c in (
        "forbidden", "not_found", "invalid", "conflict", "not_allowed", "unavailable", "timeout", "error")}
    expected |= {f"imm.{s}" for s in ("given", "overdue", "due", "upcoming")}
    assert sorted(expected - set(catalogue("en"))) == []


def test_thai_text_is_thai():
    th = catalogue("th")
    assert re.search(r"[\u0E00-\u0E7F]", th["inbox.title"])
    assert sum(bool(re.search(r"[\u0E00-\u0E7F]", v)) for v in th.values()) > 0.8 * len(th)


def test_catalogues_are_valid_json_files():
    for lang in ("th", "en"):
        json.loads((PACKAGE / "messages" / f"{lang}.json").read_text("utf-8"))


def test_translator_formats_falls_back_and_spells_codes():
    t = Translator("th")
    assert t("inbox.count", total=3) == "3 รายการ"
    assert Translator("en")("pager.page", page=1, total=2) == "Page 1 of 2"
    assert t("no.such.key") == "no.such.key"
    assert t.maybe("status", "accepted") == "รับแล้ว"
    assert t.maybe("status", "brand_new") == "brand_new"
    assert t.maybe("status", None) == ""
    assert Translator("fr").lang == "en"
