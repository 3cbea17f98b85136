"""Shared fixtures for the storage contract suites.

One mongoeco server (a MongoDB-wire server over an in-memory engine) runs as a subprocess for the
whole session: it is an asyncio server and this process is eventlet-patched, so it must not run here.
Every test gets a database of its own, so no test sees another's data.
"""

import uuid

import pymongo
import pytest
from childlink_common.testing.mongoeco_server import free_port, start_mongoeco


@pytest.fixture(scope="session")
def mongo_uri():
    uri, stop = start_mongoeco()
    try:
        yield uri
    finally:
        stop()


@pytest.fixture
def mongo_database(mongo_uri):
    """A fresh database name; dropped afterwards to keep the in-memory server small."""
    name = f"test_{uuid.uuid4().hex}"
    yield name
    client = pymongo.MongoClient(mongo_uri, serverSelectionTimeoutMS=5000)
    try:
        client.drop_database(name)
    finally:
        client.close()


@pytest.fixture
def disposable_mongo():
    """A mongoeco server of this test's own, as (uri, stop), for tests that take the store away."""
    uri, stop = start_mongoeco()
    try:
        yield uri, stop
    finally:
        stop()


@pytest.fixture
def closed_port_uri():
    """A MongoDB URI nothing listens on."""
    return f"mongodb://127.0.0.1:{free_port()}/?directConnection=true"
