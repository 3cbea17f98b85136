"""Fixtures for the gateway's unit tests: the real app over a real SQLite store, a fake referral service."""

import re

import pytest
from argon2 import PasswordHasher
from childlink_gateway.app import GatewayApp
from childlink_gateway.fake_referral import FakeReferral
from childlink_gateway.security import LoginThrottle, Passwords, Sessions
from childlink_gateway.seed import DEMO_USERS, seed
from childlink_gateway.store.sqlite_store import SqliteGatewayStore
from werkzeug.test import Client
from werkzeug.wrappers import Request

PASSWORD = "correct horse battery"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def passwords():
    """argon2id at its lowest cost: the same code path, a fraction of the time."""
    return Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
def store(tmp_path, passwords):
    store = SqliteGatewayStore(tmp_path / "gateway.sqlite3")
    users = [*DEMO_USERS, {"username": "hosp.test", "display_name": "HOSP-01 staff", "role": "hospital_staff",
                           "department": "medical", "facility": "HOSP-01", "district": "1008"}]
    seed(store, passwords, users=users, password=PASSWORD)
    yield store
    store.close()


@pytest.fixture
def referral():
    return FakeReferral()


@pytest.fixture
def app(store, passwords):
    return GatewayApp(store, Sessions("test-secret"), passwords, throttle=LoginThrottle(limit=3))


class Browser:
    """A werkzeug test client that keeps cookies, reads CSRF tokens off pages and signs in."""

    def __init__(self, app, referral):
        self.referral = referral

        def wsgi(environ, start_response):
            return app.handle(Request(environ), referral)(environ, start_response)

        self.client = Client(wsgi)
        self.last = None

    def get(self, path, **kwargs):
        self.last = self.client.get(path, **kwargs)
        return self.last

    def post(self, path, data=None, csrf=True, **kwargs):
        data = dict(data or {})
        if csrf and "csrf_token" not in data:
            data["csrf_token"] = self.csrf()
        self.last = self.client.post(path, data=data, **kwargs)
        return self.last

    def csrf(self):
        page = self.last if self.last is not None and CSRF_RE.search(self.last.get_data(as_text=True)) else None
        if page is None:
            page = self.client.get("/signin")
        return CSRF_RE.search(page.get_data(as_text=True)).group(1)

    def sign_in(self, username, password=PASSWORD):
        self.get("/signin")
        return self.post("/signin", {"username": username, "password": password})


@pytest.fixture
def browser(app, referral):
    return Browser(app, referral)
