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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passwords", action="append", required=True, help="user=password file")
    parser.add_argument("--out", required=True, help="where to write the definitions")
    parser.add_argument("--source", default=str(SOURCE), help="definitions to start from")
    args = parser.parse_args(argv)
    try:
        made = with_passwords(json.loads(Path(args.source).read_text()), read_passwords(args.passwords))
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
