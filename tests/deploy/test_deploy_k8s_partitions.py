"""The referral partitioned by child in Kubernetes (deploy/k8s/components/referral-partitions), rendered
without a cluster, and the broker definitions laid out for it (make_definitions.py --partitions).

The overlays are rendered with `kubectl kustomize` as in test_deploy_k8s.py (whose helpers this
reuses): `local-partitions` as committed, and production from a copy of deploy/ with the component
uncommented and definitions made with --partitions 16. The definitions' layout is compared with what
childlink_common.topology declares for REFERRAL_PARTITIONS=16, recorded from its own declare_all.
"""

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
from childlink_common import partitions, topology

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("deploy_k8s_helpers", HERE / "test_deploy_k8s.py")
k8s = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(k8s)

PARTITIONS = 16
COMPONENT_LINE = "#   - ../../components/referral-partitions"
WORKLOADS = ("Deployment", "StatefulSet")
DEPARTMENTS = k8s.DEPARTMENTS
MAKE_DEFINITIONS = k8s.DEPLOY / "rabbitmq" / "make_definitions.py"
PARTITIONED_DEFINITIONS = k8s.DEPLOY / "rabbitmq" / "partitions" / "definitions.json"


def production_partitioned(tmp_path):
    copy = k8s.production_copy(tmp_path)
    overlay = copy / "k8s" / "overlays" / "production"
    text = (overlay / "kustomization.yaml").read_text()
    assert COMPONENT_LINE in text, "the production overlay no longer names the component in a comment"
    text = text.replace("# components:\n" + COMPONENT_LINE, "components:\n  - ../../components/referral-partitions")
    (overlay / "kustomization.yaml").write_text(text)
    secrets = overlay / "secrets"
    made = subprocess.run(
        [sys.executable, str(copy / "rabbitmq" / "make_definitions.py"), "--partitions", str(PARTITIONS),
         "--passwords", str(secrets / "broker-passwords.env"),
         "--passwords", str(secrets / "broker-operators.env"),
         "--out", str(secrets / "definitions.json")],
        capture_output=True, text=True, timeout=60, check=False)
    assert made.returncode == 0, made.stderr
    return overlay


@pytest.fixture(scope="module")
def overlays(tmp_path_factory):
    return {
        "local": k8s.kustomize(k8s.K8S / "overlays" / "local"),
        "local-partitions": k8s.kustomize(k8s.K8S / "overlays" / "local-partitions"),
        "production": k8s.kustomize(production_partitioned(tmp_path_factory.mktemp("production"))),
    }


@pytest.fixture(params=["local-partitions", "production"])
def rendered(request, overlays):
    return request.param, overlays[request.param]


def effective_env(docs, container):
    """What the container's process sees, as far as the manifests say: envFrom ConfigMaps, then env."""
    configmaps = k8s.by_kind(docs, "ConfigMap")
    env = {}
    for source in container.get("envFrom", []):
        env.update(configmaps[source["configMapRef"]["name"]]["data"])
    for item in container.get("env", []):
        env[item["name"]] = item.get("value", item.get("valueFrom"))
    return env


def referral_replicas(docs):
    return k8s.one(docs, "StatefulSet", "referral")["spec"]["replicas"]


# --- the StatefulSet -------------------------------------------------------------------------------


def test_the_referral_is_a_statefulset_with_the_deployments_pod_and_no_deployment_left(overlays):
    partitioned = overlays["local-partitions"]
    assert "referral" not in k8s.by_kind(partitioned, "Deployment")
    statefulset = k8s.one(partitioned, "StatefulSet", "referral")
    deployment = k8s.one(overlays["local"], "Deployment", "referral")
    # one pod template, kept in two files: they must not drift
    assert statefulset["spec"]["template"] == deployment["spec"]["template"]
    spec = statefulset["spec"]
    assert spec["podManagementPolicy"] == "Parallel"
    assert "volumeClaimTemplates" not in spec, "no state of its own: partitions move between replicas"
    headless = k8s.one(partitioned, "Service", spec["serviceName"])
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["selector"] == spec["selector"]["matchLabels"]


