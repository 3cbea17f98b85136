"""Pick the gateway store: MongoDB when MONGO_URI is set, else the embedded SQLite file."""

from childlink_common import settings

from .port import GatewayStore


def open_store() -> GatewayStore:
    uri = settings.mongo_uri()
    if uri:
        from .mongo_store import MongoGatewayStore
        return MongoGatewayStore(uri)
    from .sqlite_store import SqliteGatewayStore
    return SqliteGatewayStore(settings.data_dir() / "gateway.sqlite3")


__all__ = ["GatewayStore", "open_store"]
