"""The referral's partition entrypoints: batches from one partition queue, each message with its department.

A partition queue (childlink_common.partitions) holds every department's events, so the handler gets
`[(department, body), ...]`. The department is the exchange the department published to, which the
broker names in each delivery, also through the exchange-to-exchange binding; only that department's
broker user can publish there, so it is as trustworthy as the per-department queue it replaces. A
dead letter the monitor replays comes back through the default exchange with the relay's own
`department` header kept; a message with neither gets None, and the handler dead-letters it.

Own partitions are consumed at once; the others on a second connection opened
`REFERRAL_STANDBY_DELAY_S` later, so that this replica is on standby there (single active consumer:
the broker delivers to the first subscriber and promotes the next when it goes).
"""

import eventlet

from . import partitions, topology
from .batching import BatchingConsumer, BatchQueueConsumer


def department_of(message):
    delivery = message.delivery_info or {}
    department = topology.department_of_exchange(delivery.get("exchange"))
    if department is None and not delivery.get("exchange"):
        department = topology.department_of_exchange(f"{(message.headers or {}).get('department')}.events")
    return department


class PartitionConsumer(BatchingConsumer):
    queue_consumer = BatchQueueConsumer()

    def batch_arguments(self, batch):
        return [(department_of(message), body) for body, message in batch]


class StandbyQueueConsumer(BatchQueueConsumer):
    """The batching queue consumer, subscribing only after the standby delay (its own connection)."""

    _delayed = None

    def start(self):
        self._delayed = self.container.spawn_managed_thread(self._start_later)

    def _start_later(self):
        eventlet.sleep(partitions.standby_delay_s())
        super().start()

    def stop(self):
        if self._gt is None:  # still waiting to subscribe: nothing to drain
            self._delayed.kill()
            return
        super().stop()

    def kill(self):
        if self._gt is None:
            if self._delayed is not None:
                self._delayed.kill()
            return
        super().kill()


class StandbyPartitionConsumer(PartitionConsumer):
    queue_consumer = StandbyQueueConsumer()


def partition_entrypoints():
    """(partition, decorator) for every partition: own ones first, the others as standby."""
    owned = set(partitions.own())
    return [(p, (PartitionConsumer if p in owned else StandbyPartitionConsumer).decorator(topology.partition_queue(p)))
            for p in range(partitions.count())]
