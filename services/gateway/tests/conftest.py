"""Fixtures for the gateway's unit tests: the real app over a real SQLite store, a fake referral service."""

import pytest
from argon2 import PasswordHasher
from childlink_gateway.app import GatewayApp
from childlink_gateway.fake_referral import FakeReferral
from childlink_gateway.security import LoginThrottle, Passwords, Sessions
from childlink_gateway.seed import DEMO_USERS, seed
from childlink_gateway.store.sqlite_store import SqliteGatewayStore
from childlink_gateway.testing import PASSWORD, Browser


@pytest.fixture
def passwords():
    """argon2id at its lowest cost: the same code path, a fraction of the time."""
    return Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
def store(tmp_path, passwords):
    store = SqliteGatewayStore(tmp_path / "gateway.sqlite3")
    users = [*DEMO_USERS, {"username": "hosp.other", "display_name": "รพ.ตากสิน", "role": "hospital_staff",
                           "department": "medical", "facility": "HOSP-1018", "district": "1018"}]
    seed(store, passwords, users=users, password=PASSWORD)
    yield store
    store.close()


@pytest.fixture
def referral():
    return FakeReferral()


@pytest.fixture
def app(store, passwords):
    return GatewayApp(store, Sessions("test-secret"), passwords, throttle=LoginThrottle(free=3, base_s=30))


@pytest.fixture
def browser(app, referral):
    return Browser(app, referral)


@pytest.fixture
def store_path(tmp_path):
    return tmp_path / "seed.sqlite3"