def test_every_core_object_is_valid_against_the_kubernetes_schemas(rendered):
    overlay, docs = rendered
    for doc in docs:
        if (doc["apiVersion"], doc["kind"]) in k8s.CUSTOM_KINDS:
            continue
        try:
            kubernetes_validate.validate(doc, k8s.K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{overlay}: {doc['kind']} {doc['metadata']['name']}: {exc.message}")


def test_the_statefulset_is_valid_and_stays_on_mongodb(rendered):
    overlay, docs = rendered
    statefulset = k8s.one(docs, "StatefulSet", "referral")
    for doc in (statefulset, k8s.one(docs, "Service", statefulset["spec"]["serviceName"])):
        kubernetes_validate.validate(doc, k8s.K8S_VERSION, strict=True)
    env = {item["name"]: item for item in k8s.container_of(statefulset)["env"]}
    assert env["MONGO_URI"]["valueFrom"]["secretKeyRef"] == {
        "name": "childlink-mongodb-admin-referral", "key": "connectionString.standard"}, overlay
    assert referral_replicas(docs) >= 2, "one replica left by a drain must still own every partition"


def test_production_mounts_the_ca_into_the_statefulset_too(overlays):
    pod = k8s.one(overlays["production"], "StatefulSet", "referral")["spec"]["template"]["spec"]
    assert {"name": "childlink-ca", "configMap": {"name": "childlink-ca"}} in pod["volumes"]
    mounts = {m["name"]: m["mountPath"] for m in k8s.container_of({"spec": {"template": {"spec": pod}}})[
        "volumeMounts"]}
    assert mounts["childlink-ca"] == "/etc/childlink/tls"


def test_every_container_gets_the_partition_count_and_the_replica_count(rendered):
    overlay, docs = rendered
    replicas = referral_replicas(docs)
    workloads = [w for kind in WORKLOADS for w in k8s.by_kind(docs, kind).values()]
    assert {w["metadata"]["name"] for w in workloads} >= set(k8s.SERVICES)
    for workload in workloads:
        for container in workload["spec"]["template"]["spec"]["containers"]:
            env = effective_env(docs, container)
            name = f"{overlay}/{workload['metadata']['name']}/{container['name']}"
            assert env.get("REFERRAL_PARTITIONS") == str(PARTITIONS), name
            assert env.get("REFERRAL_REPLICAS") == str(replicas), f"{name}: must equal the StatefulSet's replicas"
            assert "REFERRAL_REPLICA_INDEX" not in env, f"{name}: the StatefulSet ordinal is the index"


def test_the_ordinals_deal_out_every_partition_once(rendered, monkeypatch):
    _, docs = rendered
    replicas = referral_replicas(docs)
    monkeypatch.delenv("REFERRAL_REPLICA_INDEX", raising=False)
    owners = {}
    for ordinal in range(replicas):
        monkeypatch.setenv("HOSTNAME", f"referral-{ordinal}")  # a StatefulSet's pod name
        assert partitions.replica_index() == ordinal
        for partition in partitions.own(PARTITIONS, partitions.replica_index(), replicas):
            assert partition not in owners, partition
            owners[partition] = ordinal
    assert sorted(owners) == list(range(PARTITIONS))
    assert set(owners.values()) == set(range(replicas)), "a replica with no partition of its own"


def test_keda_no_longer_scales_the_referral_and_the_pdb_lets_one_replica_go(rendered):
    """Partitions are dealt out by p % REFERRAL_REPLICAS: a replica count that changed without it would
    leave partitions to standbys, so the count is fixed and nothing may scale the StatefulSet."""
    _, docs = rendered
    for scaled in k8s.by_kind(docs, "ScaledObject").values():
        assert scaled["spec"]["scaleTargetRef"]["name"] != "referral", scaled["metadata"]["name"]
    assert not [h for h in k8s.by_kind(docs, "HorizontalPodAutoscaler").values()
                if h["spec"]["scaleTargetRef"]["name"] == "referral"]
    statefulset = k8s.one(docs, "StatefulSet", "referral")
    pdb = k8s.one(docs, "PodDisruptionBudget", "referral")
    assert pdb["spec"] == {"maxUnavailable": 1, "selector": statefulset["spec"]["selector"]}
    labels = statefulset["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()


# --- the broker definitions ------------------------------------------------------------------------


class RecordingChannel:
    """Stands in for an AMQP channel under topology.declare_all and keeps what it declares."""

    def __init__(self):
        self.exchanges, self.queues, self.bindings = set(), set(), set()

    def exchange_declare(self, exchange, type, durable, auto_delete, arguments, **_):
        self.exchanges.add((exchange, type, durable, auto_delete, json.dumps(arguments or {}, sort_keys=True)))

    def exchange_bind(self, destination, source, routing_key):
        self.bindings.add((source, destination, "exchange", routing_key))

    def prepare_queue_arguments(self, arguments, **_):
        return arguments

    def queue_declare(self, queue, durable, auto_delete, arguments, **_):
        self.queues.add((queue, durable, auto_delete, json.dumps(arguments or {}, sort_keys=True)))

    def queue_bind(self, queue, exchange, routing_key, **_):
        self.bindings.add((exchange, queue, "queue", routing_key))


def declared_layout(monkeypatch, count):
    monkeypatch.setenv("REFERRAL_PARTITIONS", str(count))
    channel = RecordingChannel()
    topology.declare_all(channel)
    return channel.exchanges, channel.queues, channel.bindings


def definitions_layout(definitions):
    exchanges = {(e["name"], e["type"], e["durable"], e["auto_delete"], json.dumps(e["arguments"], sort_keys=True))
                 for e in definitions["exchanges"]}
    queues = {(q["name"], q["durable"], q["auto_delete"], json.dumps(q["arguments"], sort_keys=True))
              for q in definitions["queues"]}
    bindings = {(b["source"], b["destination"], b["destination_type"], b["routing_key"])
                for b in definitions["bindings"]}
    return exchanges, queues, bindings


def partitioned_definitions():
    return json.loads(PARTITIONED_DEFINITIONS.read_text())


def test_the_comparison_holds_the_unpartitioned_definitions_to_the_code_too(monkeypatch):
    repo = json.loads((k8s.DEPLOY / "rabbitmq" / "definitions.json").read_text())
    assert definitions_layout(repo) == declared_layout(monkeypatch, 0)


def test_partitioned_definitions_lay_out_what_topology_declares_for_16(monkeypatch):
    layout = definitions_layout(partitioned_definitions())
    assert layout == declared_layout(monkeypatch, PARTITIONS)
    # and not what it would declare for another count, nor unpartitioned
    for other in (0, PARTITIONS - 1, PARTITIONS + 1):
        assert layout != declared_layout(monkeypatch, other), other


def test_the_committed_partitioned_definitions_are_what_make_definitions_makes(tmp_path):
    out = tmp_path / "definitions.json"
    made = subprocess.run([sys.executable, str(MAKE_DEFINITIONS), "--partitions", str(PARTITIONS),
                           "--keep-dev-hashes", "--out", str(out)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert made.returncode == 0, made.stderr
    assert json.loads(out.read_text()) == partitioned_definitions(), (
        "stale: rerun make_definitions.py --partitions 16 --keep-dev-hashes "
        "--out deploy/rabbitmq/partitions/definitions.json")


def test_make_definitions_refuses_a_partition_count_the_queue_names_cannot_hold(tmp_path):
    for count in ("1000", "-1"):
        made = subprocess.run([sys.executable, str(MAKE_DEFINITIONS), "--partitions", count,
                               "--keep-dev-hashes", "--out", str(tmp_path / "d.json")],
                              capture_output=True, text=True, timeout=60, check=False)
        assert made.returncode == 2 and "--partitions" in made.stderr, (count, made.stderr)


def test_the_overlays_import_the_partitioned_layout(overlays):
    local = json.loads(k8s.decoded(k8s.one(overlays["local-partitions"], "Secret", "childlink-rabbitmq-definitions"),
                                   "definitions.json"))
    assert local == partitioned_definitions()
    production = json.loads(k8s.decoded(
        k8s.one(overlays["production"], "Secret", "childlink-rabbitmq-definitions"), "definitions.json"))
    for key in ("vhosts", "permissions", "policies", "queues", "exchanges", "bindings"):
        assert production[key] == local[key], key


def allows(regex, name):
    """RabbitMQ matches permission regexes unanchored (Erlang re:run): that is re.search."""
    return re.search(regex, name) is not None


def grants():
    return {g["user"]: g for g in partitioned_definitions()["permissions"]}


def test_the_referral_user_may_declare_bind_and_consume_the_partitions(monkeypatch):
    grant = grants()["referral"]
    exchanges, queues, bindings = declared_layout(monkeypatch, PARTITIONS)
    for name, *_ in exchanges:
        assert allows(grant["configure"], name), ("configure", name)
    for name, *_ in queues:
        assert allows(grant["configure"], name), ("configure", name)
    for source, destination, _, _ in bindings:  # queue.bind and exchange.bind alike
        assert allows(grant["write"], destination), ("bind: write on destination", destination)
        assert allows(grant["read"], source), ("bind: read on source", source)
    for queue in topology.partition_queues(PARTITIONS):
        assert allows(grant["read"], queue.name), ("consume", queue.name)


def test_no_other_user_gains_a_right_on_the_partitions():
    repo = {g["user"]: g for g in json.loads((k8s.DEPLOY / "rabbitmq" / "definitions.json").read_text())["permissions"]}
    names = [partitions.PARTITION_EXCHANGE] + [q.name for q in topology.partition_queues(PARTITIONS)]
    for user, grant in grants().items():
        if user == "referral":
            continue
        assert grant == repo[user], user
        if user == "admin":
            continue
        for name in names:
            for kind in ("configure", "read"):
                assert not allows(grant[kind], name), (user, kind, name)


# --- on the real local broker ------------------------------------------------------------------------

_spec = importlib.util.spec_from_file_location("deploy_broker_helpers", HERE / "test_deploy_broker_permissions.py")
broker_helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(broker_helpers)


@pytest.fixture
def partitioned_broker(rabbit_config, monkeypatch):
    """The partitioned definitions' users on a throwaway vhost laid out by topology for P=16."""
    monkeypatch.setenv("REFERRAL_PARTITIONS", str(PARTITIONS))
    made = broker_helpers.Broker(rabbit_config)
    made.definitions = partitioned_definitions()
    made.set_up()
    yield made
    made.tear_down()


def test_the_partitioned_grants_work_on_a_real_broker(partitioned_broker):
    from amqp.exceptions import AccessRefused
    from kombu import Connection, Exchange, Producer

    broker = partitioned_broker
    with Connection(broker.uri("referral")) as connection:  # its consumer declares the layout on connect
        topology.ensure(connection, "declare").close()
    with Connection(broker.uri("health")) as connection:  # a relay checks it passively
        topology.ensure(connection, "passive").close()
    with Connection(broker.uri("health"), transport_options={"confirm_publish": True}) as connection:
        Producer(connection.channel(), auto_declare=False).publish(
            b"{}", exchange=Exchange("health.events", type="topic"), routing_key="child.screened",
            headers={partitions.PARTITION_HEADER: "12345"}, content_type="application/json", retry=False)
    names = [q.name for q in topology.partition_queues(PARTITIONS)]
    depths = {name: broker.depth(name) for name in names}
    assert sum(depths.values()) == 1, depths
    (landed,) = [name for name, depth in depths.items() if depth]
    # single-active-consumer queues refuse basic.get: consume
    with Connection(broker.uri("monitor")) as connection, pytest.raises(AccessRefused):
        connection.channel().basic_consume(landed, callback=lambda message: None)
    received = []
    with Connection(broker.uri("referral")) as connection:
        channel = connection.channel()
        channel.basic_consume(landed, callback=received.append, no_ack=True)
        connection.drain_events(timeout=10)
    assert [m.body for m in received] == [b"{}"]
