"""Configuration from the environment, with defaults that run the whole system on one machine."""

import os
from pathlib import Path

DEFAULT_AMQP_URI = "pyamqp://guest:guest@127.0.0.1:5672/"


def amqp_uri(config=None):
    if config and config.get("AMQP_URI"):
        return config["AMQP_URI"]
    return os.environ.get("AMQP_URI", DEFAULT_AMQP_URI)


def mongo_uri():
    """Unset means the embedded SQLite store."""
    return os.environ.get("MONGO_URI") or None


def data_dir():
    path = Path(os.environ.get("CHILDLINK_DATA_DIR", "var/data"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def api_keys(env_name, default):
    """Comma-separated keys; the default serves local runs only and is logged as such by callers."""
    raw = os.environ.get(env_name)
    keys = [key.strip() for key in (raw or "").split(",") if key.strip()]
    return frozenset(keys) if keys else frozenset([default])


def int_env(name, default):
    return int(os.environ.get(name, default))


def float_env(name, default):
    return float(os.environ.get(name, default))


def flag_env(name, default=True):
    return os.environ.get(name, "1" if default else "0").lower() in ("1", "true", "yes", "on")
