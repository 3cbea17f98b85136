"""The docker-compose deployment, checked without a container engine.

`docker-compose config` (Debian's docker-compose 1.29, or `docker compose` v2) validates and
resolves docker-compose.yml; the tests then assert its shape: healthchecks, start order, ports,
one broker user per service. deploy/rabbitmq/definitions.json is checked against
childlink_common.topology, so the broker's permissions, queues and policy follow the code.

Nothing is installed here. Without a compose tool these tests fail (not skip), naming the package.
"""

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import yaml
from childlink_common import topology
from childlink_contracts import INGEST_DEPARTMENTS

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
RABBITMQ_DIR = ROOT / "deploy" / "rabbitmq"
INSTALL_HINT = "apt-get update && apt-get install -y --no-install-recommends docker-compose"

VHOST = "childlink"
DEPARTMENTS = tuple(INGEST_DEPARTMENTS)
APP_SERVICES = {
    "social": 8101,
    "education": 8102,
    "health": 8103,
    "medical": 8104,
    "referral": 8105,
    "monitor": 8106,
    "insights": 8107,
}
ONE_SHOT_JOBS = {"simulator"}  # run to completion under a profile: nothing to health-check
# Users no compose service logs in as (dev-only passwords listed in deploy/rabbitmq/README.md).
OTHER_DEV_PASSWORDS = {
    "gateway": "dev-only-gateway",
    "keda": "dev-only-keda",
    "admin": "dev-only-admin",
}


# --- helpers -----------------------------------------------------------------------------------


