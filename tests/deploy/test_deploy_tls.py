"""TLS to the broker and the database, configured by the environment (childlink_common.settings).

The local RabbitMQ speaks plain AMQP, so the broker side of TLS is a TLS-terminating proxy in front
of it, with a certificate from a throwaway CA made here with `openssl`. The relay then connects
through it exactly as a service in the production overlay does (AMQP_SSL=1, AMQP_SSL_CA=<ca file>,
host name checked), and refuses a broker whose certificate its CA did not sign.
"""

import shutil
import ssl
import subprocess
import sys
import textwrap
import time
from urllib.parse import quote, urlsplit

import pytest
import yaml
from childlink_common import settings
from childlink_common.container import ChildlinkContainer
from childlink_common.outbox.sqlite_store import SqliteOutbox
from childlink_common.processes import NAMEKO_CONFIG, free_port
from childlink_common.relay import OutboxRelay
from childlink_common.testing.events import event
from childlink_contracts import validate_event
from kombu import Connection
from kombu.exceptions import OperationalError

TLS_ENV = ("AMQP_SSL", "AMQP_SSL_CA", "AMQP_SSL_CERT", "AMQP_SSL_KEY", "AMQP_SSL_VERIFY_HOSTNAME",
           "MONGO_TLS", "MONGO_TLS_CA_FILE", "MONGO_TLS_CERT_KEY_FILE", "AMQP_DECLARE_TOPOLOGY")

PROXY = textwrap.dedent("""
    import asyncio, ssl, sys
    listen, upstream, cert, key = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    async def pipe(reader, writer):
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def client(reader, writer):
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream)
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def main():
        server = await asyncio.start_server(client, ["127.0.0.1", "127.0.0.2"], listen, ssl=context)
        print("listening", flush=True)
        async with server:
            await server.serve_forever()

    asyncio.run(main())
""")


@pytest.fixture
def clean_env(monkeypatch):
    for name in TLS_ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make the test CA (Debian package openssl)")
    folder = tmp_path_factory.mktemp("tls")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=childlink test CA", cwd=folder)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost", cwd=folder)
    (folder / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "2", "-extfile", "san.ext", cwd=folder)
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "other.key", "-out", "other-ca.pem", "-days", "2", "-subj", "/CN=another CA",
            cwd=folder)
    return folder


