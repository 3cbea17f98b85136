"""Pick the insights store: MongoDB when MONGO_URI is set, else the embedded SQLite file."""

from childlink_common import settings

from .port import InsightsStore


def open_store() -> InsightsStore:
    uri = settings.mongo_uri()
    if uri:
        from .mongo_store import MongoInsightsStore
        return MongoInsightsStore(uri)
    from .sqlite_store import SqliteInsightsStore
    return SqliteInsightsStore(settings.data_dir() / "insights.sqlite3")


__all__ = ["InsightsStore", "open_store"]
