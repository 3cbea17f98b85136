"""Passwords (argon2id), signed session cookies (itsdangerous) and CSRF tokens. No web framework here."""

import hmac
import secrets
import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE_NAME = "childlink_session"
SESSION_SALT = "childlink.gateway.session"
DEFAULT_MAX_AGE_S = 12 * 3600
LANGUAGES = ("th", "en")
ERAS = ("be", "ce")
DEFAULT_PREFS = {"lang": "th", "era": "be"}


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


def new_token():
    return secrets.token_urlsafe(32)


class Sessions:
    """The whole session lives in one signed, timestamped cookie: the user id, the CSRF token and the
    display preferences. Nothing secret is in it; the signature stops forgery, max_age stops replay
    of an old cookie."""

    def __init__(self, secret_key, max_age_s=DEFAULT_MAX_AGE_S, secure=False, clock=time.time):
        self.serializer = URLSafeTimedSerializer(secret_key, salt=SESSION_SALT)
        self.max_age_s = max_age_s
        self.secure = secure
        self.clock = clock

    def fresh(self, prefs=None):
        session = {"csrf": new_token(), **DEFAULT_PREFS}
        session.update({k: v for k, v in (prefs or {}).items() if k in DEFAULT_PREFS})
        return session

    def load(self, cookie_value):
        """The session in the cookie, or None when there is none, it is forged, or it is too old."""
        if not cookie_value:
            return None
        try:
            data = self.serializer.loads(cookie_value, max_age=self.max_age_s)
        except BadSignature:  # SignatureExpired is a BadSignature
            return None
        if not isinstance(data, dict) or not isinstance(data.get("csrf"), str):
            return None
        if data.get("lang") not in LANGUAGES:
            data["lang"] = DEFAULT_PREFS["lang"]
        if data.get("era") not in ERAS:
            data["era"] = DEFAULT_PREFS["era"]
        return data

    def dump(self, session):
        return self.serializer.dumps(session)

    def set_cookie(self, response, session):
        response.set_cookie(COOKIE_NAME, self.dump(session), max_age=self.max_age_s, httponly=True,
                            samesite="Lax", secure=self.secure, path="/")

    def sign_in(self, session, user_id):
        """A new CSRF token and the user id: a token seen before sign-in is useless after it."""
        return {**session, "uid": user_id, "csrf": new_token(), "since": int(self.clock())}

    @staticmethod
    def sign_out(session):
        return {"csrf": new_token(), "lang": session.get("lang", DEFAULT_PREFS["lang"]),
                "era": session.get("era", DEFAULT_PREFS["era"])}


def csrf_ok(session, offered):
    expected = (session or {}).get("csrf")
    return bool(expected) and isinstance(offered, str) and hmac.compare_digest(expected, offered)


class LoginThrottle:
    """At most `limit` failed sign-ins per username in `window_s`; in memory, per process."""

    MAX_KEYS = 10_000

    def __init__(self, limit=5, window_s=300, clock=time.monotonic):
        self.limit, self.window_s, self.clock = limit, window_s, clock
        self._failures = {}

    def _recent(self, key):
        now = self.clock()
        recent = [t for t in self._failures.get(key, []) if now - t < self.window_s]
        if recent:
            self._failures[key] = recent
        else:
            self._failures.pop(key, None)
        return recent

    def blocked(self, username):
        return len(self._recent(username.lower())) >= self.limit

    def failed(self, username):
        key = username.lower()
        if len(self._failures) >= self.MAX_KEYS and key not in self._failures:
            self._failures.clear()  # a flood of made-up usernames must not grow memory without end
        self._failures[key] = [*self._recent(key), self.clock()]

    def succeeded(self, username):
        self._failures.pop(username.lower(), None)
