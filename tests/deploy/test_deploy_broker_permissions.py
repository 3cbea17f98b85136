"""The broker users and permissions of deploy/rabbitmq/definitions.json, on the real local RabbitMQ.

Each test gets a throwaway vhost (nameko's rabbit_config fixture) laid out as the definitions lay
out `childlink` (topology.declare_all, which test_compose.py holds equal to the definitions), and
users of its own, uniquely named, with the definitions' permissions on that vhost only. They are
deleted afterwards; no existing user or vhost of the shared broker is touched.
"""

import json
import secrets
import uuid
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
import requests
from amqp.exceptions import AccessRefused
from childlink_common import topology
from childlink_common.outbox.sqlite_store import SqliteOutbox
from childlink_common.relay import OutboxRelay
from childlink_common.testing.events import event
from childlink_contracts import validate_event
from kombu import Connection, Exchange, Producer

DEFINITIONS = Path(__file__).resolve().parents[2] / "deploy" / "rabbitmq" / "definitions.json"
API = "http://127.0.0.1:15672/api"
GUEST = ("guest", "guest")


def api(method, path, **kwargs):
    response = requests.request(method, f"{API}/{path}", auth=GUEST, timeout=10, **kwargs)
    response.raise_for_status()
    return response.json() if response.content else None


def broker_version():
    return tuple(int(p) for p in api("GET", "overview")["rabbitmq_version"].split(".")[:2])


class Broker:
    """The definitions' users on a test vhost: `uri(user)` logs in as the test copy of that user."""

    def __init__(self, rabbit_config):
        self.vhost = rabbit_config["vhost"]
        self.guest_uri = rabbit_config["AMQP_URI"]
        self.definitions = json.loads(DEFINITIONS.read_text())
        self.suffix = secrets.token_hex(4)
        self.passwords = {}

    def login(self, user):
        return f"childlink-test-{user}-{self.suffix}"

    def uri(self, user):
        parts = urlsplit(self.guest_uri)
        return (f"pyamqp://{self.login(user)}:{self.passwords[user]}@{parts.hostname}:{parts.port or 5672}"
                f"/{quote(self.vhost, safe='')}")

    def set_up(self):
        with Connection(self.guest_uri) as connection:
            topology.declare_all(connection.channel())
        for policy in self.definitions["policies"]:
            apply_to = policy["apply-to"]
            if apply_to == "quorum_queues" and broker_version() < (3, 12):
                apply_to = "queues"  # 3.10/3.11 know no quorum_queues target
            api("PUT", f"policies/{quote(self.vhost, safe='')}/{policy['name']}",
                json={"pattern": policy["pattern"], "definition": policy["definition"],
                      "priority": policy["priority"], "apply-to": apply_to})
        for user in self.definitions["users"]:
            name = user["name"]
            self.passwords[name] = secrets.token_hex(16)
            api("PUT", f"users/{self.login(name)}",
                json={"password": self.passwords[name], "tags": ",".join(user["tags"])})
        for grant in self.definitions["permissions"]:
            api("PUT", f"permissions/{quote(self.vhost, safe='')}/{self.login(grant['user'])}",
                json={k: grant[k] for k in ("configure", "write", "read")})
        return self

    def tear_down(self):
        for name in self.passwords:
            requests.delete(f"{API}/users/{self.login(name)}", auth=GUEST, timeout=10)

    def depth(self, queue):
        with Connection(self.guest_uri) as connection:
            return connection.channel().queue_declare(queue, passive=True).message_count


@pytest.fixture
def broker(rabbit_config):
    made = Broker(rabbit_config).set_up()
    yield made
    made.tear_down()


def publish(uri, exchange, body=b"{}"):
    """Publish with confirms; the broker answers a write it does not allow by closing the channel."""
    with Connection(uri, transport_options={"confirm_publish": True}) as connection:
        producer = Producer(connection.channel(), auto_declare=False)
        producer.publish(body, exchange=Exchange(exchange, type="topic"), routing_key="child.screened",
                         content_type="application/json", retry=False)


