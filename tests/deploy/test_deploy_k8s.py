"""The Kubernetes manifests (deploy/k8s), rendered and checked without a cluster.

Each overlay is rendered with `kubectl kustomize` (kustomize built into kubectl). Every core object
(Deployment, Service, PodDisruptionBudget, ConfigMap, Secret, Namespace) is validated strictly
against the Kubernetes 1.32 OpenAPI schemas with kubernetes-validate. The custom resources
(RabbitmqCluster, MongoDBCommunity, ScaledObject, TriggerAuthentication, cert-manager's Issuer and
Certificate) have no schema there, so they are checked here field by field against what their
operators document and against what the services need.

The production overlay reads its credentials from deploy/k8s/overlays/production/secrets/, which
git ignores; it is rendered from a copy of deploy/ whose secrets are the committed *.example
placeholders (and definitions made from them by deploy/rabbitmq/make_definitions.py).
"""

import base64
import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from childlink_common import topology

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
PRODUCTION_SECRETS = K8S / "overlays" / "production" / "secrets"
K8S_VERSION = "1.32.0"
INSTALL_HINT = "deploy/scripts/ensure-system-packages.sh (installs kubectl when it is missing)"

SERVICES = {
    "social": 8000,
    "education": 8000,
    "health": 8000,
    "medical": 8000,
    "referral": 8000,
    "gateway": 8100,
    "monitor": 8000,
    "insights": 8000,
}
DEPARTMENTS = ("social", "education", "health", "medical")
CUSTOM_KINDS = {
    ("rabbitmq.com/v1beta1", "RabbitmqCluster"),
    ("mongodbcommunity.mongodb.com/v1", "MongoDBCommunity"),
    ("keda.sh/v1alpha1", "ScaledObject"),
    ("keda.sh/v1alpha1", "TriggerAuthentication"),
    ("cert-manager.io/v1", "Issuer"),
    ("cert-manager.io/v1", "Certificate"),
}
# Secrets made in the cluster, not by kustomize: the MongoDB operator's connection strings.
OPERATOR_SECRET = re.compile(r"^childlink-mongodb-admin-[a-z]+$")
CERT_MANAGER_SECRETS = {"childlink-rabbitmq-tls", "childlink-mongodb-tls", "childlink-ca-keypair"}


# --- rendering ---------------------------------------------------------------------------------


def kustomize(directory):
    if shutil.which("kubectl") is None:
        pytest.fail(f"kubectl is not on PATH, so the overlays cannot be rendered. Run {INSTALL_HINT}.")
    result = subprocess.run(["kubectl", "kustomize", str(directory)], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, f"kubectl kustomize {directory} failed:\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def production_copy(tmp_path):
    """deploy/ copied with the secrets' *.example placeholders standing in for the real files."""
    copy = tmp_path / "deploy"
    shutil.copytree(DEPLOY, copy, ignore=shutil.ignore_patterns("__pycache__"))
    secrets = copy / "k8s" / "overlays" / "production" / "secrets"
    for example in secrets.glob("*.example"):
        target = example.with_suffix("")
        text = example.read_text()
        if target.name.startswith("broker-"):
            text = text.replace("CHANGE_ME", "placeholder0placeholder")
        target.write_text(text)
    made = subprocess.run(
        [sys.executable, str(copy / "rabbitmq" / "make_definitions.py"),
         "--passwords", str(secrets / "broker-passwords.env"),
         "--passwords", str(secrets / "broker-operators.env"),
         "--out", str(secrets / "definitions.json")],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert made.returncode == 0, made.stderr
    return copy


@pytest.fixture(scope="module")
def overlays(tmp_path_factory):
    production = production_copy(tmp_path_factory.mktemp("production"))
    return {
        "local": kustomize(K8S / "overlays" / "local"),
        "production": kustomize(production / "k8s" / "overlays" / "production"),
    }


@pytest.fixture(params=["local", "production"])
def rendered(request, overlays):
    return request.param, overlays[request.param]


def by_kind(docs, kind):
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def one(docs, kind, name):
    found = by_kind(docs, kind)
    assert name in found, f"no {kind} {name}"
    return found[name]


def container_of(deployment):
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def config_data(docs):
    return one(docs, "ConfigMap", "childlink-config")["data"]


def secret_keys(docs):
    return {name: set(secret.get("data", {})) | set(secret.get("stringData", {}))
            for name, secret in by_kind(docs, "Secret").items()}


# --- schemas -----------------------------------------------------------------------------------


def test_every_core_object_is_valid_against_the_kubernetes_schemas(rendered):
    overlay, docs = rendered
    kinds = set()
    for doc in docs:
        if (doc["apiVersion"], doc["kind"]) in CUSTOM_KINDS:
            continue
        kinds.add(doc["kind"])
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{overlay}: {doc['kind']} {doc['metadata']['name']}: "
                        f"{'.'.join(map(str, exc.path))}: {exc.message}")
    assert {"Deployment", "Service", "PodDisruptionBudget", "ConfigMap", "Secret", "Namespace"} <= kinds


def test_the_validator_does_reject_a_broken_deployment(overlays):
    deployment = json.loads(json.dumps(one(overlays["local"], "Deployment", "health")))
    container_of(deployment)["readinessProbe"]["httpGet"]["port"] = {"not": "a port"}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)
    del container_of(deployment)["readinessProbe"]
    container_of(deployment)["readinesProbe"] = {}  # a typo'd field: strict mode refuses it
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)


