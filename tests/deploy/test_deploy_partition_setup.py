"""The partitions' plumbing (childlink_common.partitions): the key, the header, which replica takes which
partition, the broker layout on the real RabbitMQ, and the plugin in every place the broker is set up."""

import re
from pathlib import Path

import pytest
import yaml
from childlink_common import partitions, topology
from childlink_common.outbox.port import OutboxRecord
from childlink_common.relay import message_headers
from childlink_common.testing.events import child, event
from childlink_insights.service import insights_queue
from kombu import Connection, Producer

ROOT = Path(__file__).resolve().parents[2]
NATIONAL_ID = "1101700990010"


def test_the_key_is_the_national_id_when_valid_else_the_record_key_and_the_header_hides_it():
    with_id = event("health", "child.growth_measured", subject=child(local_id="HN-1", national_id=NATIONAL_ID))
    same_child_elsewhere = event("medical", "child.diagnosed",
                                 subject=child(local_id="S-9", national_id=NATIONAL_ID))
    without = event("health", "child.growth_measured", subject=child(local_id="HN-2", national_id=None))
    assert partitions.child_key(with_id) == f"nid:{NATIONAL_ID}"
    assert partitions.child_key(without) == f"local:health:{without['source']['facility']['code']}:HN-2"
    # one child, two departments, one national ID: one key, so one partition
    assert partitions.partition_key(with_id) == partitions.partition_key(same_child_elsewhere)
    assert partitions.partition_key(with_id) != partitions.partition_key(without)
    headers = message_headers(_record(with_id))  # what the relay publishes
    assert re.fullmatch(r"[0-9a-f]{8}", headers[partitions.PARTITION_HEADER]), headers
    assert NATIONAL_ID not in str(headers)


def _record(body):
    return OutboxRecord(1, body["event_id"], body["type"], body.get("correlation_id"), body)


def test_each_partition_is_owned_by_one_replica_and_all_are_owned():
    for replicas in (1, 2, 3, 5):
        owned = [partitions.own(12, index, replicas) for index in range(replicas)]
        flat = [p for share in owned for p in share]
        assert sorted(flat) == list(range(12)), replicas
        assert max(map(len, owned)) - min(map(len, owned)) <= 1, owned


def test_partition_settings_refuse_nonsense(monkeypatch):
    monkeypatch.setenv("REFERRAL_PARTITIONS", "many")
    with pytest.raises(ValueError, match="REFERRAL_PARTITIONS"):
        partitions.count()
    monkeypatch.setenv("REFERRAL_PARTITIONS", "0")
    assert topology.referral_consumer_queues() == [topology.referral_queue(d) for d in
                                                   ("social", "education", "health", "medical")]
    monkeypatch.delenv("REFERRAL_REPLICA_INDEX", raising=False)
    monkeypatch.setenv("HOSTNAME", "referral-2")
    assert partitions.replica_index() == 2  # a StatefulSet's ordinal


def test_partitioned_layout_routes_each_event_to_one_partition_and_leaves_other_queues_alone(
        rabbit_config, monkeypatch):
    monkeypatch.setenv("REFERRAL_PARTITIONS", "4")
    events = [event("health", "child.growth_measured", subject=child(local_id=f"HN-{n % 5}", national_id=None))
              for n in range(20)]
    with Connection(rabbit_config["AMQP_URI"]) as connection:
        channel = topology.ensure(connection, "declare")
        insights = insights_queue("health")(channel)
        insights.declare()
        assert [q.name for q in topology.all_queues()][:4] == [f"referral.partition.{p:03d}" for p in range(4)]
        producer = Producer(channel, exchange=topology.events_exchange("health"))
        for body in events:
            producer.publish(body, routing_key=body["type"], headers=message_headers(_record(body)))
        counts = {}
        for queue in topology.partition_queues():
            for _ in range(50):  # quorum queues count their messages a moment after the publish
                counts[queue.name] = channel.queue_declare(queue.name, passive=True).message_count
                if sum(counts.values()) == len(events):
                    break
        assert sum(counts.values()) == len(events), counts
        assert sum(1 for n in counts.values() if n) >= 2, f"five children, all in one partition: {counts}"
        assert channel.queue_declare(insights.name, passive=True).message_count == len(events)
        # the per-department queue is not declared when partitioned: nothing piles up there
        with pytest.raises(Exception, match="NOT_FOUND"):
            connection.channel().queue_declare("referral.health.events", passive=True)


def test_a_broker_without_the_plugin_is_named(rabbit_config):
    with Connection(rabbit_config["AMQP_URI"]) as connection:
        channel = connection.channel()
        with pytest.raises(topology.ConsistentHashMissing, match="rabbitmq_consistent_hash_exchange"):
            # a type no broker has stands in for a broker whose plugin is off: the same 503
            topology.declare_partition_exchange(channel, exchange_type="x-childlink-not-a-plugin")


def test_the_plugin_is_enabled_wherever_the_broker_is_set_up():
    assert "rabbitmq_consistent_hash_exchange" in (ROOT / "deploy/rabbitmq/enabled_plugins").read_text()
    assert re.search(r"rabbitmq-plugins .*enable .*rabbitmq_consistent_hash_exchange",
                     (ROOT / "deploy/scripts/ensure-rabbitmq.sh").read_text())
    cluster = next(doc for doc in yaml.safe_load_all((ROOT / "deploy/k8s/base/rabbitmq.yaml").read_text())
                   if doc and doc.get("kind") == "RabbitmqCluster")
    assert "rabbitmq_consistent_hash_exchange" in cluster["spec"]["rabbitmq"]["additionalPlugins"]
