"""The floor: a bare kombu publisher and consumer doing the referral's store writes, no framework.

    python bench/floor.py consume --amqp URI --db PATH --expected N [--mode store|validate|handler] --out result.json
    python bench/floor.py publish --amqp URI --events events.jsonl --out result.json

The publisher sends each event to its department's exchange as the relay does (persistent,
mandatory, same headers) with publisher confirms, pipelined: a window of unconfirmed messages rather
than a wait per message. The consumer reads the four referral queues (the same quorum queues, same
layout) with a prefetch, and per event (`--mode`):
- store: makes the same store calls as the referral intake (identity, profile, timeline entry);
- validate: checks the event against the contracts first, as the referral service does;
- handler: runs the referral service's whole handler (contract check, store writes, referral rules,
  referral outbox), minus nameko;
through the same SQLite store, `--batch` events in one transaction, acknowledging each message only
after its transaction committed, for `--seconds` after its first commit.

No nameko, no HTTP, no outbox: what is left is the broker and the store, the cost any design pays.
"""

import argparse
import json
import signal
import sys
import time

from childlink_common import topology
from childlink_common.outbox.port import OutboxRecord
from childlink_common.relay import message_headers
from childlink_contracts import validate_event
from childlink_referral.store.sqlite_store import SqliteTimelineStore
from kombu import Connection, Consumer, Producer
from storework import store_write

DEPARTMENTS = ("social", "education", "health", "medical")


def handler_for(args, store):
    """What the consumer does per batch of (department, body, message): the store writes, or the
    referral service's whole handler (consuming.take_in_event in consuming.in_one_transaction, as the
    service's batch handler runs them, minus nameko and the matcher)."""
    if args.mode in ("store", "validate"):
        check = (lambda department, body: body) if args.mode == "store" else (
            lambda department, body: validate_event(body, department))

        def writes(batch):
            with store.batch():
                for department, body, _message in batch:
                    store_write(store, check(department, body))
        return writes
    from childlink_common.logs import configure
    from childlink_common.outbox.sqlite_store import SqliteOutbox
    from childlink_referral.consuming import in_one_transaction, take_in_event

    configure("floor")  # log lines to stderr, as the service's (stdout carries "ready")
    from childlink_referral.workflow import Referrals

    referrals = Referrals(store, SqliteOutbox(args.db))  # the referral service keeps both in one file

    def whole(batch):
        in_one_transaction(store, None, referrals, lambda applied: [
            take_in_event(store, referrals, body, department, applied=applied) for department, body, _ in batch])
    return whole


def consume(args):
    store = SqliteTimelineStore(args.db)
    take_batch = handler_for(args, store)
    connection = Connection(args.amqp, heartbeat=0)
    channel = connection.channel()
    topology.declare_all(channel)
    buffered = []

    def on_message(body, message):
        buffered.append((message.delivery_info["exchange"].split(".")[0], body, message))

    consumer = Consumer(channel, queues=[topology.referral_queue(d) for d in DEPARTMENTS],
                        callbacks=[on_message], accept=["json"], auto_declare=False)
    consumer.qos(prefetch_count=args.prefetch)
    consumer.consume()
    print("ready", flush=True)
    done, samples, wait, oldest, deadline = 0, [], args.wait_ms / 1000, None, None
    cpu_from, done_from = time.process_time(), 0
    while done < args.expected and (deadline is None or time.time() < deadline):
        try:
            connection.drain_events(timeout=wait if buffered else 5.0)
        except TimeoutError:
            pass
        now = time.monotonic()
        if buffered and oldest is None:
            oldest = now
        if buffered and (len(buffered) >= args.batch or now - oldest >= wait):
            take_batch(buffered)
            for _department, _body, message in buffered:
                message.ack()
            done += len(buffered)
            samples.append((time.time(), done))
            if deadline is None:
                deadline = time.time() + args.seconds
                cpu_from, done_from = time.process_time(), done
            buffered, oldest = [], None
    connection.release()
    store.close()
    with open(args.out, "w") as out:
        json.dump({"consumed": done, "batches": len(samples), "samples": samples,
                   "cpu_per_event": (time.process_time() - cpu_from) / max(done - done_from, 1)}, out)


def publish(args):
    with open(args.events) as handle:
        events = [json.loads(line) for line in handle]
    connection = Connection(args.amqp, heartbeat=0)
    channel = connection.channel()
    channel.confirm_select()
    unconfirmed, returned = set(), []

    def on_ack(tag, multiple):
        if multiple:
            unconfirmed.difference_update([t for t in unconfirmed if t <= tag])
        else:
            unconfirmed.discard(tag)

    def on_nack(tag, multiple):
        returned.append(("nack", tag))
        on_ack(tag, multiple)

    channel.events["basic_ack"].add(on_ack)
    channel.events["basic_nack"].add(on_nack)
    producers = {d: Producer(channel, exchange=topology.events_exchange(d), auto_declare=False,
                             on_return=lambda *a: returned.append(a)) for d in DEPARTMENTS}

    started, cpu_start = time.time(), time.process_time()
    progress = {"sent": 0}

    def write_result(*_signal):
        with open(args.out, "w") as out:
            json.dump({"published": progress["sent"], "problems": len(returned), "first_publish": started,
                       "last_confirm": time.time(),
                       "cpu_per_event": (time.process_time() - cpu_start) / max(progress["sent"], 1)}, out)
        if _signal:
            sys.exit(0)

    signal.signal(signal.SIGTERM, write_result)
    for sent, (department, event) in enumerate(events, 1):
        record = OutboxRecord(sent, event["event_id"], event["type"], event["correlation_id"], event)
        producers[department].publish(
            json.dumps(event, separators=(",", ":")), routing_key=event["type"],
            content_type="application/json", content_encoding="utf-8", delivery_mode=2, mandatory=True,
            message_id=event["event_id"], correlation_id=event["correlation_id"],
            headers=message_headers(record), retry=False,
        )
        unconfirmed.add(sent)  # delivery tags count publishes on the channel from 1
        progress["sent"] = sent
        while len(unconfirmed) >= args.window:
            connection.drain_events(timeout=30)
    while unconfirmed:
        connection.drain_events(timeout=30)
    connection.release()
    write_result()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("role", choices=("consume", "publish"))
    parser.add_argument("--amqp", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--db")
    parser.add_argument("--events")
    parser.add_argument("--expected", type=int)
    parser.add_argument("--mode", choices=("store", "validate", "handler"), default="store")
    parser.add_argument("--seconds", type=float, default=30, help="consume for this long after the first commit")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--wait-ms", type=float, default=10)
    parser.add_argument("--prefetch", type=int, default=200)
    parser.add_argument("--window", type=int, default=500)
    args = parser.parse_args(argv)
    (consume if args.role == "consume" else publish)(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
