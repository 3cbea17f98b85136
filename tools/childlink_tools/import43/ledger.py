"""Which version of each 43-file row the service took: key -> {d_update, event_id, supersedes}.

Kept as a JSON file (by default beside the files, `.childlink-import-43.json`), so that a later export
with a newer D_UPDATE for a row becomes a correction of the version sent before, and the same export
sent again reuses the same ids. Written atomically after each import, with only what the service took.
"""

import json
import os
from pathlib import Path

LEDGER_NAME = ".childlink-import-43.json"


def load(path):
    path = Path(path)
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def save(path, ledger):
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(ledger, sort_keys=True, indent=0), encoding="utf-8")
    os.replace(partial, path)


def record(ledger, prepared):
    ledger[prepared.key] = {"d_update": prepared.d_update, "event_id": prepared.event["event_id"],
                            **({"supersedes": prepared.event["supersedes"]} if prepared.event.get("supersedes")
                               else {})}
