"""Thai and English: every UI string lives in messages/<lang>.json, looked up by key.

A key missing from a catalogue falls back to English, then to the key itself, so a page never breaks
over a string; tests/test_gateway_i18n.py keeps the two catalogues in step with the templates.
"""

import functools
import json
from importlib import resources

LANGUAGES = ("th", "en")
FALLBACK = "en"


@functools.cache
def catalogue(lang):
    text = (resources.files("childlink_gateway") / "messages" / f"{lang}.json").read_text("utf-8")
    return json.loads(text)


class Translator:
    def __init__(self, lang):
        self.lang = lang if lang in LANGUAGES else FALLBACK
        self.messages = catalogue(self.lang)
        self.fallback = catalogue(FALLBACK)

    def __call__(self, key, **params):
        text = self.messages.get(key) or self.fallback.get(key) or key
        return text.format(**params) if params else text

    def has(self, key):
        return bool(self.messages.get(key) or self.fallback.get(key))

    def maybe(self, prefix, value):
        """A coded value (status, reason, department...) in words, or the code itself when unknown."""
        if value is None or value == "":
            return ""
        key = f"{prefix}.{value}"
        text = self.messages.get(key) or self.fallback.get(key)
        return text or str(value)
