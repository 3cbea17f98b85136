"""The broker layout, as code: exchanges, the queues bound to them, and where dead letters go.

Every queue is a durable quorum queue with a delivery limit and a dead-letter exchange. Publishers
declare the whole layout before their first publish, so no event is dropped for want of a
bound queue, whichever service starts first.
"""

from kombu import Exchange, Queue

from childlink_contracts import INGEST_DEPARTMENTS

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


def consumer_queue(name, exchange, routing_key="#"):
    return Queue(
        name, exchange=exchange, routing_key=routing_key, durable=True,
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
