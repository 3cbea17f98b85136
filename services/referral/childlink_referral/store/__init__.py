"""Pick the referral store: MongoDB when MONGO_URI is set, else the embedded SQLite file."""

from childlink_common import settings

from .port import ReferralStore, TimelineStore


def open_store() -> ReferralStore:
    uri = settings.mongo_uri()
    if uri:
        from .mongo_store import MongoTimelineStore
        return MongoTimelineStore(uri)
    from .sqlite_store import SqliteTimelineStore
    return SqliteTimelineStore(settings.data_dir() / "referral.sqlite3")


__all__ = ["ReferralStore", "TimelineStore", "open_store"]
