"""MongoDB through pymongo: the production store. One database per service."""

import contextlib

import pymongo
from pymongo.errors import ConnectionFailure, OperationFailure, ServerSelectionTimeoutError

from . import settings
from .errors import StoreUnavailable

SERVER_SELECTION_TIMEOUT_MS = 5000


def connect(uri, database, server_selection_timeout_ms=SERVER_SELECTION_TIMEOUT_MS):
    """TLS comes from the URI (tls=true) and/or MONGO_TLS, MONGO_TLS_CA_FILE, MONGO_TLS_CERT_KEY_FILE."""
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=server_selection_timeout_ms, tz_aware=True,
                                 **settings.mongo_client_options())
    return client, client.get_database(database)


@contextlib.contextmanager
def unavailable_as_store_error():
    try:
        yield
    except (ConnectionFailure, ServerSelectionTimeoutError) as exc:
        raise StoreUnavailable(f"mongodb: {exc}") from exc
    except OperationFailure as exc:
        if exc.code in (91, 189, 10107, 11600, 11602, 13435, 13436):  # shutdown / not primary
            raise StoreUnavailable(f"mongodb: {exc}") from exc
        raise
