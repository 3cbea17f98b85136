"""A first load's file read and checked once, in a process of its own, for every load that takes it.

The referral's and the city's bulk loads (childlink_referral.bulk_load, childlink_insights.bulk_load)
both take every line of the file after the same contract check (event_lines.check_line). Done in each,
that is the file parsed and checked twice, on the referral's core among the rest; a CheckedFeed parses
and checks it once, in its own process, and hands each load the same chunks of Checked and Refusal
items through a pipe of its own, at most `depth` chunks ahead of it (so a load that falls behind holds
the reader back, never the machine's memory).

Each pipe has one writer (the reader's process) and one reader (its load): a load that stops closes
its end, and the feed goes on for the others; a reader that fails hands every load a FeedFailed naming
why, and one that dies closes every pipe, which its loads see as a FeedFailed too.
"""

import multiprocessing
import pickle
import queue as queues
import sys
import threading
import time

from .event_lines import check_line, chunks, read_lines

CHUNK = 1_000
DEPTH = 8  # chunks a load may fall behind the reader
_ITEMS, _FAILED, _END = b"I", b"F", b"."


class FeedFailed(RuntimeError):
    pass


class CheckedFeed:
    """`CheckedFeed(path, loads=2).start()`; load i iterates `received(feed.end(i))`, in this process or
    in one started with that end (then `handed_over(i)` once it started)."""

    def __init__(self, path, loads=1, chunk=CHUNK, depth=DEPTH):
        self.context = multiprocessing.get_context("spawn")  # no fork of a process holding store connections
        pipes = [self.context.Pipe(duplex=False) for _ in range(loads)]
        self._ends = [reader for reader, _ in pipes]
        self._writers = [writer for _, writer in pipes]
        self.process = self.context.Process(target=feed, args=(str(path), self._writers, chunk, depth),
                                            daemon=True, name="childlink-checked-feed")

    def end(self, index):
        return self._ends[index]

    def start(self):
        self.process.start()
        for writer in self._writers:
            writer.close()  # the reader's process holds the only writers: its end is every load's EOF
        return self

    def handed_over(self, index):
        """End `index` now lives in the process it was given to: a load stopping there is seen."""
        self._ends[index].close()

    def stop(self):
        for end in self._ends:
            end.close()
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


def feed(path, writers, chunk=CHUNK, depth=DEPTH):
    """The reader: the file's Checked and Refusal items, `chunk` a message, to every load still taking."""
    started, lines = time.monotonic(), 0
    outs = [_Out(writer, depth) for writer in writers]
    last = _END
    try:
        for items in chunks((check_line(item) for item in read_lines(path)), chunk):
            payload = _ITEMS + pickle.dumps(items, protocol=pickle.HIGHEST_PROTOCOL)
            lines += len(items)
            if not [out for out in outs if out.put(payload)]:
                break  # every load stopped
    except BaseException as exc:  # noqa: BLE001 - every load is told, and stops with it
        last = _FAILED + f"{type(exc).__name__}: {exc}".encode()
    for out in outs:
        out.finish(last)
    print(f"checked feed: {lines:,} lines read and checked in {time.monotonic() - started:.1f} s "
          f"(CPU {time.process_time():.1f} s)", file=sys.stderr, flush=True)


class _Out:
    """One load's pipe, fed by a thread of its own from a queue of `depth` chunks, so the slowest load
    sets the pace only once it is `depth` chunks behind."""

    def __init__(self, writer, depth):
        self.writer, self.gone = writer, False
        self.queue = queues.Queue(depth)
        self.thread = threading.Thread(target=self._send, daemon=True)
        self.thread.start()

    def put(self, payload):
        """False once the load stopped (its end closed)."""
        if not self.gone:
            self.queue.put(payload)
        return not self.gone

    def finish(self, last):
        self.queue.put(last)
        self.queue.put(None)
        self.thread.join()

    def _send(self):
        try:
            while (payload := self.queue.get()) is not None:
                if self.gone:
                    continue  # drained, so a put never waits on a load that stopped
                try:
                    self.writer.send_bytes(payload)
                except OSError:  # BrokenPipeError: the load closed its end
                    self.gone = True
        finally:
            self.writer.close()


def received(end):
    """The items the feed hands this end, in the file's order; FeedFailed if the reader failed or died.
    However the loop ends, the end is closed, so the feed stops sending to it."""
    try:
        while True:
            try:
                message = end.recv_bytes()
            except EOFError:
                raise FeedFailed("the file's reader stopped without a word") from None
            kind, body = message[:1], message[1:]
            if kind == _END:
                return
            if kind == _FAILED:
                raise FeedFailed(body.decode())
            yield from pickle.loads(body)  # our own reader process's chunks, never outside input
    finally:
        end.close()
