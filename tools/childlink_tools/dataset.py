"""A simulated Bangkok: N children's events from the four departments, in the order they are sent,
with the ground truth tests and benchmarks check the system against.

Deterministic for a given seed and `now`: each child draws from its own random stream
(`"<seed>/child/<index>"`), each centre from `"<seed>/centre/<code>"`.
"""

import random
from dataclasses import dataclass

from .care_history import care_history
from .centre_history import centre_history
from .delivery import Delivery, DeliveryLog
from .health_history import health_history
from .hospital_history import hospital_history
from .places import bangkok
from .population import Child, make_child
from .recorder import Recorder
from .timing import bangkok_now


@dataclass
class Dataset:
    now: object  # the aware datetime the simulation ran up to
    events: list  # [(department, event)] in sending order, duplicates included
    children: list  # [population.Child]: identity, local ids per department, outcomes
    delivery: DeliveryLog

    def child_by_local_id(self):
        """{(department, local_id): child key}: which records are the same child."""
        return {(department, local_id): child.key
                for child in self.children for department, local_id in child.local_ids.items()}


def generate_dataset(children: int, seed: int = 0, now=None) -> Dataset:
    now = bangkok_now(now)
    places = bangkok()
    delivery = Delivery(now)
    taken_ids, population, centres = set(), [], {}
    for index in range(1, children + 1):
        rng = random.Random(f"{seed}/child/{index}")
        child: Child = make_child(index, rng, now, places, taken_ids)
        recorder = Recorder(child, rng, now, places)
        referrals = health_history(child, recorder)
        hospital_history(child, recorder, referrals)
        care_history(child, recorder)
        delivery.deliver(recorder.happenings, rng)
        population.append(child)
        if child.cdc:
            centres.setdefault(child.cdc.facility.code, child.cdc.facility)
    for code in sorted(centres):
        rng = random.Random(f"{seed}/centre/{code}")
        delivery.deliver(centre_history(centres[code], rng, now), rng)
    in_order = sorted(delivery.dispatches, key=lambda dispatch: dispatch.send_at)  # stable on ties
    events = [(dispatch.department, dispatch.event) for dispatch in in_order]
    return Dataset(now, events, population, delivery.log)


def generate(children: int, seed: int = 0, now=None) -> list:
    """[(department, event)] for `children` children, in sending order."""
    return generate_dataset(children, seed, now).events
