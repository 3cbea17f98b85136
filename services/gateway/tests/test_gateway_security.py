"""Passwords, signed sessions, CSRF tokens and the sign-in throttle."""

from argon2 import PasswordHasher
from childlink_gateway.security import LoginThrottle, Passwords, Sessions, csrf_ok


def cheap():
    return Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


def test_a_password_verifies_against_its_argon2id_hash_only():
    passwords = cheap()
    stored = passwords.hash("s3cret ลับ")
    assert stored.startswith("$argon2id$")
    assert passwords.verify(stored, "s3cret ลับ")
    assert not passwords.verify(stored, "s3cret")
    assert not passwords.verify(None, "s3cret ลับ")
    assert not passwords.verify("not-a-hash", "s3cret ลับ")


def test_a_hash_made_with_weaker_parameters_needs_rehash():
    assert Passwords().needs_rehash(cheap().hash("pw"))
    assert Passwords().needs_rehash("garbage")


def test_a_session_round_trips_through_its_signed_cookie():
    sessions = Sessions("k")
    session = sessions.sign_in(sessions.fresh({"lang": "en"}), "u-1")
    loaded = sessions.load(sessions.dump(session))
    assert loaded == session and loaded["uid"] == "u-1" and loaded["lang"] == "en"


def test_a_forged_tampered_foreign_or_expired_cookie_is_no_session():
    sessions = Sessions("k")
    cookie = sessions.dump(sessions.sign_in(sessions.fresh(), "u-1"))
    assert sessions.load(cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB")) is None
    assert Sessions("another key").load(cookie) is None
    assert Sessions("k", max_age_s=-1).load(cookie) is None
    assert sessions.load("") is None and sessions.load(None) is None


def test_signing_in_and_out_changes_the_csrf_token_and_keeps_preferences():
    sessions = Sessions("k")
    anonymous = sessions.fresh({"lang": "en", "era": "ce"})
    signed_in = sessions.sign_in(anonymous, "u-1")
    assert signed_in["csrf"] != anonymous["csrf"]
    signed_out = sessions.sign_out(signed_in)
    assert "uid" not in signed_out and signed_out["csrf"] != signed_in["csrf"]
    assert (signed_out["lang"], signed_out["era"]) == ("en", "ce")


def test_unknown_preferences_fall_back_to_thai_and_buddhist_era():
    sessions = Sessions("k")
    loaded = sessions.load(sessions.dump({"csrf": "t", "lang": "fr", "era": "x"}))
    assert (loaded["lang"], loaded["era"]) == ("th", "be")


def test_csrf_token_must_match_the_session():
    assert csrf_ok({"csrf": "abc"}, "abc")
    assert not csrf_ok({"csrf": "abc"}, "abd")
    assert not csrf_ok({"csrf": "abc"}, None)
    assert not csrf_ok({}, "")


def test_the_throttle_blocks_a_username_after_repeated_failures_for_a_while():
    now = [0.0]
    throttle = LoginThrottle(limit=3, window_s=60, clock=lambda: now[0])
    for _ in range(3):
        assert not throttle.blocked("Somsri")
        throttle.failed("Somsri")
    assert throttle.blocked("somsri")
    assert not throttle.blocked("other")
    now[0] = 61
    assert not throttle.blocked("somsri")
    throttle.failed("somsri")
    throttle.succeeded("somsri")
    assert not throttle.blocked("somsri")
