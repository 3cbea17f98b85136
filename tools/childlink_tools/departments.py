"""Where each department's ingest API listens and the key it expects (environment, else local defaults)."""

import os

from childlink_contracts import INGEST_DEPARTMENTS

DEFAULT_PORTS = {"social": 8101, "education": 8102, "health": 8103, "medical": 8104}

# The `source.system` each department's records come from in the simulator.
SYSTEMS = {
    "social": "bma-cdc-registry",
    "education": "bma-school-sis",
    "health": "bma-hc-his",
    "medical": "bma-hospital-his",
}

assert tuple(DEFAULT_PORTS) == tuple(INGEST_DEPARTMENTS)


def default_url(department):
    """`<DEPARTMENT>_URL` from the environment, else the service on this machine."""
    return os.environ.get(f"{department.upper()}_URL") or f"http://127.0.0.1:{DEFAULT_PORTS[department]}"


def default_api_key(department):
    """`<DEPARTMENT>_API_KEY` from the environment, else the development key."""
    return os.environ.get(f"{department.upper()}_API_KEY") or f"dev-{department}-key"
