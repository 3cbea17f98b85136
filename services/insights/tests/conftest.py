"""The aggregator over a real SQLite insights store, shared by the indicator tests."""

import pytest
from childlink_insights.aggregate import Aggregator
from childlink_insights.store.sqlite_store import SqliteInsightsStore
from childlink_referral.growth import zscores


@pytest.fixture
def store(tmp_path):
    store = SqliteInsightsStore(tmp_path / "insights.sqlite3")
    yield store
    store.close()


@pytest.fixture
def take(store):
    aggregator = Aggregator(store, zscores)

    def take(*events):
        for event in events:
            aggregator.take(event)
        aggregator.flush()
    return take
