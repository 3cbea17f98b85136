"""Group commit for ingest: the requests a department service is taking in at the same moment share
one outbox commit (one fsync), each still all or nothing and each answered only after it committed.

sqlite3 calls do not yield to other green threads, so each commit's fsync stops the whole service
(every request, the relay) for its duration; on a busy disk that is several milliseconds, and at a
couple of hundred single-event requests a second those fsyncs alone filled the service's time and
requests queued for hundreds of milliseconds. Here the first request to add becomes the committer:
it yields once, so the requests already read get to join, then writes every waiting request's events
in one transaction, each request in a savepoint of its own (a conflict refuses that request alone,
as `add` does on its own), and commits once; then every request gets its statuses, or the error its
own savepoint raised, or the commit's error (nothing of any of them kept).

An outbox without `batch()` (MongoDB: single-document writes, nothing to share) is called directly.
"""

import eventlet
from eventlet.event import Event


class _Waiting:
    def __init__(self, args):
        self.args = args
        self.done = Event()


class GroupCommit:
    def __init__(self, outbox):
        self.outbox = outbox
        self._waiting = []
        self._committing = False
        self.commits = 0  # how many commits the adds took (to see the grouping in tests and benchmarks)
        self.adds = 0

    def add(self, events, accepted_at, refuse_conflicts=False):
        batch = getattr(self.outbox, "batch", None)
        if batch is None:
            return self.outbox.add(events, accepted_at, refuse_conflicts=refuse_conflicts)
        mine = _Waiting((events, accepted_at, refuse_conflicts))
        self._waiting.append(mine)
        if not self._committing:
            self._committing = True
            try:
                eventlet.sleep(0)  # the requests already being read join this commit
                while self._waiting:
                    group, self._waiting = self._waiting, []
                    self._commit(batch, group)
            finally:
                self._committing = False
        return mine.done.wait()

    def _commit(self, batch, group):
        results = []
        try:
            with batch():
                for waiting in group:
                    events, accepted_at, refuse_conflicts = waiting.args
                    try:
                        results.append((True, self.outbox.add(events, accepted_at, refuse_conflicts=refuse_conflicts)))
                    except Exception as exc:  # noqa: BLE001 - that request's own failure, its savepoint undone
                        results.append((False, exc))
        except Exception as exc:  # noqa: BLE001 - the commit failed: none of the group was kept
            for waiting in group:
                waiting.done.send_exception(exc)
            return
        finally:
            self.commits += 1
            self.adds += len(group)
        for waiting, (ok, value) in zip(group, results, strict=True):
            if ok:
                waiting.done.send(value)
            else:
                waiting.done.send_exception(value)
