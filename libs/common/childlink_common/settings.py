"""Configuration from the environment, with defaults that run the whole system on one machine."""

import os
import ssl
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_AMQP_URI = "pyamqp://guest:guest@127.0.0.1:5672/"
# How a publisher makes sure the broker layout exists before it publishes (see topology.ensure):
# "auto" declares it and, if the broker refuses (a least-privilege user), checks it passively.
TOPOLOGY_MODES = ("auto", "declare", "passive")
MODES = ("local", "production")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
# The keys and secrets committed for local runs (Makefile, docker-compose.yml, the k8s local overlay):
# anyone can read them, so outside local mode a service refuses to start with one.
DEV_SECRET_PREFIXES = ("dev-",)


class SettingError(ValueError):
    """A setting that must stop the service at start; the message names the setting and the fix."""


def local_mode():
    """CHILDLINK_ENV=local or production; unset, local only while the broker is on this machine (the
    default AMQP_URI, `make run`, the tests), so a deployment that forgets to say is not local."""
    mode = os.environ.get("CHILDLINK_ENV", "").strip().lower()
    if mode:
        if mode not in MODES:
            raise SettingError(f"CHILDLINK_ENV={mode!r}: expected one of {', '.join(MODES)}")
        return mode == "local"
    return (urlsplit(amqp_uri()).hostname or "") in LOOPBACK_HOSTS


def is_dev_secret(value):
    return value.startswith(DEV_SECRET_PREFIXES)


def amqp_uri(config=None):
    if config and config.get("AMQP_URI"):
        return config["AMQP_URI"]
    return os.environ.get("AMQP_URI", DEFAULT_AMQP_URI)


def amqp_ssl(config=None):
    """TLS options for kombu / nameko (`Connection(ssl=...)`, nameko's `AMQP_SSL` key), or None.

    On when AMQP_SSL is true (1/true/yes/on), when the nameko config's AMQP_SSL is, or when the URI
    is `amqps://`. The broker's certificate is always verified, against AMQP_SSL_CA (a PEM file)
    or else the system's CA store, and its host name checked unless AMQP_SSL_VERIFY_HOSTNAME=0.
    AMQP_SSL_CERT / AMQP_SSL_KEY add a client certificate (mutual TLS). A dict in the nameko
    config is taken as it is. Only file paths come from the environment, never key material.
    """
    configured = (config or {}).get("AMQP_SSL")
    if isinstance(configured, dict):
        return dict(configured) or None
    uri = amqp_uri(config)
    wanted = (_truthy(configured) or flag_env("AMQP_SSL", False)
              or urlsplit(uri).scheme in ("amqps", "pyamqps"))
    if not wanted:
        return None
    options = {"cert_reqs": ssl.CERT_REQUIRED}
    if os.environ.get("AMQP_SSL_CA"):
        options["ca_certs"] = os.environ["AMQP_SSL_CA"]
    if os.environ.get("AMQP_SSL_CERT"):
        options["certfile"] = os.environ["AMQP_SSL_CERT"]
        if os.environ.get("AMQP_SSL_KEY"):
            options["keyfile"] = os.environ["AMQP_SSL_KEY"]
    if flag_env("AMQP_SSL_VERIFY_HOSTNAME", True):
        options["server_hostname"] = None  # kombu fills in the URI's host name and checks it
    return options


def nameko_config(config):
    """The nameko config with AMQP_SSL resolved, so nameko's own entrypoints (RPC, consumers) and
    ours connect the same way."""
    resolved = amqp_ssl(config)
    updated = dict(config)
    if resolved is None:
        updated.pop("AMQP_SSL", None)
    else:
        updated["AMQP_SSL"] = resolved
    return updated


def topology_mode():
    mode = os.environ.get("AMQP_DECLARE_TOPOLOGY", "auto").strip().lower() or "auto"
    if mode not in TOPOLOGY_MODES:
        raise ValueError(f"AMQP_DECLARE_TOPOLOGY={mode!r}: expected one of {', '.join(TOPOLOGY_MODES)}")
    return mode


def mongo_uri():
    """Unset means the embedded SQLite store."""
    return os.environ.get("MONGO_URI") or None


def mongo_client_options():
    """TLS options for pymongo beside MONGO_URI (which may say tls=true itself).

    MONGO_TLS=1 turns TLS on; MONGO_TLS_CA_FILE (the CA's PEM file) does too, and is what the
    server's certificate is checked against; MONGO_TLS_CERT_KEY_FILE adds a client certificate.
    """
    options = {}
    if flag_env("MONGO_TLS", False):
        options["tls"] = True
    if os.environ.get("MONGO_TLS_CA_FILE"):
        options["tls"] = True
        options["tlsCAFile"] = os.environ["MONGO_TLS_CA_FILE"]
    if os.environ.get("MONGO_TLS_CERT_KEY_FILE"):
        options["tls"] = True
        options["tlsCertificateKeyFile"] = os.environ["MONGO_TLS_CERT_KEY_FILE"]
    return options


def data_dir():
    path = Path(os.environ.get("CHILDLINK_DATA_DIR", "var/data"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def api_keys(env_name, default):
    """Comma-separated keys. Fails closed: set but holding no key (`" , "`) stops the service; unset,
    the dev `default` serves local mode only (logged); a dev key outside local mode stops it too."""
    raw = os.environ.get(env_name)
    if raw is None:
        if not local_mode():
            raise SettingError(f"{env_name} is not set: outside local mode (CHILDLINK_ENV=local) each service "
                               "needs its own keys")
        _warn_dev_secret(env_name)
        return frozenset([default])
    keys = [key.strip() for key in raw.split(",") if key.strip()]
    if not keys:
        raise SettingError(f"{env_name} is set but holds no key: give one or more comma-separated keys, "
                           "or unset it for the local dev key")
    _refuse_dev_secrets(env_name, keys)
    return frozenset(keys)


def secret(env_name):
    """A secret setting (one value): None when unset; set but blank stops the service, and so does a dev
    secret outside local mode."""
    raw = os.environ.get(env_name)
    if raw is None:
        return None
    value = raw.strip()
    if not value:
        raise SettingError(f"{env_name} is set but empty: give a secret, or unset it for local runs")
    _refuse_dev_secrets(env_name, [value])
    return value


def _refuse_dev_secrets(env_name, values):
    if any(is_dev_secret(value) for value in values) and not local_mode():
        raise SettingError(f"{env_name} holds a dev key or secret (dev-...), which anyone can read: outside local "
                           "mode (CHILDLINK_ENV=local) give it a secret of its own")


def _warn_dev_secret(env_name):
    from .logs import get_logger  # logs reads settings: imported late

    get_logger(__name__).warning("settings.dev_secret", setting=env_name,
                                 note="unset: the dev key of local runs is used")


def int_env(name, default):
    return int(os.environ.get(name, default))


def float_env(name, default):
    return float(os.environ.get(name, default))


def flag_env(name, default=True):
    return _truthy(os.environ.get(name, "1" if default else "0"))


def _truthy(value):
    if isinstance(value, bool):
        return value
    return str(value if value is not None else "").strip().lower() in ("1", "true", "yes", "on")
