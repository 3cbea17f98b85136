"""Server-side sessions: the cookie carries a random session id (signed, with the CSRF token and display
preferences); who is signed in, since when and when last seen live in the gateway's store.

Because the store holds the session, it can be ended: signing out, a password change and an operator's
"end sessions of this user" delete it, and the old cookie opens nothing on any replica.

Lifetimes (docs/security.md):
- idle: a session not used for GATEWAY_SESSION_IDLE_S (default 30 minutes) is over;
- absolute: a session is over GATEWAY_SESSION_MAX_AGE_S (default 12 hours) after sign-in, however busy.
Renewing preferences or any other request never extends the absolute lifetime.

The store keeps only a SHA-256 of the id, so a copy of the store opens no session.
"""

import hashlib
import secrets
import time

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE_NAME = "childlink_session"
SESSION_SALT = "childlink.gateway.session"
DEFAULT_MAX_AGE_S = 12 * 3600
DEFAULT_IDLE_S = 30 * 60
# last_seen is written at most this often per session: a page view is not a store write each time
TOUCH_EVERY_S = 60
LANGUAGES = ("th", "en")
ERAS = ("be", "ce")
DEFAULT_PREFS = {"lang": "th", "era": "be"}
COOKIE_KEYS = ("csrf", "lang", "era", "sid")


def new_token():
    return secrets.token_urlsafe(32)


def session_key(session_id):
    """What the store keeps for a session id: its hash, never the id itself."""
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


class Sessions:
    """The session of a request: `load` it from the cookie, `sign_in` / `sign_out` change who it is.

    A session dict has csrf, lang, era; when signed in also sid (the cookie's id), uid and since (the
    sign-in time). `ended` is set when the cookie named a session that is no more (signed out
    elsewhere, revoked, idle or too old): the caller then treats the request as signed out."""

    def __init__(self, secret_key, store=None, max_age_s=DEFAULT_MAX_AGE_S, idle_s=DEFAULT_IDLE_S, secure=False,
                 clock=time.time):
        self.serializer = URLSafeTimedSerializer(secret_key, salt=SESSION_SALT)
        self.store = store
        self.max_age_s, self.idle_s = max_age_s, idle_s
        self.secure = secure
        self.clock = clock

    def using(self, store):
        """The gateway app hands over its store when the sessions were made without one."""
        if self.store is None:
            self.store = store
        return self

    def fresh(self, prefs=None):
        session = {"csrf": new_token(), **DEFAULT_PREFS}
        session.update({k: v for k, v in (prefs or {}).items() if k in DEFAULT_PREFS})
        return session

    def load(self, cookie_value):
        """The session in the cookie, or None when there is none or it is forged. A signed-in session
        whose store record is gone, idle or too old comes back signed out, with `ended` set."""
        if not cookie_value:
            return None
        try:
            data = self.serializer.loads(cookie_value, max_age=self.max_age_s)
        except BadSignature:  # SignatureExpired is a BadSignature
            return None
        if not isinstance(data, dict) or not isinstance(data.get("csrf"), str):
            return None
        session = {k: data[k] for k in COOKIE_KEYS if k in data}
        if session.get("lang") not in LANGUAGES:
            session["lang"] = DEFAULT_PREFS["lang"]
        if session.get("era") not in ERAS:
            session["era"] = DEFAULT_PREFS["era"]
        sid = session.get("sid")
        if sid is None:
            return session
        record = self._live_record(sid) if isinstance(sid, str) else None
        if record is None:
            return {**self.sign_out(session), "ended": True}
        session["uid"], session["since"] = record["user_id"], record["created_at"]
        return session

    def language_in(self, cookie_value):
        """The language the cookie chose, read without the store (for pages shown when the store is down)."""
        try:
            data = self.serializer.loads(cookie_value, max_age=self.max_age_s) if cookie_value else None
        except BadSignature:
            return None
        lang = data.get("lang") if isinstance(data, dict) else None
        return lang if lang in LANGUAGES else None

    def _live_record(self, sid):
        key = session_key(sid)
        record = self.store.session(key)
        now = self.clock()
        if record is None:
            return None
        if now - record["created_at"] >= self.max_age_s or now - record["last_seen_at"] >= self.idle_s:
            self.store.end_session(key)
            return None
        if now - record["last_seen_at"] >= TOUCH_EVERY_S:
            self.store.touch_session(key, now)
        return record

    def dump(self, session):
        return self.serializer.dumps({k: session[k] for k in COOKIE_KEYS if k in session})

    def set_cookie(self, response, session):
        response.set_cookie(COOKIE_NAME, self.dump(session), max_age=self.max_age_s, httponly=True,
                            samesite="Lax", secure=self.secure, path="/")

    def sign_in(self, session, user_id):
        """A new session id and CSRF token: an id or token seen before sign-in is useless after it (the
        session id rotates; a session the cookie named before is ended)."""
        if isinstance(session.get("sid"), str):
            self.store.end_session(session_key(session["sid"]))
        now = self.clock()
        sid = new_token()
        self.store.add_session({"session_key": session_key(sid), "user_id": user_id, "created_at": now,
                                "last_seen_at": now})
        if secrets.randbelow(50) == 0:  # now and then, forget sessions no one can use any more
            self.store.end_sessions_before(now - self.max_age_s, now - self.idle_s)
        return {"csrf": new_token(), "lang": session.get("lang", DEFAULT_PREFS["lang"]),
                "era": session.get("era", DEFAULT_PREFS["era"]), "sid": sid, "uid": user_id, "since": now}

    def sign_out(self, session):
        """Ends the stored session (if any) and gives an anonymous one with the same preferences."""
        if isinstance(session.get("sid"), str) and self.store is not None:
            self.store.end_session(session_key(session["sid"]))
        return {"csrf": new_token(), "lang": session.get("lang", DEFAULT_PREFS["lang"]),
                "era": session.get("era", DEFAULT_PREFS["era"])}

    def end_sessions_of(self, user_id):
        """Every session of the user, on every replica; the number ended."""
        return self.store.end_sessions_of(user_id)


def change_password(store, passwords, user_id, password):
    """A new password ends every session of the user (a stolen session dies with the old password)."""
    if not store.set_password_hash(user_id, passwords.hash(password)):
        return False
    store.end_sessions_of(user_id)
    return True