@pytest.fixture
def tls_broker(certificates, rabbit_config, tmp_path):
    """amqps://127.0.0.1:<port>/<test vhost>: TLS in front of the local RabbitMQ, also listening on
    127.0.0.2, an address its certificate does not name."""
    port = free_port()
    upstream = urlsplit(rabbit_config["AMQP_URI"]).port or 5672
    script = tmp_path / "tls_proxy.py"
    script.write_text(PROXY)
    proxy = subprocess.Popen([sys.executable, str(script), str(port), str(upstream),
                              str(certificates / "server.pem"), str(certificates / "server.key")],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proxy.stdout.readline().strip() == "listening"
        yield f"amqps://guest:guest@127.0.0.1:{port}/{quote(rabbit_config['vhost'], safe='')}"
    finally:
        proxy.terminate()
        proxy.wait(10)


def accepted_health_event():
    return validate_event(event("health", "child.screened"), "health")


def test_the_relay_publishes_over_tls_checking_the_broker_against_the_ca(tls_broker, certificates,
                                                                         clean_env, tmp_path):
    clean_env.setenv("AMQP_SSL", "1")
    clean_env.setenv("AMQP_SSL_CA", str(certificates / "ca.pem"))
    outbox = SqliteOutbox(tmp_path / "health.sqlite3")
    outbox.add([accepted_health_event()], time.time())
    relay = OutboxRelay(outbox, "health", tls_broker)
    assert relay.ssl == {"cert_reqs": ssl.CERT_REQUIRED, "ca_certs": str(certificates / "ca.pem"),
                         "server_hostname": None}
    try:
        assert relay.publish_pending() == 1
        assert relay._connection.connection.transport.sock.version().startswith("TLS")
    finally:
        relay.disconnect()
    assert outbox.backlog() == 0


def test_a_broker_certificate_from_another_ca_is_refused(tls_broker, certificates, clean_env, tmp_path):
    clean_env.setenv("AMQP_SSL", "1")
    clean_env.setenv("AMQP_SSL_CA", str(certificates / "other-ca.pem"))
    outbox = SqliteOutbox(tmp_path / "health.sqlite3")
    outbox.add([accepted_health_event()], time.time())
    relay = OutboxRelay(outbox, "health", tls_broker)
    with pytest.raises((ssl.SSLError, OSError, OperationalError), match="CERTIFICATE_VERIFY_FAILED"):
        relay.publish_pending()
    assert outbox.backlog() == 1, "nothing leaves the outbox unconfirmed"


def test_the_broker_host_name_is_checked(tls_broker, certificates, clean_env):
    """The certificate names 127.0.0.1; the same broker reached as 127.0.0.2 is refused."""
    clean_env.setenv("AMQP_SSL", "1")
    clean_env.setenv("AMQP_SSL_CA", str(certificates / "ca.pem"))
    by_address = tls_broker.replace("@127.0.0.1:", "@127.0.0.2:")
    refused = Connection(by_address, ssl=settings.amqp_ssl({"AMQP_URI": by_address}), connect_timeout=5)
    with refused, pytest.raises((ssl.SSLError, OSError, OperationalError), match="127.0.0.2"):
        refused.ensure_connection(max_retries=1)
    with Connection(tls_broker, ssl=settings.amqp_ssl({"AMQP_URI": tls_broker}), connect_timeout=5) as ok:
        ok.ensure_connection(max_retries=1)


def test_tls_is_off_unless_asked_for(clean_env):
    assert settings.amqp_ssl({"AMQP_URI": "pyamqp://guest:guest@127.0.0.1:5672/"}) is None
    assert settings.mongo_client_options() == {}
    assert settings.amqp_ssl({"AMQP_URI": "amqps://u:p@broker:5671/childlink"})["cert_reqs"] == (
        ssl.CERT_REQUIRED)


def test_client_certificates_and_hostname_switch(clean_env):
    clean_env.setenv("AMQP_SSL", "true")
    clean_env.setenv("AMQP_SSL_CERT", "/tls/client.pem")
    clean_env.setenv("AMQP_SSL_KEY", "/tls/client.key")
    clean_env.setenv("AMQP_SSL_VERIFY_HOSTNAME", "0")
    assert settings.amqp_ssl({}) == {"cert_reqs": ssl.CERT_REQUIRED, "certfile": "/tls/client.pem",
                                     "keyfile": "/tls/client.key"}


def test_nameko_services_resolve_amqp_ssl_before_anything_connects(clean_env):
    """deploy/nameko/config.yaml names ChildlinkContainer, which turns AMQP_SSL=1 and the CA file
    into the options dict nameko's own entrypoints (RPC, consumers) pass to kombu."""
    from nameko.cli.main import setup_yaml_parser

    setup_yaml_parser()
    clean_env.setenv("AMQP_SSL", "1")
    clean_env.setenv("AMQP_SSL_CA", "/etc/childlink/tls/ca.crt")
    config = yaml.safe_load(NAMEKO_CONFIG.read_text())
    assert config["SERVICE_CONTAINER_CLS"] == "childlink_common.container.ChildlinkContainer"
    assert config["AMQP_SSL"] == 1

    class Probe:
        name = "probe"

    container = ChildlinkContainer(Probe, config)
    assert container.config["AMQP_SSL"] == {"cert_reqs": ssl.CERT_REQUIRED,
                                            "ca_certs": "/etc/childlink/tls/ca.crt",
                                            "server_hostname": None}
    clean_env.delenv("AMQP_SSL")
    off = ChildlinkContainer(Probe, yaml.safe_load(NAMEKO_CONFIG.read_text()))
    assert "AMQP_SSL" not in off.config


def test_mongo_tls_options_reach_pymongo(clean_env, certificates):
    import pymongo

    clean_env.setenv("MONGO_TLS_CA_FILE", str(certificates / "ca.pem"))
    options = settings.mongo_client_options()
    assert options == {"tls": True, "tlsCAFile": str(certificates / "ca.pem")}
    client = pymongo.MongoClient("mongodb://db.invalid:27017/?replicaSet=rs0", connect=False, **options)
    try:
        assert client.options.pool_options._ssl_context is not None  # TLS on, not yet connected
    finally:
        client.close()