def test_only_known_custom_resources_are_used(rendered):
    _, docs = rendered
    custom = {(d["apiVersion"], d["kind"]) for d in docs} - {
        (d["apiVersion"], d["kind"]) for d in docs if "/" not in d["apiVersion"]
        or d["apiVersion"].split("/")[0] in ("apps", "policy", "networking.k8s.io")}
    assert custom <= CUSTOM_KINDS, custom - CUSTOM_KINDS


# --- the services ------------------------------------------------------------------------------


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_is_a_probed_limited_deployment_with_a_service_and_a_pdb(overlays, service):
    for overlay, docs in overlays.items():
        port = SERVICES[service]
        deployment = one(docs, "Deployment", service)
        labels = deployment["spec"]["selector"]["matchLabels"]
        pod = deployment["spec"]["template"]
        assert labels.items() <= pod["metadata"]["labels"].items(), (overlay, service)
        container = container_of(deployment)
        assert container["command"] == ["nameko", "run", "--config", "deploy/nameko/config.yaml",
                                        f"childlink_{service}.service"], (overlay, service)
        assert container["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
        env = {item["name"]: item for item in container["env"]}
        assert env["WEB_SERVER_ADDRESS"]["value"] == f"0.0.0.0:{port}"
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            assert container[probe]["httpGet"] == {"path": "/health", "port": "http"}, (service, probe)
        resources = container["resources"]
        assert set(resources["requests"]) == {"cpu", "memory"} == set(resources["limits"]), service
        security = container["securityContext"]
        assert security["allowPrivilegeEscalation"] is False and security["readOnlyRootFilesystem"]
        assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
        assert pod["spec"]["automountServiceAccountToken"] is False

        svc = one(docs, "Service", service)
        assert svc["spec"]["selector"] == labels
        assert [(p["port"], p["targetPort"]) for p in svc["spec"]["ports"]] == [(port, "http")]
        pdb = one(docs, "PodDisruptionBudget", service)
        assert pdb["spec"]["selector"]["matchLabels"] == labels
        assert pdb["spec"]["maxUnavailable"] == 1  # never blocks a drain, whatever the replicas


def test_all_services_run_the_one_image(rendered):
    _, docs = rendered
    images = {container_of(d)["image"] for d in by_kind(docs, "Deployment").values()}
    assert len(images) == 1, images
    assert set(by_kind(docs, "Deployment")) == set(SERVICES)


def test_production_runs_several_replicas_and_referral_is_left_to_keda(overlays):
    deployments = by_kind(overlays["production"], "Deployment")
    for name, deployment in deployments.items():
        if name == "referral":
            assert "replicas" not in deployment["spec"], "KEDA owns the referral replica count"
        elif name in ("monitor", "insights"):
            assert deployment["spec"]["replicas"] == 1, f"one {name} (see apps/{name}.yaml)"
        else:
            assert deployment["spec"]["replicas"] >= 2, name
    scaled = one(overlays["production"], "ScaledObject", "referral")
    assert scaled["spec"]["minReplicaCount"] >= 2


def env_references_resolve(docs, overlay):
    config = config_data(docs)
    secrets = secret_keys(docs)
    configmaps = by_kind(docs, "ConfigMap")
    for name, deployment in by_kind(docs, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        container = container_of(deployment)
        defined = set()
        for source in container.get("envFrom", []):
            assert source["configMapRef"]["name"] in configmaps, (overlay, name)
            defined |= set(configmaps[source["configMapRef"]["name"]]["data"])
        for item in container["env"]:
            for var in re.findall(r"\$\((\w+)\)", item.get("value", "")):
                assert var in defined, f"{overlay}/{name}: {item['name']} uses $({var}) before it is set"
            ref = item.get("valueFrom", {}).get("secretKeyRef")
            if ref and not OPERATOR_SECRET.match(ref["name"]):
                assert ref["key"] in secrets.get(ref["name"], set()), (overlay, name, ref)
            defined.add(item["name"])
        for volume in pod.get("volumes", []):
            if "configMap" in volume:
                assert volume["configMap"]["name"] in configmaps, (overlay, name, volume)
    assert "AMQP_VHOST" in config


def test_every_env_reference_and_secret_key_exists(rendered):
    overlay, docs = rendered
    env_references_resolve(docs, overlay)


def test_each_service_logs_in_as_its_own_broker_and_database_user(rendered):
    _, docs = rendered
    for name, deployment in by_kind(docs, "Deployment").items():
        env = {item["name"]: item for item in container_of(deployment)["env"]}
        assert env["AMQP_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
            "name": "childlink-broker-passwords", "key": name}
        assert env["AMQP_URI"]["value"] == (
            f"$(AMQP_SCHEME)://{name}:$(AMQP_PASSWORD)@$(AMQP_HOST):$(AMQP_PORT)/$(AMQP_VHOST)")
        assert env["MONGO_URI"]["valueFrom"]["secretKeyRef"] == {
            "name": f"childlink-mongodb-admin-{name}", "key": "connectionString.standard"}
        if name in DEPARTMENTS:
            assert env["AMQP_DECLARE_TOPOLOGY"]["value"] == "passive", name
            assert env[f"{name.upper()}_API_KEYS"]["valueFrom"]["secretKeyRef"]["name"] == (
                "childlink-api-keys")
    monitor = {i["name"]: i for i in container_of(one(docs, "Deployment", "monitor"))["env"]}
    assert monitor["MANAGEMENT_URL"]["value"].startswith("$(RABBITMQ_MANAGEMENT_SCHEME)://monitor:$(AMQP_PASSWORD)@")
    for pair in monitor["MONITOR_HEALTH_URLS"]["value"].split(","):
        name, url = pair.split("=")
        assert url == f"http://{name}:{SERVICES[name]}", pair
    gateway = {i["name"]: i for i in container_of(one(docs, "Deployment", "gateway"))["env"]}
    assert gateway["GATEWAY_SECRET_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "childlink-gateway"


# --- RabbitMQ ----------------------------------------------------------------------------------


def test_rabbitmq_is_a_cluster_that_imports_the_definitions(rendered):
    overlay, docs = rendered
    cluster = one(docs, "RabbitmqCluster", "childlink-rabbitmq")
    assert cluster["apiVersion"] == "rabbitmq.com/v1beta1"
    spec = cluster["spec"]
    assert spec["replicas"] == (3 if overlay == "production" else 1)
    assert re.match(r"^rabbitmq:3\.13", spec["image"])
    assert set(spec["resources"]["requests"]) == {"cpu", "memory"} == set(spec["resources"]["limits"])
    conf = dict(line.split(" = ", 1) for line in spec["rabbitmq"]["additionalConfig"].splitlines()
                if " = " in line)
    assert conf["cluster_partition_handling"] == "pause_minority"
    pod = spec["override"]["statefulSet"]["spec"]["template"]["spec"]
    (mount,) = [m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "definitions"]
    assert pod["containers"][0]["name"] == "rabbitmq"
    assert conf["load_definitions"] == f"{mount['mountPath']}/definitions.json"
    (volume,) = [v for v in pod["volumes"] if v["name"] == "definitions"]
    secret = one(docs, "Secret", volume["secret"]["secretName"])
    assert "definitions.json" in secret["data"]
    pdb = one(docs, "PodDisruptionBudget", "childlink-rabbitmq")
    assert pdb["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": "childlink-rabbitmq"}


def decoded(secret, key):
    return base64.b64decode(secret["data"][key]).decode()


def test_local_cluster_imports_the_same_definitions_as_compose_and_production_its_own(overlays):
    repo = json.loads((DEPLOY / "rabbitmq" / "definitions.json").read_text())
    local = json.loads(decoded(one(overlays["local"], "Secret", "childlink-rabbitmq-definitions"),
                               "definitions.json"))
    assert local == repo
    production = json.loads(decoded(
        one(overlays["production"], "Secret", "childlink-rabbitmq-definitions"), "definitions.json"))
    # the same layout and grants, other password hashes
    for key in ("vhosts", "permissions", "policies", "queues", "exchanges", "bindings"):
        assert production[key] == repo[key], key
    repo_hashes = {u["name"]: u["password_hash"] for u in repo["users"]}
    for user in production["users"]:
        assert user["password_hash"] != repo_hashes[user["name"]], user["name"]


def test_definitions_make_every_referral_queue_a_quorum_queue_with_a_limit_and_dead_lettering():
    definitions = json.loads((DEPLOY / "rabbitmq" / "definitions.json").read_text())
    queues = {q["name"]: q for q in definitions["queues"]}
    for queue in topology.all_queues():
        assert queues[queue.name]["arguments"]["x-queue-type"] == "quorum", queue.name
    for department in DEPARTMENTS:
        arguments = queues[f"referral.{department}.events"]["arguments"]
        assert arguments["x-delivery-limit"] == topology.BROKER_DELIVERY_LIMIT
        assert arguments["x-dead-letter-exchange"] == topology.DEAD_LETTER_EXCHANGE


def test_production_speaks_tls_to_rabbitmq_and_mongodb(overlays):
    docs = overlays["production"]
    config = config_data(docs)
    assert (config["AMQP_SCHEME"], config["AMQP_PORT"], config["AMQP_SSL"]) == ("amqps", "5671", "1")
    assert config["MONGO_TLS"] == "1"
    ca_path = config["AMQP_SSL_CA"]
    assert config["MONGO_TLS_CA_FILE"] == ca_path
    for name, deployment in by_kind(docs, "Deployment").items():
        mounts = {m["mountPath"]: m["name"] for m in container_of(deployment)["volumeMounts"]}
        volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
        mount_dir, _, file_name = ca_path.rpartition("/")
        volume = volumes[mounts[mount_dir]]
        assert file_name in one(docs, "ConfigMap", volume["configMap"]["name"])["data"], name
    cluster = one(docs, "RabbitmqCluster", "childlink-rabbitmq")["spec"]
    assert cluster["tls"] == {"secretName": "childlink-rabbitmq-tls", "disableNonTLSListeners": True}
    mongo_tls = one(docs, "MongoDBCommunity", "childlink-mongodb")["spec"]["security"]["tls"]
    assert mongo_tls["enabled"] is True
    assert mongo_tls["certificateKeySecretRef"]["name"] == "childlink-mongodb-tls"
    assert "ca.crt" in one(docs, "ConfigMap", mongo_tls["caConfigMapRef"]["name"])["data"]
    certificates = by_kind(docs, "Certificate")
    assert {c["spec"]["secretName"] for c in certificates.values()} == {
        "childlink-rabbitmq-tls", "childlink-mongodb-tls"}
    rabbit_cert = next(c for c in certificates.values() if c["spec"]["secretName"] == "childlink-rabbitmq-tls")
    assert config["AMQP_HOST"] in rabbit_cert["spec"]["dnsNames"], "the host name the services check"
    issuer = one(docs, "Issuer", "childlink-ca")
    assert issuer["spec"]["ca"]["secretName"] in CERT_MANAGER_SECRETS
    for certificate in certificates.values():
        assert certificate["apiVersion"] == "cert-manager.io/v1"
        assert certificate["spec"]["issuerRef"] == {"kind": "Issuer", "name": "childlink-ca"}


def test_local_is_plain_tcp(overlays):
    config = config_data(overlays["local"])
    assert (config["AMQP_SCHEME"], config["AMQP_PORT"]) == ("amqp", "5672")
    assert "AMQP_SSL" not in config and "MONGO_TLS" not in config


# --- MongoDB -----------------------------------------------------------------------------------


def test_mongodb_is_a_replica_set_with_one_user_per_service_on_its_own_database(rendered):
    overlay, docs = rendered
    mongo = one(docs, "MongoDBCommunity", "childlink-mongodb")
    assert mongo["apiVersion"] == "mongodbcommunity.mongodb.com/v1"
    spec = mongo["spec"]
    assert spec["type"] == "ReplicaSet"
    assert spec["members"] == (3 if overlay == "production" else 1)
    assert re.match(r"^\d+\.\d+\.\d+$", spec["version"])
    assert spec["security"]["authentication"]["modes"] == ["SCRAM"]
    passwords = secret_keys(docs)
    users = {user["name"]: user for user in spec["users"]}
    assert set(users) == set(SERVICES)
    for name, user in users.items():
        assert user["db"] == "admin"  # so the operator names the secret childlink-mongodb-admin-<name>
        assert user["roles"] == [{"name": "readWrite", "db": f"childlink_{name}"}], name
        ref = user["passwordSecretRef"]
        assert ref["key"] in passwords[ref["name"]], name
        assert user["scramCredentialsSecretName"]
    pdb = one(docs, "PodDisruptionBudget", "childlink-mongodb")
    assert pdb["spec"]["selector"]["matchLabels"] == {"app": "childlink-mongodb-svc"}


# --- KEDA --------------------------------------------------------------------------------------


def test_referral_scales_on_the_depth_of_its_queues(rendered):
    _, docs = rendered
    scaled = one(docs, "ScaledObject", "referral")
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    target = scaled["spec"]["scaleTargetRef"]
    assert (target.get("kind", "Deployment"), target["name"]) == ("Deployment", "referral")
    assert scaled["spec"]["minReplicaCount"] <= scaled["spec"]["maxReplicaCount"]
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "rabbitmq"
    meta = trigger["metadata"]
    assert meta["mode"] == "QueueLength" and int(meta["value"]) > 0
    assert meta["protocol"] == "http" and meta["useRegex"] == "true" and meta["operation"] == "sum"
    assert meta["vhostName"] == "childlink"
    pattern = re.compile(meta["queueName"])
    for department in DEPARTMENTS:
        assert pattern.search(topology.referral_queue(department).name), department
    assert not pattern.search(topology.DEAD_LETTER_QUEUE)
    auth = one(docs, "TriggerAuthentication", trigger["authenticationRef"]["name"])
    keys = secret_keys(docs)
    parameters = {}
    for ref in auth["spec"]["secretTargetRef"]:
        assert ref["key"] in keys[ref["name"]], ref
        parameters[ref["parameter"]] = decoded(one(docs, "Secret", ref["name"]), ref["key"])
    host = parameters["host"]
    assert re.match(r"^https?://keda:[^@]+@childlink-rabbitmq\.[a-z-]+\.svc:1567[12]/childlink$", host)


# --- credentials -------------------------------------------------------------------------------


def test_no_real_credential_is_committed():
    tracked = subprocess.run(["git", "ls-files", str(PRODUCTION_SECRETS.relative_to(ROOT))],
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    names = {Path(path).name for path in tracked}
    assert names and all(n.endswith(".example") or n in (".gitignore", "README.md") for n in names), names
    for path in PRODUCTION_SECRETS.glob("*.env.example"):
        for line in path.read_text().splitlines():
            if line and not line.startswith("#") and line != "tls=enable":
                assert "CHANGE_ME" in line, f"{path.name}: {line}"
    ignored = subprocess.run(["git", "check-ignore", "-q", str(PRODUCTION_SECRETS / "api-keys.env")],
                             cwd=ROOT, check=False)
    assert ignored.returncode == 0, "secrets/api-keys.env must be ignored by git"


def test_local_dev_only_broker_passwords_match_the_definitions_hashes():
    def rabbit_password_matches(password_hash, password):
        raw = base64.b64decode(password_hash)
        return hashlib.sha256(raw[:4] + password.encode()).digest() == raw[4:]

    definitions = json.loads((DEPLOY / "rabbitmq" / "definitions.json").read_text())
    hashes = {u["name"]: u["password_hash"] for u in definitions["users"]}
    env = K8S / "overlays" / "local" / "dev-only" / "broker-passwords.env"
    for line in env.read_text().splitlines():
        if line and not line.startswith("#"):
            user, password = line.split("=", 1)
            assert password == f"dev-only-{user}"
            assert rabbit_password_matches(hashes[user], password), user


def test_make_definitions_refuses_missing_or_dev_only_passwords(tmp_path):
    script = DEPLOY / "rabbitmq" / "make_definitions.py"
    passwords = tmp_path / "passwords.env"
    passwords.write_text("social=s3cret\n")
    run = subprocess.run([sys.executable, str(script), "--passwords", str(passwords), "--out",
                          str(tmp_path / "d.json")], capture_output=True, text=True, check=False)
    assert run.returncode == 2 and "no password for" in run.stderr
    users = [u["name"] for u in json.loads((DEPLOY / "rabbitmq" / "definitions.json").read_text())["users"]]
    passwords.write_text("".join(f"{u}=dev-only-{u}\n" for u in users))
    run = subprocess.run([sys.executable, str(script), "--passwords", str(passwords), "--out",
                          str(tmp_path / "d.json")], capture_output=True, text=True, check=False)
    assert run.returncode == 2 and "dev-only" in run.stderr
    assert not (tmp_path / "d.json").exists()


# --- network policies (issue 17) ------------------------------------------------------------------

PROMETHEUS = ({"kubernetes.io/metadata.name": "monitoring"}, {"app.kubernetes.io/name": "prometheus"})
INGRESS = ({"kubernetes.io/metadata.name": "ingress-nginx"}, {"app.kubernetes.io/name": "ingress-nginx"})


def _matches(selector, labels):
    if selector is None:
        return True
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        present = expr["key"] in labels
        value = labels.get(expr["key"])
        if expr["operator"] == "In" and value not in expr["values"]:
            return False
        if expr["operator"] == "NotIn" and value in expr["values"]:
            return False
        if expr["operator"] == "Exists" and not present:
            return False
    return True


def may_reach(docs, namespace, source, target, port="http"):
    """NetworkPolicy ingress semantics: a pod no policy selects takes anything; a selected pod takes
    what one of its policies' rules allows. `source` is (namespace labels, pod labels)."""
    target_labels = one(docs, "Deployment", target)["spec"]["template"]["metadata"]["labels"]
    own_namespace = {"kubernetes.io/metadata.name": namespace}
    policies = [p for p in by_kind(docs, "NetworkPolicy").values()
                if _matches(p["spec"]["podSelector"], target_labels) and "Ingress" in p["spec"]["policyTypes"]]
    if not policies:
        return True
    source_ns, source_pod = source
    for policy in policies:
        for rule in policy["spec"].get("ingress", []):
            if rule.get("ports") and not any(p.get("port") == port for p in rule["ports"]):
                continue
            for peer in rule.get("from", [{}]):
                ns_selector = peer.get("namespaceSelector")
                same_namespace = source_ns == own_namespace
                ns_ok = _matches(ns_selector, source_ns) if ns_selector is not None else same_namespace
                if ns_ok and _matches(peer.get("podSelector"), source_pod):
                    return True
    return False


def pod(docs, name):
    return one(docs, "Deployment", name)["spec"]["template"]["metadata"]["labels"]


def test_only_the_gateway_reaches_the_referral_and_monitor_http_apis(rendered):
    overlay, docs = rendered
    namespace = one(docs, "Deployment", "gateway")["metadata"].get("namespace", "default")
    here = {"kubernetes.io/metadata.name": namespace}
    for target in ("referral", "monitor"):
        assert may_reach(docs, namespace, (here, pod(docs, "gateway")), target), (overlay, target)
        for other in DEPARTMENTS:
            assert not may_reach(docs, namespace, (here, pod(docs, other)), target), (overlay, other, target)
        assert not may_reach(docs, namespace, (here, {"run": "debug-shell"}), target), overlay
        assert not may_reach(docs, namespace, INGRESS, target), (overlay, target)
    assert may_reach(docs, namespace, (here, pod(docs, "monitor")), "referral")  # its /health poll


def test_only_prometheus_and_the_ingress_reach_the_public_services(rendered):
    overlay, docs = rendered
    namespace = one(docs, "Deployment", "gateway")["metadata"].get("namespace", "default")
    here = {"kubernetes.io/metadata.name": namespace}
    for service in SERVICES:
        assert may_reach(docs, namespace, PROMETHEUS, service), (overlay, service)  # /metrics
        assert not may_reach(docs, namespace, ({"kubernetes.io/metadata.name": "monitoring"},
                                               {"app.kubernetes.io/name": "grafana"}), service)
        assert not may_reach(docs, namespace, ({"kubernetes.io/metadata.name": "other-team"}, {}), service)
    for public in ("gateway", *DEPARTMENTS):
        assert may_reach(docs, namespace, INGRESS, public), (overlay, public)
    assert not may_reach(docs, namespace, (here, pod(docs, "referral")), "gateway")


def test_services_fail_closed_outside_the_local_overlay(overlays):
    assert config_data(overlays["production"])["CHILDLINK_ENV"] == "production"
    assert config_data(overlays["local"])["CHILDLINK_ENV"] == "local"