def compose_tool():
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        probe = subprocess.run(
            ["docker", "compose", "version"],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if probe.returncode == 0:
            return ["docker", "compose"]
    return None


def run_compose_config(tmp_dir, extra_env=None):
    tool = compose_tool()
    if tool is None:
        pytest.fail(
            "No compose tool: neither `docker-compose` nor `docker compose` is on PATH, so "
            "docker-compose.yml cannot be validated. Install Debian's package with:\n    "
            + INSTALL_HINT
        )
    # A clean environment and an empty env file: the `${VAR:-default}` fallbacks are what is tested,
    # not whatever the developer's shell or a local .env happens to set.
    env = {
        key: os.environ[key]
        for key in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
        if key in os.environ
    }
    env.update(extra_env or {})
    env_file = Path(tmp_dir) / "empty.env"
    env_file.write_text("")
    result = subprocess.run(
        [
            *tool,
            "--env-file",
            str(env_file),
            "-f",
            str(COMPOSE_FILE),
            "--profile",
            "simulate",
            "config",
        ],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, (
        f"`{' '.join(tool)} config` rejected docker-compose.yml:\n{result.stderr}"
    )
    return yaml.safe_load(result.stdout)


def published_ports(service):
    """{published host port: container port} from either short or long port syntax."""
    ports = {}
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            ports[int(entry["published"])] = int(entry["target"])
        else:
            host_part, _, container = str(entry).split("/")[0].rpartition(":")
            ports[int(host_part.rpartition(":")[2])] = int(container)
    return ports


def mounts(service):
    """{container path: host path} from either short or long volume syntax."""
    found = {}
    for entry in service.get("volumes", []):
        if isinstance(entry, dict):
            found[entry["target"]] = entry.get("source")
        else:
            source, target = str(entry).split(":")[:2]
            found[target] = source
    return found


def healthcheck_text(service):
    test = (service.get("healthcheck") or {}).get("test")
    return " ".join(test) if isinstance(test, list) else str(test or "")


def rabbit_password_matches(password_hash, password):
    raw = base64.b64decode(password_hash)
    salt, digest = raw[:4], raw[4:]
    return hashlib.sha256(salt + password.encode("utf-8")).digest() == digest


def allows(regex, name):
    """RabbitMQ matches permission regexes unanchored (Erlang re:run): that is re.search."""
    return re.search(regex, name) is not None


def topology_exchanges():
    return [topology.events_exchange(d) for d in (*DEPARTMENTS, "referral")] + [
        topology.dead_letter_exchange
    ]


def topology_queues():
    return topology.all_queues()


def referral_queue_names():
    return [topology.referral_queue(d).name for d in DEPARTMENTS]


def all_resource_names():
    return (
        {e.name for e in topology_exchanges()}
        | {q.name for q in topology_queues()}
        | {"amq.default", "nameko-rpc", "rpc-referral"}
    )


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose(tmp_path_factory):
    return run_compose_config(tmp_path_factory.mktemp("compose"))


@pytest.fixture(scope="module")
def services(compose):
    return compose["services"]


@pytest.fixture(scope="module")
def definitions():
    return json.loads((RABBITMQ_DIR / "definitions.json").read_text())


@pytest.fixture(scope="module")
def permissions(definitions):
    found = {}
    for entry in definitions["permissions"]:
        assert entry["vhost"] == VHOST, entry
        assert entry["user"] not in found, f"two permission entries for {entry['user']}"
        found[entry["user"]] = entry
    return found


# --- docker-compose.yml ------------------------------------------------------------------------


def test_compose_declares_broker_database_services_and_simulator(services):
    assert set(services) == {"rabbitmq", "mongo", *APP_SERVICES, *ONE_SHOT_JOBS}


def test_every_service_has_a_healthcheck_except_one_shot_jobs(services):
    for name, service in services.items():
        if name in ONE_SHOT_JOBS:
            assert service.get("profiles") == ["simulate"], f"{name} must stay behind a profile"
            assert str(service.get("restart", "no")) == "no", (
                f"{name} is a job; it must not restart"
            )
            continue
        check = service.get("healthcheck")
        assert check and check.get("test") and not check.get("disable"), (
            f"{name} has no healthcheck"
        )


def test_app_services_start_after_a_healthy_broker_and_database(services):
    for name in APP_SERVICES:
        depends = services[name].get("depends_on")
        assert isinstance(depends, dict), (
            f"{name}: depends_on must use the long form with conditions"
        )
        for dependency in ("rabbitmq", "mongo"):
            assert depends.get(dependency, {}).get("condition") == "service_healthy", (
                name,
                dependency,
            )


def test_app_services_publish_their_ports(services):
    for name, port in APP_SERVICES.items():
        assert published_ports(services[name]) == {port: 8000}, name
        assert services[name]["environment"]["WEB_SERVER_ADDRESS"] == "0.0.0.0:8000", name


def test_every_published_port_binds_to_localhost_only_and_services_run_in_local_mode(services):
    """Issue 17: the dev-only credentials are public, so nothing compose publishes is on all interfaces;
    and compose says local mode explicitly, the one mode in which the services accept dev keys."""
    for name, service in services.items():
        for entry in service.get("ports", []):
            host_ip = entry.get("host_ip") if isinstance(entry, dict) else str(entry).rsplit(":", 2)[0]
            assert host_ip == "127.0.0.1", (name, entry)
    for name in APP_SERVICES:
        assert services[name]["environment"]["CHILDLINK_ENV"] == "local", name


def test_app_services_run_their_own_nameko_service_from_the_one_image(services):
    images = set()
    for name in APP_SERVICES:
        service = services[name]
        assert service["command"] == [
            "nameko",
            "run",
            "--config",
            "deploy/nameko/config.yaml",
            f"childlink_{name}.service",
        ], name
        assert Path(service["build"]["context"]).resolve() == ROOT, name
        assert service["build"].get("dockerfile", "Dockerfile") == "Dockerfile", name
        images.add(service["image"])
    assert len(images) == 1, f"one image for every service, got {images}"
    assert services["simulator"]["image"] in images


def test_app_healthchecks_ask_health_with_python(services):
    for name in APP_SERVICES:
        check = healthcheck_text(services[name])
        assert "python" in check and "/health" in check and ":8000" in check, name
        assert "curl" not in check and "wget" not in check, f"{name}: the slim image has neither"


def test_app_services_log_in_as_their_own_broker_user_and_use_the_replica_set(services):
    for name in APP_SERVICES:
        env = services[name]["environment"]
        amqp = urlsplit(env["AMQP_URI"])
        assert amqp.scheme in ("amqp", "pyamqp"), name
        assert (amqp.username, amqp.hostname, amqp.port, amqp.path) == (
            name,
            "rabbitmq",
            5672,
            f"/{VHOST}",
        ), name
        mongo = urlsplit(env["MONGO_URI"])
        assert mongo.scheme == "mongodb" and mongo.hostname == "mongo", name
        assert parse_qs(mongo.query).get("replicaSet") == ["rs0"], name
        if name == "monitor":  # no API of its own to key: its overview holds no child data
            assert env["MANAGEMENT_URL"].startswith("http://monitor:") and "@rabbitmq:15672" in env["MANAGEMENT_URL"]
            # every service with an outbox (insights has none: it publishes nothing)
            assert set(env["MONITOR_HEALTH_URLS"].replace("=", ",").split(",")[::2]) == set(APP_SERVICES) - {
                name, "insights"}
            continue
        keys_var = "REFERRAL_API_KEYS" if name == "referral" else f"{name.upper()}_API_KEYS"
        assert env.get(keys_var), f"{name}: {keys_var} not set"


def test_credentials_are_env_overridable_with_dev_only_fallbacks(tmp_path):
    text = COMPOSE_FILE.read_text()
    for name in APP_SERVICES:
        var = f"{name.upper()}_AMQP_PASSWORD"
        assert f"pyamqp://{name}:${{{var}:-dev-only-{name}}}@rabbitmq" in text, name
    overridden = run_compose_config(
        tmp_path, {"HEALTH_AMQP_PASSWORD": "s3cret", "HEALTH_API_KEYS": "k1,k2"}
    )
    health = overridden["services"]["health"]["environment"]
    assert unquote(urlsplit(health["AMQP_URI"]).password) == "s3cret"
    assert health["HEALTH_API_KEYS"] == "k1,k2"


def test_simulator_runs_under_its_profile_after_the_departments_are_healthy(services):
    simulator = services["simulator"]
    assert simulator["profiles"] == ["simulate"]
    assert simulator["command"][:3] == ["python", "-m", "childlink_tools.simulator"]
    assert "--children" in simulator["command"]
    depends = simulator["depends_on"]
    for department in DEPARTMENTS:
        assert depends[department]["condition"] == "service_healthy", department
        assert simulator["environment"][f"{department.upper()}_URL"] == f"http://{department}:8000"
        assert simulator["environment"][f"{department.upper()}_API_KEY"]


def test_mongo_is_a_single_node_replica_set_healthy_once_primary(services):
    mongo = services["mongo"]
    assert mongo["image"] == "mongo:7"
    command = mongo["command"] if isinstance(mongo["command"], list) else mongo["command"].split()
    assert command[command.index("--replSet") + 1] == "rs0"
    check = healthcheck_text(mongo)
    assert "rs.initiate" in check and "'rs0'" in check and "mongo:27017" in check
    assert "isWritablePrimary" in check
    assert "/data/db" in mounts(mongo)


def test_rabbitmq_loads_definitions_through_its_config(services):
    rabbit = services["rabbitmq"]
    assert rabbit["image"] == "rabbitmq:3.13-management"
    mounted = mounts(rabbit)
    assert Path(mounted["/etc/rabbitmq/rabbitmq.conf"]).resolve() == RABBITMQ_DIR / "rabbitmq.conf"
    assert (
        Path(mounted["/etc/rabbitmq/enabled_plugins"]).resolve() == RABBITMQ_DIR / "enabled_plugins"
    )
    assert (
        Path(mounted["/etc/rabbitmq/definitions.json"]).resolve()
        == RABBITMQ_DIR / "definitions.json"
    )
    assert "/var/lib/rabbitmq" in mounted
    conf = (RABBITMQ_DIR / "rabbitmq.conf").read_text()
    assert re.search(
        r"^management\.load_definitions\s*=\s*/etc/rabbitmq/definitions\.json\s*$",
        conf,
        re.MULTILINE,
    )
    assert "rabbitmq_management" in (RABBITMQ_DIR / "enabled_plugins").read_text()
    assert rabbit.get("hostname") == "rabbitmq", "quorum queues need a stable node name"
    assert "rabbitmq-diagnostics" in healthcheck_text(rabbit)


# --- Dockerfile --------------------------------------------------------------------------------


def test_dockerfile_builds_one_non_root_image_without_secrets():
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.13-slim$", text, re.MULTILINE)
    assert re.search(r"pip install .*\buv==", text)
    assert "uv sync --frozen --no-dev" in text
    final_stage = text.rsplit("\nFROM ", 1)[1]
    users = re.findall(r"^USER\s+(\S+)", final_stage, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("root", "0"), (
        "the runtime stage must not run as root"
    )
    for line in re.findall(r"^(?:ENV|ARG)\b.*$", text, re.MULTILINE):
        assert not re.search(
            r"PASSWORD|SECRET|TOKEN|API_KEY|AMQP_URI|MONGO_URI", line, re.IGNORECASE
        ), line
    ignored = (ROOT / ".dockerignore").read_text().split()
    for pattern in (".git", ".venv", "**/.env"):
        assert pattern in ignored, pattern


# --- deploy/rabbitmq/definitions.json ----------------------------------------------------------


def test_definitions_are_valid_json_for_the_childlink_vhost(definitions):
    assert [v["name"] for v in definitions["vhosts"]] == [VHOST]
    names = [u["name"] for u in definitions["users"]]
    assert sorted(names) == sorted([*DEPARTMENTS, "referral", "gateway", "monitor", "insights", "keda", "admin"])
    assert "guest" not in names
    for kind in ("queues", "exchanges", "bindings", "policies"):
        assert all(item["vhost"] == VHOST for item in definitions[kind]), kind


def test_health_user_cannot_write_to_social_events(permissions):
    assert not allows(permissions["health"]["write"], "social.events")
    assert allows(permissions["health"]["write"], "health.events")


@pytest.mark.parametrize("department", DEPARTMENTS)
def test_a_department_publishes_only_to_its_own_exchange(permissions, department):
    grant = permissions[department]
    for other in (*DEPARTMENTS, "referral"):
        assert allows(grant["write"], f"{other}.events") == (other == department), (
            department,
            other,
        )
    assert not allows(grant["write"], topology.DEAD_LETTER_EXCHANGE)
    assert not allows(grant["write"], "amq.default")


def assert_can_run_declare_all(grant, user):
    """topology.declare_all declares every exchange and queue and binds every queue (see README)."""
    for exchange in topology_exchanges():
        assert allows(grant["configure"], exchange.name), (user, "configure", exchange.name)
    for queue in topology_queues():
        assert allows(grant["configure"], queue.name), (user, "configure", queue.name)
        assert allows(grant["write"], queue.name), (user, "bind: write on queue", queue.name)
        assert allows(grant["read"], queue.exchange.name), (
            user,
            "bind: read on exchange",
            queue.name,
        )


@pytest.mark.parametrize("department", DEPARTMENTS)
def test_a_department_may_configure_and_consume_nothing(permissions, department):
    """The relay checks the layout passively (topology.ensure): no configure right is needed, so a
    department credential can neither delete nor re-bind anything, nor read anyone's events."""
    grant = permissions[department]
    for name in all_resource_names():
        assert not allows(grant["configure"], name), (department, "configure", name)
        assert not allows(grant["read"], name), (department, "read", name)


def test_referral_reads_its_queues_and_writes_referral_events_and_the_dlx(permissions):
    grant = permissions["referral"]
    assert_can_run_declare_all(grant, "referral")  # its consumer runs declare_all on connect
    for name in (*referral_queue_names(), "referral.referral.events"):  # and its own events, read back
        assert allows(grant["read"], name), name
        assert allows(grant["configure"], name) and allows(grant["write"], name), name
    assert allows(grant["write"], "referral.events")
    assert allows(grant["write"], topology.DEAD_LETTER_EXCHANGE)
    for department in DEPARTMENTS:
        assert not allows(grant["write"], f"{department}.events"), department
    assert not allows(grant["read"], topology.DEAD_LETTER_QUEUE)
    for name in ("nameko-rpc", "rpc-referral"):  # its @rpc entrypoint
        for kind in ("configure", "write", "read"):
            assert allows(grant[kind], name), (kind, name)


def test_monitor_taps_reads_dead_letters_and_replays_but_touches_no_event_queue(definitions, permissions):
    """The monitor (childlink_monitor.tap/replay) keeps its own tap queues on every events exchange,
    reads the dead letters, replays one through the default exchange, and answers RPC."""
    grant = permissions["monitor"]
    taps = [f"monitor.{source}.events" for source in (*DEPARTMENTS, "referral")]
    for name in taps:
        for kind in ("configure", "write", "read"):
            assert allows(grant[kind], name), (kind, name)
    for exchange in topology_exchanges():
        assert not allows(grant["configure"], exchange.name), exchange.name
        assert not allows(grant["write"], exchange.name), exchange.name
        assert allows(grant["read"], exchange.name) == exchange.name.endswith(".events"), exchange.name
    assert allows(grant["read"], topology.DEAD_LETTER_QUEUE)
    assert allows(grant["write"], "amq.default")  # replay: to the failed queue by name
    for name in referral_queue_names():
        assert not allows(grant["read"], name) and not allows(grant["configure"], name), name
    for name in ("nameko-rpc", "rpc-monitor"):
        for kind in ("configure", "write", "read"):
            assert allows(grant[kind], name), (kind, name)
    monitor = next(u for u in definitions["users"] if u["name"] == "monitor")
    assert monitor["tags"] == ["monitoring"]


def test_keda_sees_queue_depths_only(definitions, permissions):
    """KEDA reads queue depths through the management API (tag `management`): no AMQP rights."""
    grant = permissions["keda"]
    for name in all_resource_names():
        for kind in ("configure", "write", "read"):
            assert not allows(grant[kind], name), (kind, name)
    keda = next(u for u in definitions["users"] if u["name"] == "keda")
    assert keda["tags"] == ["management"]


def test_gateway_may_only_call_rpc(permissions):
    grant = permissions["gateway"]
    for kind in ("configure", "write", "read"):
        assert allows(grant[kind], "nameko-rpc"), kind
        assert allows(grant[kind], "rpc.reply-gateway-0b6f"), kind
        for name in all_resource_names() - {"nameko-rpc"} | {"rpc-monitor", "monitor.health.events"}:
            assert not allows(grant[kind], name), (kind, name)


def test_definitions_declare_the_topology_exactly_as_the_code_does(definitions):
    """Re-declaring a queue with other arguments fails with PRECONDITION_FAILED: they must agree."""
    queues = {q["name"]: q for q in definitions["queues"]}
    assert set(queues) == {q.name for q in topology_queues()}
    for queue in topology_queues():
        declared = queues[queue.name]
        assert declared["durable"] is True and declared["auto_delete"] is False, queue.name
        assert declared["arguments"] == dict(queue.queue_arguments), queue.name
    exchanges = {e["name"]: e for e in definitions["exchanges"]}
    assert set(exchanges) == {e.name for e in topology_exchanges()}
    for exchange in topology_exchanges():
        declared = exchanges[exchange.name]
        assert (declared["type"], declared["durable"], declared["auto_delete"]) == (
            exchange.type,
            True,
            False,
        )
        assert declared.get("internal", False) is False and declared.get("arguments", {}) == {}
    bindings = {
        (b["source"], b["destination"], b["destination_type"], b["routing_key"])
        for b in definitions["bindings"]
    }
    assert bindings == {
        (q.exchange.name, q.name, "queue", q.routing_key) for q in topology_queues()
    }


def test_policy_makes_referral_queues_limited_and_dead_lettered(definitions):
    (policy,) = [
        p for p in definitions["policies"] if allows(p["pattern"], referral_queue_names()[0])
    ]
    assert policy["apply-to"] == "quorum_queues"
    assert policy["definition"] == {
        "delivery-limit": topology.BROKER_DELIVERY_LIMIT,
        "dead-letter-exchange": topology.DEAD_LETTER_EXCHANGE,
    }
    for name in referral_queue_names():
        assert allows(policy["pattern"], name), name
        assert (
            dict(topology.referral_queue(name.split(".")[1]).queue_arguments)["x-queue-type"]
            == "quorum"
        )
    assert not allows(policy["pattern"], topology.DEAD_LETTER_QUEUE)


def test_password_hashes_are_of_the_dev_only_defaults_compose_uses(definitions, services):
    users = {u["name"]: u for u in definitions["users"]}
    expected = dict(OTHER_DEV_PASSWORDS)
    for name in APP_SERVICES:
        uri = urlsplit(services[name]["environment"]["AMQP_URI"])
        expected[uri.username] = unquote(uri.password)
    assert set(expected) == set(users)
    for name, password in expected.items():
        assert password == f"dev-only-{name}", (
            f"{name}: compose's fallback is not the documented dev default"
        )
        assert users[name]["hashing_algorithm"] == "rabbit_password_hashing_sha256", name
        assert rabbit_password_matches(users[name]["password_hash"], password), (
            f"{name}: hash does not match"
        )
