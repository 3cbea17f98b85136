"""Test helpers: the monitor in-process behind an RPC-like proxy, and a replayer that only records.

`InProcessMonitor(app)` answers like `RpcProxy("monitor")` does: each call's arguments and answer go
through JSON, as nameko's serializer would take them, so a value RPC could not carry fails here too.
"""

import json


class RecordingReplayer:
    def __init__(self, fail_with=None):
        self.published = []
        self.fail_with = fail_with

    def publish(self, queue, body, headers, properties):
        if self.fail_with is not None:
            raise self.fail_with
        self.published.append({"queue": queue, "body": body, "headers": headers, "properties": properties})

    def close(self):
        pass


class InProcessMonitor:
    def __init__(self, app):
        self.app = app
        self.calls = []

    def __getattr__(self, method):
        target = getattr(self.app, method)

        def call(*args):
            args = json.loads(json.dumps(args))
            self.calls.append((method, args))
            return json.loads(json.dumps(target(*args)))

        return call
