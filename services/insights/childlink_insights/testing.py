"""Test helpers: the insights answers in-process behind an RPC-like proxy (arguments and answers go
through JSON, as nameko's serializer would take them)."""

import json

from .views import Answers


class InProcessInsights:
    def __init__(self, store):
        self.answers = Answers(store)
        self.calls = []

    def __getattr__(self, method):
        target = getattr(self.answers, method)

        def call(*args):
            args = json.loads(json.dumps(args))
            self.calls.append((method, args))
            return json.loads(json.dumps(target(*args)))

        return call
