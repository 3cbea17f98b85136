"""The operator pages' own Thai and English strings (messages/<lang>.json, keys `op.*`), looked up
before the gateway's catalogues, so the shared page frame (nav, errors) keeps its own words. The city
pages layer theirs the same way (childlink_gateway.city, keys `city.*`)."""

import functools
import json
from importlib import resources

FALLBACK = "en"


OWN = "childlink_gateway.operations"


@functools.cache
def catalogue(lang, package=OWN):
    path = resources.files(package) / "messages" / f"{lang}.json"
    return json.loads(path.read_text("utf-8")) if path.is_file() else {}


class Layered:
    def __init__(self, base, package=OWN):
        self.base = base
        self.lang = base.lang
        self.messages = catalogue(self.lang, package)
        self.fallback = catalogue(FALLBACK, package)

    def __call__(self, key, **params):
        text = self.messages.get(key) or self.fallback.get(key)
        if text is None:
            return self.base(key, **params)
        return text.format(**params) if params else text

    def has(self, key):
        return bool(self.messages.get(key) or self.fallback.get(key)) or self.base.has(key)

    def maybe(self, prefix, value):
        if value is None or value == "":
            return ""
        key = f"{prefix}.{value}"
        text = self.messages.get(key) or self.fallback.get(key)
        return text if text is not None else self.base.maybe(prefix, value)


def layered(translator, package=OWN):
    return translator if isinstance(translator, Layered) else Layered(translator, package)
