"""Pick the outbox adapter: MongoDB when MONGO_URI is set, else the embedded SQLite file."""

from .. import settings
from .port import OutboxRecord, OutboxStore


def open_outbox(department) -> OutboxStore:
    uri = settings.mongo_uri()
    if uri:
        from .mongo_store import MongoOutbox
        return MongoOutbox(uri, f"childlink_{department}")
    from .sqlite_store import SqliteOutbox
    return SqliteOutbox(settings.data_dir() / f"{department}.sqlite3")


__all__ = ["OutboxRecord", "OutboxStore", "open_outbox"]
