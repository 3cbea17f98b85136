"""Pick the monitor store: MongoDB when MONGO_URI is set, else the embedded SQLite file."""

from childlink_common import settings

from .port import MonitorStore


def open_store() -> MonitorStore:
    uri = settings.mongo_uri()
    if uri:
        from .mongo_store import MongoMonitorStore
        return MongoMonitorStore(uri)
    from .sqlite_store import SqliteMonitorStore
    return SqliteMonitorStore(settings.data_dir() / "monitor.sqlite3")


__all__ = ["MonitorStore", "open_store"]
