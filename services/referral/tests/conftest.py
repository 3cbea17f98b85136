"""Fixtures for the referral service's unit tests; the helpers live in childlink_referral.testing."""

import pytest
from childlink_referral.testing import World


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path)
    yield w
    w.store.close()
