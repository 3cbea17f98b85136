"""Passwords (argon2id) and CSRF tokens. No web framework here. Sessions are in `sessions`, the sign-in
throttle in `signin_throttle` (both re-exported here, where callers have always found them)."""

import secrets
from urllib.parse import unquote, urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from childlink_common.secrets_compare import same_secret
from werkzeug.urls import iri_to_uri

from .sessions import COOKIE_NAME, DEFAULT_PREFS, ERAS, LANGUAGES, Sessions, new_token
from .signin_throttle import LoginThrottle

__all__ = ["COOKIE_NAME", "DEFAULT_PREFS", "ERAS", "LANGUAGES", "LoginThrottle", "Passwords", "Sessions",
           "csrf_ok", "new_token", "safe_next"]


class Passwords:
    """argon2id with the library's defaults (about 0.1-0.4 s a hash); tests pass a cheaper hasher.

    `offload` runs the hashing elsewhere: the service passes eventlet's thread pool, so a sign-in
    does not stall every other request on the hub while argon2 works (argon2-cffi drops the GIL).
    """

    def __init__(self, hasher=None, offload=None):
        self.hasher = hasher or PasswordHasher()
        self.offload = offload or (lambda fn, *args: fn(*args))
        self._dummy = None

    def hash(self, password):
        return self.offload(self.hasher.hash, password)

    def verify(self, password_hash, password):
        """True when the password matches. A missing or corrupt hash never matches, and costs the same
        as a wrong password (a dummy hash is checked), so a miss does not tell a username is unknown."""
        if not password_hash:
            if self._dummy is None:
                self._dummy = self.hasher.hash(secrets.token_urlsafe(16))
            self._check(self._dummy, password)
            return False
        return self._check(password_hash, password)

    def _check(self, password_hash, password):
        try:
            return self.offload(self.hasher.verify, password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash):
        try:
            return self.hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True


def csrf_ok(session, offered):
    """Constant time, and any offered value (non-ASCII, surrogates, not a string) is just wrong."""
    expected = (session or {}).get("csrf")
    return bool(expected) and same_secret(offered, expected)


def safe_next(value, default="/"):
    """`value` as the Location it will be sent as, when that is a path on this site; else `default`.

    Checked after the same normalisation the response applies (werkzeug's iri_to_uri, which drops tab,
    CR and LF as urlsplit does, and percent-encodes an IRI), and refused outright when it holds a control
    character or a backslash, raw or percent-encoded (browsers read a backslash as a slash), or when it
    decodes to a second leading slash: `/%09/evil.example/` must not become `//evil.example/`."""
    if not isinstance(value, str) or not value.startswith("/") or value.startswith("//") or len(value) > 2000:
        return default
    decoded = unquote(value)
    if _tricky(value) or _tricky(decoded):
        return default
    try:
        location = iri_to_uri(value)
    except (ValueError, UnicodeError):
        return default
    parts = urlsplit(location)
    if parts.scheme or parts.netloc or not location.startswith("/") or location.startswith("//"):
        return default
    if unquote(parts.path).startswith("//") or _tricky(unquote(location)):
        return default
    return location


def _tricky(text):
    return "\\" in text or any(ord(c) < 0x20 or ord(c) == 0x7F or 0x80 <= ord(c) < 0xA0 for c in text)
