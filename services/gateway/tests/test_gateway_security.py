"""Passwords, server-side sessions, CSRF tokens and the sign-in throttle (units over a real SQLite store)."""

import pytest
from argon2 import PasswordHasher
from childlink_gateway.security import LoginThrottle, Passwords, Sessions, csrf_ok
from childlink_gateway.signin_throttle import throttle_key
from childlink_gateway.store.sqlite_store import SqliteGatewayStore


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


@pytest.fixture
def sessions(tmp_path):
    store = SqliteGatewayStore(tmp_path / "gateway.sqlite3")
    yield Sessions("k", store)
    store.close()


def test_a_session_round_trips_through_its_signed_cookie(sessions):
    session = sessions.sign_in(sessions.fresh({"lang": "en"}), "u-1")
    loaded = sessions.load(sessions.dump(session))
    assert loaded == session and loaded["uid"] == "u-1" and loaded["lang"] == "en"


def test_the_cookie_names_no_user_only_a_session(sessions):
    session = sessions.sign_in(sessions.fresh(), "u-1")
    forged = sessions.dump({"csrf": "t", "uid": "u-admin", "lang": "th", "era": "be"})
    assert "uid" not in sessions.load(forged)
    assert sessions.serializer.loads(sessions.dump(session)).keys() == {"csrf", "lang", "era", "sid"}


def test_a_forged_tampered_foreign_or_expired_cookie_is_no_session(sessions):
    cookie = sessions.dump(sessions.sign_in(sessions.fresh(), "u-1"))
    assert sessions.load(cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB")) is None
    assert Sessions("another key", sessions.store).load(cookie) is None
    assert Sessions("k", sessions.store, max_age_s=-1).load(cookie) is None
    assert sessions.load("") is None and sessions.load(None) is None


def test_signing_in_and_out_changes_the_csrf_token_and_keeps_preferences(sessions):
    anonymous = sessions.fresh({"lang": "en", "era": "ce"})
    signed_in = sessions.sign_in(anonymous, "u-1")
    assert signed_in["csrf"] != anonymous["csrf"]
    signed_out = sessions.sign_out(signed_in)
    assert "uid" not in signed_out and signed_out["csrf"] != signed_in["csrf"]
    assert (signed_out["lang"], signed_out["era"]) == ("en", "ce")


def test_unknown_preferences_fall_back_to_thai_and_buddhist_era(sessions):
    loaded = sessions.load(sessions.dump({"csrf": "t", "lang": "fr", "era": "x"}))
    assert (loaded["lang"], loaded["era"]) == ("th", "be")


def test_csrf_token_must_match_the_session():
    assert csrf_ok({"csrf": "abc"}, "abc")
    assert not csrf_ok({"csrf": "abc"}, "abd")
    assert not csrf_ok({"csrf": "abc"}, None)
    assert not csrf_ok({}, "")


def test_the_throttle_backs_off_per_username_and_address_and_forgets(tmp_path):
    now = [1000.0]
    store = SqliteGatewayStore(tmp_path / "gateway.sqlite3")
    throttle = LoginThrottle(store, free=3, base_s=1, cap_s=8, window_s=600, clock=lambda: now[0])
    for _ in range(3):
        assert throttle.wait_s("Somsri", "10.0.0.1") == 0
        throttle.failed("Somsri", "10.0.0.1")
    assert throttle.wait_s("somsri", "10.0.0.1") == 1  # the 4th try waits 1 s, the 5th 2 s ...
    assert throttle.wait_s("somsri", "10.0.0.2") == 0  # the same user elsewhere: untouched
    assert throttle.wait_s("other", "10.0.0.1") == 0
    for expected in (2, 4, 8, 8):
        now[0] += 10
        throttle.failed("somsri", "10.0.0.1")
        assert throttle.wait_s("somsri", "10.0.0.1") == expected  # capped: a delay, never a lock
    now[0] += 601
    assert throttle.wait_s("somsri", "10.0.0.1") == 0
    throttle.failed("somsri", "10.0.0.1")
    throttle.succeeded("somsri", "10.0.0.1")
    assert store.throttle_state(throttle_key("somsri", "10.0.0.1")) is None
    store.close()
