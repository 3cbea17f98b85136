"""City-scale events for the benchmark, stamped from the simulator's realistic ones.

The simulator (childlink_tools) writes a child's whole history, ~34 events a child over six years, at
~2.5 ms a child: far too slow for 300,000 children. Here a few hundred simulated children serve as
templates, and synthetic child `i` is a copy of template `i % templates` with its own identity: a
checksum-valid national ID derived from `i` (when the template child has one), local ids suffixed
with `i`, and every event_id / correlation_id / supersedes re-derived from (`i`, old id). So every
synthetic child is distinct to the identity rules, every event is valid against the contracts, and
the whole thing is deterministic.

The first-load mix the issue names (1,000,000 events over 300,000 children) is ~3.3 events a child:
`events_for(i)` takes 3 or 4 of the template child's events (every third child gets 4), a sample
dominated, like the city's records, by health-centre immunisations and growth measurements. (Being a
sample of a history, it leaves gaps the referral rules notice: many of these children get an
"immunisation overdue" referral, as children with patchy records would in a real first load.)
"""

import json
import uuid
from collections import defaultdict

from childlink_contracts.national_id import with_check_digit
from childlink_referral.identity import keys_for, profile_of
from childlink_referral.timeline import entry_from_event, utc_key
from childlink_tools.dataset import generate_dataset

NAMESPACE = uuid.UUID("3f0d6a8e-6c1b-4f43-9a55-3c8f1f2b7a10")
NODE_MASK = (1 << 48) - 1
DEPARTMENTS = ("social", "education", "health", "medical")


def stamped_id(index, old):
    """`old` (a UUID) with its last 48 bits XOR-ed with a function of `index` that is one-to-one for
    index < 2**48: distinct per index, still a valid UUID (version and variant bits untouched)."""
    if not old:
        return old
    mask = (index * 0x9E3779B97F4A7C15) & NODE_MASK
    return f"{old[:-12]}{int(old[-12:], 16) ^ mask:012x}"


def national_id_for(index):
    return with_check_digit(f"5{index:011d}")


def child_id_for(index):
    """A synthetic child's id in the referral store when it is pre-loaded (uuid-shaped)."""
    return f"{NAMESPACE.hex[:8]}-{NAMESPACE.hex[8:12]}-4{NAMESPACE.hex[13:16]}-8{NAMESPACE.hex[17:20]}-{index:012x}"


class Templates:
    def __init__(self, children=300, seed=7):
        dataset = generate_dataset(children, seed)
        owner = dataset.child_by_local_id()
        by_child, seen = defaultdict(list), set()
        for department, event in dataset.events:
            if event["event_id"] in seen or "child" not in event["subject"]:
                continue  # the simulator's deliberate re-sends and centre events are left out
            seen.add(event["event_id"])
            by_child[owner[(department, event["subject"]["child"]["local_id"])]].append((department, event))
        self.children = [by_child[key] for key in sorted(by_child) if len(by_child[key]) >= 4]
        self._plans = None

    def history(self, index):
        """The template child's whole history (~34 events), stamped as synthetic child `index`."""
        return [(department, stamp(event, index)) for department, event in self._template(index)]

    def picks(self, index):
        """Which of the template's events synthetic child `index` has: 3 or 4, spread over its history."""
        size = len(self._template(index))
        count = 4 if index % 3 == 0 else 3
        start = (index * 7919) % size
        return sorted({(start + j * (size // count)) % size for j in range(count)})

    def events_for(self, index):
        """3 or 4 events of synthetic child `index` (3.33 a child on average), in history order."""
        template = self._template(index)
        return [(template[p][0], stamp(template[p][1], index)) for p in self.picks(index)]

    def _template(self, index):
        return self.children[index % len(self.children)]

    # --- fast rows for pre-loading the referral store ----------------------------------------------

    def rows_for(self, index, stored_at):
        """The referral store rows synthetic child `index` gets from its first-load events, as the
        referral service would write them: (keys, profile row, timeline rows). String templates, so
        that 300,000 children take a minute, not ten."""
        plans = self._plan_rows(stored_at)[index % len(self.children)]
        child_id = child_id_for(index)
        national_id = national_id_for(index)
        mask = (index * 0x9E3779B97F4A7C15) & NODE_MASK
        keys, timeline, newest = [], [], None
        for p in self.picks(index):
            plan = plans[p]
            for key in plan["keys"]:
                keys.append((key.replace("@NID@", national_id).replace("@I@", str(index)), child_id))
            text = plan["entry"].replace("@CHILD@", child_id)
            for old in plan["ids"]:
                text = text.replace(old, f"{old[:-12]}{int(old[-12:], 16) ^ mask:012x}")
            timeline.append((stamped_id(index, plan["event_id"]), child_id, plan["occurred_at_utc"], text))
            if newest is None or plan["occurred_at_utc"] >= newest[0]:
                newest = (plan["occurred_at_utc"], plan["profile"])
        profile = (child_id, newest[1].replace("@NID@", national_id), newest[0])
        return list(dict.fromkeys(keys)), profile, timeline

    def _plan_rows(self, stored_at):
        if self._plans is None:
            self._plans = [[self._plan(department, event, stored_at) for department, event in events]
                           for events in self.children]
        return self._plans

    @staticmethod
    def _plan(department, event, stored_at):
        child = event["subject"]["child"]
        marked = dict(event)
        marked["subject"] = {"child": {**child, "local_id": f"{child['local_id']}-@I@",
                                       **({"national_id": "@NID@"} if child.get("national_id") else {})}}
        event = {**event, "correlation_id": event.get("correlation_id") or event["event_id"]}
        entry = entry_from_event(event, "@CHILD@", stored_at)
        keys = ["nid:@NID@"] if child.get("national_id") else []
        keys.append(f"local:{department}:{event['source']['facility']['code']}:{child['local_id']}-@I@")
        ids = [i for i in {event["event_id"], event.get("correlation_id"), event.get("supersedes")} if i]
        return {
            "event_id": event["event_id"],
            "occurred_at_utc": utc_key(event["occurred_at"]),
            "entry": json.dumps(entry, ensure_ascii=False, separators=(",", ":")),
            "ids": ids,
            "keys": keys,
            "profile": json.dumps(profile_of(marked), ensure_ascii=False),
        }


def stamp(event, index):
    """A copy of `event` about synthetic child `index`. Only the changed parts are copied."""
    child = dict(event["subject"]["child"])
    child["local_id"] = f"{child['local_id']}-{index}"
    if child.get("national_id"):
        child["national_id"] = national_id_for(index)
    copy = dict(event)
    copy["subject"] = {"child": child}
    copy["event_id"] = stamped_id(index, event["event_id"])
    copy["correlation_id"] = stamped_id(index, event.get("correlation_id") or event["event_id"])
    if event.get("supersedes"):
        copy["supersedes"] = stamped_id(index, event["supersedes"])
    return copy


def first_load(templates, first, count):
    """Synthetic children first..first+count-1, each child's events together, as [(department, event)]."""
    events = []
    for index in range(first, first + count):
        events.extend(templates.events_for(index))
    return events


def interleave(events, seed=11):
    """Departments send in their own time: shuffle so no child's events arrive back to back."""
    import random

    shuffled = list(events)
    random.Random(seed).shuffle(shuffled)
    return shuffled


__all__ = [
    "DEPARTMENTS",
    "Templates",
    "child_id_for",
    "first_load",
    "interleave",
    "keys_for",
    "national_id_for",
    "stamp",
    "stamped_id",
]
