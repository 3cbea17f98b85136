"""Time `referral.list_referrals` over nameko RPC, as the gateway calls it (a process of its own:
nameko's standalone proxy wants eventlet's monkey patching, the benchmark driver does not)."""

import eventlet

eventlet.monkey_patch()

import argparse
import json
import time

from nameko.standalone.rpc import ClusterRpcProxy


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--amqp", required=True)
    parser.add_argument("--reads", type=int, default=100)
    parser.add_argument("--viewer", required=True)
    parser.add_argument("--filters", default="null")
    args = parser.parse_args()
    viewer, filters = json.loads(args.viewer), json.loads(args.filters)
    seconds, total = [], None
    with ClusterRpcProxy({"AMQP_URI": args.amqp}, timeout=60) as rpc:
        answer = rpc.referral.list_referrals(viewer, filters, 1, 50)  # warm: the reply queue, the plan
        if not answer.get("ok"):
            raise SystemExit(f"list_referrals refused: {answer}")
        for _ in range(args.reads):
            started = time.perf_counter()
            answer = rpc.referral.list_referrals(viewer, filters, 1, 50)
            seconds.append(time.perf_counter() - started)
            total = answer["total"]
        # the round trip itself: a call answering a few bytes (`stats`, constant time), interleaved
        floor = []
        for _ in range(args.reads):
            started = time.perf_counter()
            rpc.referral.stats()
            floor.append(time.perf_counter() - started)
    print(json.dumps({"total": total, "items": len(answer["items"]), "seconds": seconds, "floor_seconds": floor}))


if __name__ == "__main__":
    main()
