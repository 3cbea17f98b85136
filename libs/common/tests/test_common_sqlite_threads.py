"""The shared SQLite connection is safe from several OS threads at once.

Every SqliteDatabase on one file shares one connection (childlink_common.sqlite); its lock must make
that safe not only between green threads but between real threads (a bench, a tool, eventlet's tpool).
A sqlite3 connection stepped by two threads at once fails with "bad parameter or other API misuse", or
returns another statement's bytes. The check runs in a process of its own, because this test run's
eventlet monkey patching turns threads into green threads.
"""

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import sys, threading
    from childlink_common.outbox.sqlite_store import SqliteOutbox
    from childlink_common.sqlite import SqliteDatabase

    path = sys.argv[1]
    outbox = SqliteOutbox(path)   # two databases on one file: one shared connection
    other = SqliteDatabase(path, "CREATE TABLE IF NOT EXISTS notes (n INTEGER PRIMARY KEY, text TEXT);")
    event = lambda n: {"event_id": f"e-{n}", "type": "t", "correlation_id": f"c-{n}", "n": n}
    outbox.add([event(n) for n in range(500)], 0.0)
    errors, wrong = [], []

    def reader(k):
        try:
            for n in range(1500):
                got = outbox.get(f"e-{(n * k) % 500}")
                if got["event"]["n"] != (n * k) % 500:
                    wrong.append(n)
                other.read("SELECT COUNT(*) FROM notes")
        except Exception as exc:
            errors.append(repr(exc))

    def writer(k):
        try:
            for n in range(150):
                with other.transaction() as conn:
                    conn.execute("INSERT INTO notes (text) VALUES (?)", (f"{k}-{n}",))
                    outbox.add([event(10_000 * (k + 1) + n)], 1.0)   # joins the transaction
        except Exception as exc:
            errors.append(repr(exc))

    threads = [threading.Thread(target=reader, args=(k,)) for k in range(1, 7)]
    threads += [threading.Thread(target=writer, args=(k,)) for k in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    notes = other.read("SELECT COUNT(*) AS n FROM notes")[0]["n"]
    print(len(errors), len(wrong), notes, outbox.backlog(), errors[:3])
""")


def test_one_shared_connection_serves_many_os_threads(tmp_path):
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "shared.sqlite3")],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    errors, wrong, notes, backlog, _first = done.stdout.split(" ", 4)
    assert (errors, wrong) == ("0", "0"), done.stdout
    assert int(notes) == 300 and int(backlog) == 500 + 300
