"""The broker layout, as code: exchanges, the queues bound to them, and where dead letters go.

Every queue is a durable quorum queue with a delivery limit and a dead-letter exchange. Publishers
make sure of the whole layout before their first publish, so no event is dropped for want of a
bound queue, whichever service starts first: `ensure` declares it (a local broker, the guest
user) or, where the broker's definitions already created it and the user may not configure
other services' queues (deploy/rabbitmq/definitions.json), checks it passively.
"""

from amqp.exceptions import AccessRefused, InvalidCommand
from childlink_contracts import INGEST_DEPARTMENTS
from kombu import Exchange, Queue, binding

from . import partitions

DEAD_LETTER_EXCHANGE = "childlink.dlx"
DEAD_LETTER_QUEUE = "childlink.dead_letters"
# The app dead-letters with the error after MAX_ATTEMPTS; the broker's own limit is the backstop for
# a message that kills its consumer each time (nothing left alive to dead-letter it).
MAX_ATTEMPTS = 5
BROKER_DELIVERY_LIMIT = 10


def events_exchange(department):
    return Exchange(f"{department}.events", type="topic", durable=True)


dead_letter_exchange = Exchange(DEAD_LETTER_EXCHANGE, type="topic", durable=True)

dead_letter_queue = Queue(
    DEAD_LETTER_QUEUE, exchange=dead_letter_exchange, routing_key="#", durable=True,
    queue_arguments={"x-queue-type": "quorum"},
)


def consumer_queue(name, exchange, routing_key="#", also=(), single_active=False):
    """A durable quorum queue bound to `exchange` by `routing_key` and by each key in `also`;
    `single_active`: the broker delivers to one subscribed consumer at a time, the next on standby."""
    extra = {"bindings": [binding(exchange, routing_key=key) for key in (routing_key, *also)]} if also else {
        "exchange": exchange, "routing_key": routing_key}
    arguments = {
        "x-queue-type": "quorum",
        "x-delivery-limit": BROKER_DELIVERY_LIMIT,
        "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
        "x-dead-letter-routing-key": name,
    }
    if single_active:
        arguments["x-single-active-consumer"] = True
    return Queue(name, durable=True, **extra, queue_arguments=arguments)


def referral_queue(department):
    return consumer_queue(f"referral.{department}.events", events_exchange(department))


# --- the referral's partitions by child (childlink_common.partitions; off unless REFERRAL_PARTITIONS) ---

def make_partition_exchange(exchange_type=partitions.EXCHANGE_TYPE):
    return Exchange(partitions.PARTITION_EXCHANGE, type=exchange_type, durable=True,
                    arguments={"hash-header": partitions.PARTITION_HEADER})


partition_exchange = make_partition_exchange()


class ConsistentHashMissing(RuntimeError):
    """The broker has no x-consistent-hash exchange type: its plugin is not enabled."""


def partition_queue(partition):
    # bound with weight "1": each partition takes an equal share of the hash ring
    return consumer_queue(f"referral.partition.{partition:03d}", partition_exchange, routing_key="1",
                          single_active=True)


def partition_queues(count=None):
    return [partition_queue(p) for p in range(partitions.count() if count is None else count)]


def referral_consumer_queues():
    """The queues the referral service consumes department events from: one per department, or the
    partitions when the referral is partitioned."""
    if partitions.count():
        return partition_queues()
    return [referral_queue(department) for department in INGEST_DEPARTMENTS]


def department_of_exchange(exchange_name):
    """The department whose exchange a delivery was published to (the broker names the exchange the
    publisher chose, also through an exchange-to-exchange binding), or None."""
    for department in INGEST_DEPARTMENTS:
        if exchange_name == events_exchange(department).name:
            return department
    return None


REFERRAL_EXCHANGE = Exchange("referral.events", type="topic", durable=True)


def all_queues():
    """Every queue the system consumes from; publishers declare these before they publish."""
    return referral_consumer_queues() + [dead_letter_queue]


def declare_partition_exchange(channel, exchange_type=partitions.EXCHANGE_TYPE):
    """Declare `referral.partitions` and bind every department exchange to it. A broker without the
    plugin closes the connection (503 unknown exchange type): say which plugin to enable."""
    try:
        make_partition_exchange(exchange_type)(channel).declare()
    except InvalidCommand as exc:
        if "unknown exchange type" not in str(exc):
            raise
        raise ConsistentHashMissing(
            f"REFERRAL_PARTITIONS is set but the broker has no {partitions.EXCHANGE_TYPE} exchange type: "
            f"enable the RabbitMQ plugin {partitions.PLUGIN} (rabbitmq-plugins enable {partitions.PLUGIN}; "
            f"deploy/scripts/ensure-rabbitmq.sh does it locally)") from exc
    for department in INGEST_DEPARTMENTS:
        channel.exchange_bind(partitions.PARTITION_EXCHANGE, events_exchange(department).name, "#")


def declare_all(channel):
    for department in (*INGEST_DEPARTMENTS, "referral"):
        events_exchange(department)(channel).declare()
    dead_letter_exchange(channel).declare()
    if partitions.count():
        declare_partition_exchange(channel)
    for queue in all_queues():
        queue(channel).declare()


def all_exchanges():
    extra = [partition_exchange] if partitions.count() else []
    return [events_exchange(d) for d in (*INGEST_DEPARTMENTS, "referral")] + [dead_letter_exchange] + extra


def verify_all(channel):
    """Passive declares: need no permission, change nothing, and fail (404, closing the channel)
    if an exchange or queue is missing. Bindings cannot be checked this way: publishers use
    `mandatory`, so an event that reaches no queue comes back and stays in the outbox."""
    for exchange in all_exchanges():
        channel.exchange_declare(exchange.name, exchange.type, passive=True)
    for queue in all_queues():
        channel.queue_declare(queue.name, passive=True)


def ensure(connection, mode="auto", on_refused=None):
    """Return a channel on which the whole layout is known to exist.

    "declare": declare it (needs configure on every exchange and queue, as the guest user has);
    "passive": only check it (a user with no configure rights, the broker definitions own it);
    "auto": declare, and if the broker refuses (403), check passively on a fresh channel.
    """
    channel = connection.channel()
    if mode in ("auto", "declare"):
        try:
            declare_all(channel)
            return channel
        except AccessRefused as exc:
            if mode == "declare":
                raise
            if on_refused is not None:
                on_refused(exc)
            channel = connection.channel()  # the broker closed the refused one
    verify_all(channel)
    return channel
