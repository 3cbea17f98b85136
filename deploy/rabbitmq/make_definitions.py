"""Make a broker definitions file with real passwords from deploy/rabbitmq/definitions.json.

The repository's definitions hold hashes of the published dev-only passwords. For any other broker
(the production cluster, a compose stack with real secrets) this writes the same definitions with
each user's hash made from a password you give, in RabbitMQ's format (rabbit_password_hashing_sha256:
base64(salt[4] + sha256(salt[4] + password))). Every user must get a password: a user left out
would keep its dev-only hash, so that is an error.

    python3 deploy/rabbitmq/make_definitions.py \
        --passwords deploy/k8s/overlays/production/secrets/broker-passwords.env \
        --passwords deploy/k8s/overlays/production/secrets/broker-operators.env \
        --out deploy/k8s/overlays/production/secrets/definitions.json

Password files are `user=password` lines (# comments allowed). Only the standard library is used.

`--partitions P` lays the broker out for the referral partitioned by child (REFERRAL_PARTITIONS=P,
docs/design.md "Partitions by child"): the consistent-hash exchange `referral.partitions`, bound from
each department exchange, and P single-active-consumer quorum queues `referral.partition.NNN`, with
the referral user's grants extended to them; the per-department referral queues are left out (no one
would consume them: they would only fill). The layout must be what childlink_common.topology declares
for the same P (tests/deploy/test_deploy_k8s_partitions.py holds it so). The dev-only file of the
partitioned local overlay is made with `--keep-dev-hashes` instead of `--passwords`:

    python3 deploy/rabbitmq/make_definitions.py --partitions 16 --keep-dev-hashes \
        --out deploy/rabbitmq/partitions/definitions.json
"""

import argparse
import base64
import hashlib
import json
import os
import sys
from pathlib import Path

SOURCE = Path(__file__).resolve().with_name("definitions.json")
PLACEHOLDER = "CHANGE_ME"

# As childlink_common.topology and .partitions name them (this script imports nothing of the project).
DEPARTMENTS = ("social", "education", "health", "medical")
PARTITION_EXCHANGE = "referral.partitions"
PARTITION_HEADER = "x-childlink-partition-key"
PARTITION_QUEUE = "referral.partition.{:03d}"
PARTITION_GRANT = r"^referral\.partitions$|^referral\.partition\.[0-9]{3}$"
DEAD_LETTER_EXCHANGE = "childlink.dlx"
DELIVERY_LIMIT = 10
MAX_PARTITIONS = 1000  # three digits in the queue names (the code allows up to 1024)


def rabbit_hash(password, salt=None):
    salt = salt if salt is not None else os.urandom(4)
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode("utf-8")).digest()).decode()


def read_passwords(paths):
    passwords = {}
    for path in paths:
        for number, line in enumerate(Path(path).read_text().splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            user, sep, password = line.partition("=")
            if not sep or not user.strip() or not password.strip():
                raise ValueError(f"{path} line {number}: expected user=password")
            passwords[user.strip()] = password.strip()
    return passwords


def with_passwords(definitions, passwords):
    users = [user["name"] for user in definitions["users"]]
    missing = [name for name in users if name not in passwords]
    if missing:
        raise ValueError(f"no password for {', '.join(missing)}")
    unknown = sorted(set(passwords) - set(users))
    if unknown:
        raise ValueError(f"not a user of the definitions: {', '.join(unknown)}")
    weak = [name for name in users
            if passwords[name] == PLACEHOLDER or passwords[name].startswith("dev-only-")]
    if weak:
        raise ValueError(f"placeholder or dev-only password for {', '.join(weak)}")
    made = json.loads(json.dumps(definitions))
    for user in made["users"]:
        user["password_hash"] = rabbit_hash(passwords[user["name"]])
        user["hashing_algorithm"] = "rabbit_password_hashing_sha256"
    return made


def department_queue(department):
    return f"referral.{department}.events"


def with_partitions(definitions, count):
    """The same definitions laid out for `count` partitions (see the module's docstring)."""
    if not 1 <= count < MAX_PARTITIONS:
        raise ValueError(f"--partitions {count}: expected 1 to {MAX_PARTITIONS - 1}")
    made = json.loads(json.dumps(definitions))
    (vhost,) = {v["name"] for v in made["vhosts"]}
    dropped = {department_queue(d) for d in DEPARTMENTS}
    made["queues"] = [q for q in made["queues"] if q["name"] not in dropped]
    made["bindings"] = [b for b in made["bindings"] if b["destination"] not in dropped]
    made["exchanges"].append({
        "name": PARTITION_EXCHANGE, "vhost": vhost, "type": "x-consistent-hash", "durable": True,
        "auto_delete": False, "internal": False, "arguments": {"hash-header": PARTITION_HEADER}})
    for department in DEPARTMENTS:
        made["bindings"].append({
            "source": f"{department}.events", "vhost": vhost, "destination": PARTITION_EXCHANGE,
            "destination_type": "exchange", "routing_key": "#", "arguments": {}})
    for partition in range(count):
        name = PARTITION_QUEUE.format(partition)
        made["queues"].append({"name": name, "vhost": vhost, "durable": True, "auto_delete": False,
                               "arguments": {
                                   "x-queue-type": "quorum",
                                   "x-delivery-limit": DELIVERY_LIMIT,
                                   "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
                                   "x-dead-letter-routing-key": name,
                                   "x-single-active-consumer": True}})
        # weight "1": each partition an equal share of the hash ring
        made["bindings"].append({"source": PARTITION_EXCHANGE, "vhost": vhost, "destination": name,
                                 "destination_type": "queue", "routing_key": "1", "arguments": {}})
    (grant,) = [g for g in made["permissions"] if g["user"] == "referral"]
    for access in ("configure", "write", "read"):
        grant[access] = f"{grant[access]}|{PARTITION_GRANT}"
    return made


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    hashes = parser.add_mutually_exclusive_group(required=True)
    hashes.add_argument("--passwords", action="append", help="user=password file")
    hashes.add_argument("--keep-dev-hashes", action="store_true",
                        help="keep the source's hashes (the dev-only ones of the repository: local use only)")
    parser.add_argument("--partitions", type=int, default=0,
                        help="lay the broker out for the referral partitioned by child (REFERRAL_PARTITIONS)")
    parser.add_argument("--out", required=True, help="where to write the definitions")
    parser.add_argument("--source", default=str(SOURCE), help="definitions to start from")
    args = parser.parse_args(argv)
    try:
        made = json.loads(Path(args.source).read_text())
        if args.partitions:
            made = with_partitions(made, args.partitions)
        if args.passwords:
            made = with_passwords(made, read_passwords(args.passwords))
    except (ValueError, OSError) as exc:
        print(f"make_definitions: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(made, handle, indent=2, ensure_ascii=False)
        handle.write("\n")
    print(f"wrote {out} ({len(made['users'])} users)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
