"""A probe consumer for the retry path: the referral service turns every poison message we can make
into a permanent failure (dead-lettered at the first attempt), so the bounded retries of
`consume_safely` are exercised here, on the same private broker, by a consumer whose handler fails
with an ordinary exception for the messages marked poison, the way a bug in a handler would."""

import time

from childlink_common import topology
from childlink_common.consumer import consume_safely
from kombu import Connection, Exchange, Producer
from nameko.containers import ServiceContainer

PROBE_EXCHANGE = Exchange("reliability.probe", type="topic", durable=True)
PROBE_QUEUE = topology.consumer_queue("reliability.probe", PROBE_EXCHANGE)
seen = {}  # n -> monotonic time handled (healthy messages)
attempts = {}  # n -> deliveries (poison messages)


class Probe:
    name = "reliability_probe"

    @consume_safely(PROBE_QUEUE)
    def handle(self, body):
        if body.get("poison"):
            attempts[body["n"]] = attempts.get(body["n"], 0) + 1
            raise RuntimeError(f"probe: handler bug on message {body['n']}")
        seen[body["n"]] = time.monotonic()


class ProbeConsumer:
    def __init__(self, amqp_uri, max_workers=10):
        self.amqp_uri = amqp_uri
        self.container = ServiceContainer(Probe, {"AMQP_URI": amqp_uri, "max_workers": max_workers,
                                                  "serializer": "json"})

    def __enter__(self):
        seen.clear()
        attempts.clear()
        self.container.start()
        return self

    def __exit__(self, *exc_info):
        self.container.stop()

    def publish(self, bodies):
        with Connection(self.amqp_uri, transport_options={"confirm_publish": True}) as connection:
            producer = Producer(connection.channel(), exchange=PROBE_EXCHANGE)
            for body in bodies:
                producer.publish(body, routing_key="probe", serializer="json", delivery_mode=2,
                                 message_id=f"probe-{body['n']}", retry=False)

    def healthy_rate(self, start, count, timeout=120):
        """Publish `count` healthy messages; return messages/s until every one is handled."""
        wanted = range(start, start + count)
        began = time.monotonic()
        self.publish([{"n": n} for n in wanted])
        deadline = began + timeout
        while not all(n in seen for n in wanted):
            if time.monotonic() > deadline:
                raise TimeoutError(f"probe: {sum(n in seen for n in wanted)}/{count} handled")
            time.sleep(0.05)
        return count / (max(seen[n] for n in wanted) - began)
