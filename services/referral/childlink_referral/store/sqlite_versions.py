"""A version per child, bumped by triggers on every write that changes what the timeline API shows of
it (its entries and their duplicate counts, its profile, a merge into another child), so a reader can
keep a child's encoded timeline and know, by one indexed lookup, whether it is still what the store
holds (childlink_referral.queries.TimelineCache).

Triggers, like the counts (sqlite_counts), so every writer of the file bumps alike without knowing: the
service, a second process on the file, the bench's pre-loader. A child that had rows before the versions
existed has none (read as 0) until its next write bumps it to 1.
"""

_BUMP = ("INSERT INTO child_versions (child_id, version) VALUES ({who}.child_id, 1)"
         " ON CONFLICT (child_id) DO UPDATE SET version = version + 1;")


def _trigger(name, when, table, *who):
    body = "\n    ".join(_BUMP.format(who=w) for w in who)
    return f"CREATE TRIGGER IF NOT EXISTS versions_{name} AFTER {when} ON {table} BEGIN\n    {body}\nEND;\n"


VERSIONS_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS child_versions (\n"
    "    child_id TEXT PRIMARY KEY,\n"
    "    version INTEGER NOT NULL\n"
    ") WITHOUT ROWID;\n"
    + _trigger("timeline_insert", "INSERT", "timeline", "new")
    # a merge moves entries from one child to another: both timelines change
    + _trigger("timeline_update", "UPDATE", "timeline", "new", "old")
    + _trigger("timeline_delete", "DELETE", "timeline", "old")
    + _trigger("children_insert", "INSERT", "children", "new")
    + _trigger("children_update", "UPDATE", "children", "new")
    + _trigger("merged_insert", "INSERT", "merged_children", "new")
    + _trigger("merged_update", "UPDATE", "merged_children", "new")
    + _trigger("merged_delete", "DELETE", "merged_children", "old")
)
