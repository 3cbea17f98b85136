"""Signed identity assertions: who a calling system's signed-in user is, in a form the callee can check.

An API key says which system calls; it cannot say who in it decides. The identity API's decisions
(link, keep apart, undo) and its views of guardians are a registrar's, so the caller (the gateway, or
another system given a key) sends `X-Childlink-Assertion`: the user's ids and role, an expiry, and an
HMAC-SHA256 over them with a key it shares with the referral service (IDENTITY_ASSERTION_KEYS; the
first key signs, any verifies, so keys can be rotated). Self-asserted X-Childlink-Role / User headers
count for nothing.

    token = sign({"user_id": "u-reg.suda", "role": "registrar", "department": "health"}, key)
    viewer = verify(token, keys)        # the viewer dict, or None (forged, expired, malformed)
"""

import base64
import hashlib
import hmac
import json
import os
import time

from . import settings
from .secrets_compare import any_secret

HEADER = "X-Childlink-Assertion"
FIELDS = ("user_id", "role", "department", "facility", "district")
DEFAULT_TTL_S = 300
MAX_TOKEN_CHARS = 4096
DEV_KEY = "dev-identity-assertion-key"


def keys():
    """IDENTITY_ASSERTION_KEYS, failing closed like every key setting (settings.api_keys)."""
    return sorted(settings.api_keys("IDENTITY_ASSERTION_KEYS", DEV_KEY))


def signing_key():
    """The first of IDENTITY_ASSERTION_KEYS as written: the one to sign with (the others still verify)."""
    checked = keys()
    written = [k.strip() for k in os.environ.get("IDENTITY_ASSERTION_KEYS", "").split(",") if k.strip()]
    return written[0] if written else checked[0]


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key, payload):
    return _b64(hmac.new(key.encode("utf-8"), payload.encode("ascii"), hashlib.sha256).digest())


def sign(viewer, key, ttl_s=DEFAULT_TTL_S, now=None):
    claims = {k: viewer.get(k) for k in FIELDS} | {"exp": int((now or time.time()) + ttl_s)}
    payload = _b64(json.dumps(claims, sort_keys=True, separators=(",", ":")).encode("utf-8"))
    return f"{payload}.{_mac(key, payload)}"


def verify(token, keys, now=None):
    """The asserted viewer ({user_id, role, department, facility, district}), or None."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
        return None
    payload, mac = token.split(".")
    if not payload.isascii() or not any_secret(mac, [_mac(key, payload) for key in keys]):
        return None
    try:
        claims = json.loads(_unb64(payload))
    except ValueError:
        return None
    if not isinstance(claims, dict) or not isinstance(claims.get("exp"), int):
        return None
    if claims["exp"] < (now or time.time()):
        return None
    if not isinstance(claims.get("user_id"), str) or not isinstance(claims.get("role"), str):
        return None
    return {k: claims.get(k) for k in FIELDS}


def main(argv=None):
    """`python -m childlink_common.assertions --user u-1 --role health_centre_staff --facility HC-1001-01`:
    a token for X-Childlink-Assertion, signed with the first IDENTITY_ASSERTION_KEYS key, for a system (or a
    person trying the API by hand) to send."""
    import argparse

    from .logs import configure
    configure("assertions", "WARNING")  # log lines to stderr: stdout carries only the token

    parser = argparse.ArgumentParser(description=main.__doc__.splitlines()[0])
    parser.add_argument("--user", required=True)
    parser.add_argument("--role", required=True)
    for field in ("department", "facility", "district"):
        parser.add_argument(f"--{field}")
    parser.add_argument("--ttl", type=int, default=DEFAULT_TTL_S, help="seconds the token holds")
    args = parser.parse_args(argv)
    viewer = {"user_id": args.user, "role": args.role, "department": args.department,
              "facility": args.facility, "district": args.district}
    print(sign(viewer, signing_key(), ttl_s=args.ttl))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
