"""The referral store's counts (children, timeline events, duplicates) kept as they change, so `stats()`
(served on /health, which the monitor and probes poll) reads one small table in constant time instead
of counting the whole timeline (a COUNT over 1,000,000 rows is ~0.1 s, and /health is asked often).

Triggers keep the counts, so every writer of the file (the service, a second process on it, the bench's
pre-loader) counts alike without knowing. A store that held rows before the counts existed is counted
once, when it is opened (`backfill`).
"""

COUNTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS counts (
    name TEXT PRIMARY KEY,
    n INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS counts_timeline_insert AFTER INSERT ON timeline BEGIN
    UPDATE counts SET n = n + 1 WHERE name = 'events';
    UPDATE counts SET n = n + new.duplicates WHERE name = 'duplicates' AND new.duplicates != 0;
END;
CREATE TRIGGER IF NOT EXISTS counts_timeline_delete AFTER DELETE ON timeline BEGIN
    UPDATE counts SET n = n - 1 WHERE name = 'events';
    UPDATE counts SET n = n - old.duplicates WHERE name = 'duplicates' AND old.duplicates != 0;
END;
CREATE TRIGGER IF NOT EXISTS counts_timeline_duplicates AFTER UPDATE OF duplicates ON timeline
    WHEN new.duplicates != old.duplicates BEGIN
    UPDATE counts SET n = n + new.duplicates - old.duplicates WHERE name = 'duplicates';
END;
CREATE TRIGGER IF NOT EXISTS counts_children_insert AFTER INSERT ON children BEGIN
    UPDATE counts SET n = n + 1 WHERE name = 'children';
END;
CREATE TRIGGER IF NOT EXISTS counts_children_delete AFTER DELETE ON children BEGIN
    UPDATE counts SET n = n - 1 WHERE name = 'children';
END;
"""

COUNTED = {
    "events": "SELECT COUNT(*) FROM timeline",
    "duplicates": "SELECT COALESCE(SUM(duplicates), 0) FROM timeline",
    "children": "SELECT COUNT(*) FROM children",
}


def statements(script):
    """The script's statements one by one (a trigger's body holds semicolons of its own), so they can run
    inside a transaction, which `executescript` would commit."""
    import sqlite3

    found, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            found.append(current.strip())
            current = ""
    return [statement for statement in found if statement]


def backfill(db):
    """Count what the tables held before their counts existed. The triggers are in place first (the
    schema), so a row another process adds meanwhile is either counted here or by its trigger, not both:
    its trigger finds no counts row to update until this transaction adds it."""
    if len(db.read("SELECT name FROM counts")) == len(COUNTED):
        return
    with db.transaction() as conn:
        for name, sql in COUNTED.items():
            conn.execute(f"INSERT OR IGNORE INTO counts (name, n) SELECT ?, ({sql})", (name,))


def read_counts(db):
    found = {row["name"]: row["n"] for row in db.read("SELECT name, n FROM counts")}
    return {name: found.get(name, 0) for name in ("children", "events", "duplicates")}
