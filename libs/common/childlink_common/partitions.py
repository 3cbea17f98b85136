"""The referral's partitions by child: which key an event is hashed by, and which partitions a replica takes.

Off by default (`REFERRAL_PARTITIONS` unset or 0): the referral consumes one queue per department, as
one process on SQLite does. With `REFERRAL_PARTITIONS=P`, every department exchange is also bound to
the consistent-hash exchange `referral.partitions` (RabbitMQ's `rabbitmq_consistent_hash_exchange`
plugin), which spreads events over P quorum queues by the header `x-childlink-partition-key`; each
partition queue is single-active-consumer, so however many replicas subscribe, one at a time takes
its messages. Replica i of R (`REFERRAL_REPLICA_INDEX`, `REFERRAL_REPLICAS`) subscribes at once to the
partitions p with p % R == i, and to the others only after `REFERRAL_STANDBY_DELAY_S`, as a standby:
the broker hands a partition to the first consumer that subscribed, so replicas started together
share the partitions evenly, and when one stops, a standby takes its partitions over.

The key is the child as far as the event alone says: its national ID when it carries a valid one,
else its record key (department, facility, local id), both as childlink_referral.identity names
them. It travels hashed and cut to 32 bits: the header only has to spread children, and a 32-bit
value stands for hundreds of valid national IDs, so the header cannot be read back into one (PDPA:
docs/security.md; no national ID in a header, a log or an operator's view).
"""

import os
import re

# the key and its header are part of the message contract (the AsyncAPI document names them)
from childlink_contracts.amqp import PARTITION_HEADER, child_key, partition_key  # noqa: F401 - used from here

PARTITION_EXCHANGE = "referral.partitions"
PLUGIN = "rabbitmq_consistent_hash_exchange"
EXCHANGE_TYPE = "x-consistent-hash"


def count():
    """P, the number of partitions; 0 when the referral is not partitioned."""
    value = os.environ.get("REFERRAL_PARTITIONS", "").strip() or "0"
    try:
        partitions = int(value)
    except ValueError:
        raise ValueError(f"REFERRAL_PARTITIONS={value!r}: expected a whole number (0: not partitioned)") from None
    if not 0 <= partitions <= 1024:
        raise ValueError(f"REFERRAL_PARTITIONS={partitions}: expected 0 to 1024")
    return partitions


def replicas():
    value = int(os.environ.get("REFERRAL_REPLICAS", "1") or 1)
    if value < 1:
        raise ValueError(f"REFERRAL_REPLICAS={value}: expected 1 or more")
    return value


def replica_index():
    """This replica's index: REFERRAL_REPLICA_INDEX, else the ordinal a StatefulSet puts at the end of
    the host name (`referral-2`), else 0."""
    value = os.environ.get("REFERRAL_REPLICA_INDEX", "").strip()
    if value:
        return int(value)
    found = re.search(r"-(\d+)$", os.environ.get("HOSTNAME", ""))
    return int(found.group(1)) if found else 0


def standby_delay_s():
    return float(os.environ.get("REFERRAL_STANDBY_DELAY_S", "5"))


def own(partitions=None, index=None, of=None):
    """The partitions this replica subscribes to at once (the others it joins as a standby)."""
    partitions = count() if partitions is None else partitions
    index = replica_index() if index is None else index
    of = replicas() if of is None else of
    return [p for p in range(partitions) if p % of == index % of]
