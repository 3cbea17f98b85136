"""Several processes opening one new SQLite file at the same moment all open it.

Replicas of one service on one data directory (bench/replicas.py runs two referral replicas on one
file), or a service restarted while its old process still exits, open the same file at once. SQLite
answers a lock upgrade that could deadlock with "database is locked" straight away, without waiting out
the busy timeout; before the fix about a third of four-process races failed that way (a replica exited
at start: a CI run's only error). Each opener here is a process of its own, started on a shared clock.
"""

import sqlite3
import subprocess
import sys
import textwrap
import time

from childlink_common.errors import StoreUnavailable
from childlink_common.outbox.sqlite_store import SqliteOutbox

ROUNDS = 25
OPENERS = 4

SCRIPT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from childlink_common.outbox.sqlite_store import SqliteOutbox

    folder, start, rounds = Path(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
    failed = 0
    for n in range(rounds):
        time.sleep(max(0.0, start + n * 0.15 - time.time()))  # every opener at once, on a new file
        try:
            SqliteOutbox(folder / f"round-{n}.sqlite3").close()
        except Exception as exc:
            failed += 1
            print(f"round {n}: {exc!r}", flush=True)
    print(f"failed {failed}", flush=True)
""")


def test_processes_opening_one_new_file_at_once_all_open_it(tmp_path):
    start = time.time() + 3.0  # past every opener's imports
    openers = [subprocess.Popen([sys.executable, "-c", SCRIPT, str(tmp_path), str(start), str(ROUNDS)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
               for _ in range(OPENERS)]
    outputs = [opener.communicate(timeout=120)[0] for opener in openers]
    assert all(opener.returncode == 0 for opener in openers), outputs
    assert all(out.strip().endswith("failed 0") for out in outputs), outputs
    assert len(list(tmp_path.glob("round-*.sqlite3"))) == ROUNDS


def test_an_opener_still_gives_up_when_the_file_stays_locked(tmp_path):
    path = tmp_path / "held.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        began = time.monotonic()
        try:
            SqliteOutbox(path, busy_timeout_s=0.3)
        except StoreUnavailable as exc:
            assert "locked" in str(exc)
        else:
            raise AssertionError("opened a file another connection holds exclusively")
        assert time.monotonic() - began < 5, "waited far past its busy timeout"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
