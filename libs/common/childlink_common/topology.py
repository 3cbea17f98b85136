"""The broker layout, as code: exchanges, the queues bound to them, and where dead letters go.

Every queue is a durable quorum queue with a delivery limit and a dead-letter exchange. Publishers
make sure of the whole layout before their first publish, so no event is dropped for want of a
bound queue, whichever service starts first: `ensure` declares it (a local broker, the guest
user) or, where the broker's definitions already created it and the user may not configure
other services' queues (deploy/rabbitmq/definitions.json), checks it passively.
"""

from amqp.exceptions import AccessRefused
from childlink_contracts import INGEST_DEPARTMENTS
from kombu import Exchange, Queue, binding

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


def consumer_queue(name, exchange, routing_key="#", also=()):
    """A durable quorum queue bound to `exchange` by `routing_key` and by each key in `also`."""
    extra = {"bindings": [binding(exchange, routing_key=key) for key in (routing_key, *also)]} if also else {
        "exchange": exchange, "routing_key": routing_key}
    return Queue(
        name, durable=True, **extra,
        queue_arguments={
            "x-queue-type": "quorum",
            "x-delivery-limit": BROKER_DELIVERY_LIMIT,
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
            "x-dead-letter-routing-key": name,
        },
    )


def referral_queue(department):
    return consumer_queue(f"referral.{department}.events", events_exchange(department))


REFERRAL_EXCHANGE = Exchange("referral.events", type="topic", durable=True)


def all_queues():
    """Every queue the system consumes from; publishers declare these before they publish."""
    return [referral_queue(department) for department in INGEST_DEPARTMENTS] + [dead_letter_queue]


def declare_all(channel):
    for department in (*INGEST_DEPARTMENTS, "referral"):
        events_exchange(department)(channel).declare()
    dead_letter_exchange(channel).declare()
    for queue in all_queues():
        queue(channel).declare()


def all_exchanges():
    return [events_exchange(d) for d in (*INGEST_DEPARTMENTS, "referral")] + [dead_letter_exchange]


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
