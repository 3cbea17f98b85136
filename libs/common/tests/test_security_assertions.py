"""Signed identity assertions (issue 17): only the holder of an assertion key can say who decides."""

import pytest
from childlink_common import assertions

REGISTRAR = {"user_id": "u-reg.suda", "role": "registrar", "department": "health"}


def test_a_signed_assertion_verifies_to_the_viewer():
    token = assertions.sign(REGISTRAR, "k1")
    assert assertions.verify(token, ["k0", "k1"]) == {**REGISTRAR, "facility": None, "district": None}


def test_a_token_with_a_changed_role_another_key_or_past_its_time_is_nothing():
    token = assertions.sign({**REGISTRAR, "role": "health_centre_staff"}, "k1", now=1000)
    mac = token.split(".")[1]
    forged_payload = assertions.sign(REGISTRAR, "attacker", now=1000).split(".")[0]
    assert assertions.verify(f"{forged_payload}.{mac}", ["k1"], now=1001) is None
    assert assertions.verify(token, ["k2"], now=1001) is None
    assert assertions.verify(token, ["k1"], now=1000 + assertions.DEFAULT_TTL_S + 1) is None
    assert assertions.verify(token, ["k1"], now=1001)["role"] == "health_centre_staff"


@pytest.mark.parametrize("junk", [None, "", ".", "a.b.c", "é.é", "\ud800.x", "x" * 5000, 42,
                                  "eyJ4IjoxfQ.", "bm90IGpzb24.abc"])
def test_junk_is_nothing_never_an_error(junk):
    assert assertions.verify(junk, ["k1"]) is None


def test_the_assertion_key_setting_fails_closed(monkeypatch):
    monkeypatch.setenv("IDENTITY_ASSERTION_KEYS", " , ")
    with pytest.raises(assertions.settings.SettingError, match="IDENTITY_ASSERTION_KEYS"):
        assertions.keys()
    monkeypatch.setenv("IDENTITY_ASSERTION_KEYS", "new-key, old-key")
    assert assertions.signing_key() == "new-key" and set(assertions.keys()) == {"new-key", "old-key"}