def test_the_health_user_cannot_publish_to_the_social_exchange(broker):
    with pytest.raises(AccessRefused) as refused:
        publish(broker.uri("health"), "social.events")
    assert refused.value.code == 403 and "exchange 'social.events'" in str(refused.value)
    assert broker.depth("referral.social.events") == 0

    publish(broker.uri("health"), "health.events")  # its own exchange: allowed, and routed
    assert broker.depth("referral.health.events") == 1


def test_a_department_user_can_neither_read_nor_reshape_the_layout(broker):
    uri = broker.uri("health")
    with Connection(uri) as connection:
        with pytest.raises(AccessRefused):
            connection.channel().basic_get("referral.health.events")  # its own events, even
        with pytest.raises(AccessRefused):
            connection.channel().queue_delete("referral.social.events")
        with pytest.raises(AccessRefused):
            connection.channel().queue_bind("referral.social.events", "health.events", "#")
        with pytest.raises(AccessRefused):
            connection.channel().exchange_declare("health.events", "topic", durable=True)
    with pytest.raises(AccessRefused):
        publish(uri, topology.DEAD_LETTER_EXCHANGE)
    with pytest.raises(AccessRefused):
        publish(broker.uri("referral"), "health.events")  # referral publishes no department's events


def test_the_outbox_relay_publishes_as_its_least_privileged_user(broker, tmp_path):
    """Declaring is refused (no configure right): the relay checks the layout passively and publishes."""
    outbox = SqliteOutbox(tmp_path / "health.sqlite3")
    def accepted():  # as ingest stores it: validated and normalised (correlation_id filled in)
        return validate_event(event("health", "child.screened"), "health")

    assert outbox.add([accepted()], 0.0) == ["accepted"]
    for mode in ("auto", "passive"):
        relay = OutboxRelay(outbox, "health", broker.uri("health"), topology_mode=mode)
        try:
            if mode == "passive":
                outbox.add([accepted()], 0.0)
            assert relay.publish_pending() == 1, mode
        finally:
            relay.disconnect()
    assert outbox.backlog() == 0
    assert broker.depth("referral.health.events") == 2


def test_the_referral_and_monitor_users_read_what_they_need_and_no_more(broker):
    publish(broker.uri("health"), "health.events", json.dumps({"event_id": str(uuid.uuid4())}))
    with Connection(broker.uri("referral")) as connection:
        message = connection.channel().basic_get("referral.health.events", no_ack=False)
        assert message is not None
        with pytest.raises(AccessRefused):
            connection.channel().basic_get(topology.DEAD_LETTER_QUEUE)
    with Connection(broker.uri("referral")) as connection:  # its own events, read back
        own = topology.consumer_queue("referral.referral.events", topology.REFERRAL_EXCHANGE, "referral.#")
        own(connection.channel()).declare()
    with Connection(broker.uri("monitor")) as connection:
        assert connection.channel().basic_get(topology.DEAD_LETTER_QUEUE) is None  # allowed, empty
        channel = connection.channel()  # its tap on a department's flow
        channel.queue_declare("monitor.health.events", durable=True, auto_delete=False,
                              arguments={"x-queue-type": "quorum"})
        channel.queue_bind("monitor.health.events", "health.events", "#")
        with pytest.raises(AccessRefused):
            connection.channel().basic_get("referral.health.events")
        with pytest.raises(AccessRefused):
            connection.channel().queue_delete("referral.health.events")
    # replay: the monitor sends a dead letter back to its queue through the default exchange
    with Connection(broker.uri("monitor"), transport_options={"confirm_publish": True}) as connection:
        Producer(connection.channel(), auto_declare=False).publish(
            b"{}", exchange="", routing_key="referral.health.events", retry=False)
    with pytest.raises(AccessRefused):
        publish(broker.uri("monitor"), "health.events")  # but no department's exchange
    # KEDA sees queue depths through the management API, and may not touch a message
    queues = requests.get(f"{API}/queues/{quote(broker.vhost, safe='')}", timeout=10,
                          auth=(broker.login("keda"), broker.passwords["keda"]))
    assert queues.status_code == 200
    assert {q["name"] for q in queues.json()} >= {"referral.health.events"}
    with Connection(broker.uri("keda")) as connection, pytest.raises(AccessRefused):
        connection.channel().basic_get("referral.health.events")
