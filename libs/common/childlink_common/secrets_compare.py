"""Comparing secrets (API keys, CSRF tokens, signatures) in constant time, safe on any input.

`hmac.compare_digest` raises TypeError on a str with a non-ASCII character, which turned a header like
`X-API-Key: é` into a 500. Here both sides are compared as UTF-8 bytes (lone surrogates, which a
WSGI header decoded from latin-1 cannot hold but a form field can, are escaped), so a wrong value of
any kind is simply not equal.
"""

import hmac


def _as_bytes(value):
    if isinstance(value, bytes):
        return value
    return value.encode("utf-8", "surrogatepass")


def same_secret(offered, expected):
    """True only when `offered` equals `expected`; False for None, non-strings and anything else."""
    if not isinstance(offered, (str, bytes)) or not isinstance(expected, (str, bytes)) or not expected:
        return False
    return hmac.compare_digest(_as_bytes(offered), _as_bytes(expected))


def any_secret(offered, expected_keys):
    """True when `offered` equals one of the keys; every key is compared, so the time does not say which."""
    found = False
    for key in expected_keys:
        found |= same_secret(offered, key)
    return found
