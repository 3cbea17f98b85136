"""Is a page in one language? The words of a Thai page that are English, or of an English page that are
Thai, outside codes (<code>, <pre>, class="code", ids, facility and event codes, acronyms) and the
proper names the caller says come from the data. Used by the gateway's unit tests and the browser tests."""

import html as htmllib
import re

THAI = re.compile(r"[\u0E00-\u0E7F]+")
# Proper names and codes kept as they are in both languages; the language switch names each language in itself.
KEPT = frozenset({"childlink", "DSPM", "TEDA4I", "EPI", "ICD", "WHO", "e-Refer", "RabbitMQ", "JSON", "FHIR", "BCG",
                  "HBV", "DTP", "OPV", "IPV", "MMR", "JE", "LAJE", "HPV", "Td", "DTP-HB-Hib", "Hib", "BE", "CE",
                  "OK", "z", "DTwP", "English", "ไทย", "Prometheus"})


def visible_text(page):
    """The page's words: not scripts or drawings, nor what it marks as a code (<code>, <pre>, class="code")."""
    page = re.sub(r"(?s)<(script|style|svg|code|pre)\b.*?</\1>", " ", page)
    page = re.sub(r'(?s)<(\w+)\b[^>]*class="(?:[^"]* )?code(?: [^"]*)?"[^>]*>[^<]*</\1>', " ", page)
    page = re.sub(r"(?s)<[^>]+>", " ", page)
    return htmllib.unescape(page)


def english_words(text):
    """Words of Latin letters that are neither codes nor kept names."""
    words = []
    for chunk in text.split():
        chunk = chunk.strip("()[]{},;:!?\"'«»·…→←")
        if not chunk or chunk in KEPT or re.search(r"[0-9._@/=#<>-]", chunk) or chunk.isupper():
            continue
        words += re.findall(r"[A-Za-z]{2,}", chunk)
    return words


def foreign(page, lang, data=()):
    """The words of `page` (HTML) not in `lang` ("th" or "en"); `data`: strings from the records shown."""
    text = visible_text(page)
    for value in sorted((v for v in data if len(v) >= 3), key=len, reverse=True):
        text = text.replace(value, " ")
    if lang == "th":
        return english_words(text)
    return [word for word in THAI.findall(text) if word not in KEPT]
