"""Issue 17: key and secret settings fail closed, and secrets compare safely on any input.

A key setting that is set but empty, or a dev key outside local mode, stops the service at start with a
message naming the setting; an API key with a non-ASCII byte is a 401, never a 500."""

import pytest
import requests
from childlink_common import settings
from childlink_common.processes import ServiceProcess
from childlink_common.secrets_compare import any_secret, same_secret
from childlink_common.settings import SettingError

pytestmark = pytest.mark.usefixtures("clean_env")


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("CHILDLINK_ENV", "AMQP_URI", "HEALTH_API_KEYS", "GATEWAY_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("blank", ["", " ", " , ", ",,", "\t,\n"])
def test_a_key_setting_set_but_empty_stops_the_service_naming_it(monkeypatch, blank):
    monkeypatch.setenv("HEALTH_API_KEYS", blank)
    with pytest.raises(SettingError, match="HEALTH_API_KEYS is set but holds no key"):
        settings.api_keys("HEALTH_API_KEYS", "dev-health-key")


def test_unset_keys_fall_back_to_the_dev_key_only_in_local_mode(monkeypatch):
    assert settings.api_keys("HEALTH_API_KEYS", "dev-health-key") == {"dev-health-key"}  # 127.0.0.1 broker
    monkeypatch.setenv("CHILDLINK_ENV", "production")
    with pytest.raises(SettingError, match="HEALTH_API_KEYS is not set: outside local mode"):
        settings.api_keys("HEALTH_API_KEYS", "dev-health-key")


def test_a_deployment_that_does_not_say_is_not_local(monkeypatch):
    assert settings.local_mode()
    monkeypatch.setenv("AMQP_URI", "amqps://health:s3cret@rabbitmq.childlink.svc:5671/childlink")
    assert not settings.local_mode()
    monkeypatch.setenv("CHILDLINK_ENV", "local")
    assert settings.local_mode()
    monkeypatch.setenv("CHILDLINK_ENV", "staging")
    with pytest.raises(SettingError, match="CHILDLINK_ENV"):
        settings.local_mode()


def test_dev_keys_refuse_to_start_outside_local_mode(monkeypatch):
    monkeypatch.setenv("CHILDLINK_ENV", "production")
    monkeypatch.setenv("HEALTH_API_KEYS", "k-9f2c1e, dev-health-key")
    with pytest.raises(SettingError, match="HEALTH_API_KEYS holds a dev key"):
        settings.api_keys("HEALTH_API_KEYS", "dev-health-key")
    monkeypatch.setenv("HEALTH_API_KEYS", "k-9f2c1e,k-77aa")
    assert settings.api_keys("HEALTH_API_KEYS", "dev-health-key") == {"k-9f2c1e", "k-77aa"}


def test_the_gateway_session_secret_fails_closed(monkeypatch, tmp_path):
    from childlink_gateway.config import secret_key

    monkeypatch.setenv("CHILDLINK_DATA_DIR", str(tmp_path))
    assert len(secret_key()) > 40  # local: a random key kept in the data folder
    monkeypatch.setenv("GATEWAY_SECRET_KEY", "  ")
    with pytest.raises(SettingError, match="GATEWAY_SECRET_KEY is set but empty"):
        secret_key()
    monkeypatch.setenv("CHILDLINK_ENV", "production")
    monkeypatch.setenv("GATEWAY_SECRET_KEY", "dev-only-gateway-session-key")
    with pytest.raises(SettingError, match="GATEWAY_SECRET_KEY holds a dev key"):
        secret_key()
    monkeypatch.delenv("GATEWAY_SECRET_KEY")
    with pytest.raises(SettingError, match="GATEWAY_SECRET_KEY is not set"):
        secret_key()
    monkeypatch.setenv("GATEWAY_SECRET_KEY", "a-long-secret-of-its-own")
    assert secret_key() == "a-long-secret-of-its-own"


@pytest.mark.parametrize(("service", "env", "message"), [
    ("health", {"HEALTH_API_KEYS": " , "}, "HEALTH_API_KEYS is set but holds no key"),
    ("health", {"CHILDLINK_ENV": "production", "HEALTH_API_KEYS": None}, "HEALTH_API_KEYS is not set"),
    ("gateway", {"CHILDLINK_ENV": "production", "GATEWAY_SECRET_KEY": "dev-only-gateway-session-key"},
     "GATEWAY_SECRET_KEY holds a dev key"),
])
def test_the_service_process_stops_at_start_with_the_message(rabbit_config, tmp_path, service, env, message):
    base = {"HEALTH_API_KEYS": "k-health-1", "GATEWAY_SECRET_KEY": "k-gateway-1"}
    process = ServiceProcess(service, amqp_uri=rabbit_config["AMQP_URI"], data_dir=tmp_path / "data",
                             log_dir=tmp_path / "logs", env={**base, **env})
    process.env = {k: v for k, v in process.env.items() if v is not None}  # None: unset
    process.start()
    try:
        process.process.wait(60)
    finally:
        process.kill()
    assert process.process.returncode != 0
    assert message in process.logs()


# --- secrets compared safely --------------------------------------------------------------------------------

@pytest.mark.parametrize("offered", ["é", "ké\x00", "\ud800", "คีย์", b"\xff", None, 42, "", "k" * 100_000])
def test_a_wrong_secret_of_any_kind_is_just_not_equal(offered):
    assert not same_secret(offered, "k-health-1")
    assert not any_secret(offered, {"k-health-1", "k-health-2"})


def test_the_right_secret_matches_and_an_empty_expected_never_does():
    assert same_secret("k-health-1", "k-health-1") and any_secret("k-health-2", {"k-health-1", "k-health-2"})
    assert same_secret("คีย์ไทย", "คีย์ไทย")
    assert not same_secret("", "")


def test_a_department_answers_a_non_ascii_api_key_with_401_not_500(rabbit_config, tmp_path):
    process = ServiceProcess("health", amqp_uri=rabbit_config["AMQP_URI"], data_dir=tmp_path / "data",
                             log_dir=tmp_path / "logs", env={"HEALTH_API_KEYS": "k-health-1"}).start()
    try:
        process.wait_healthy()
        for key in ("é", "k-health-1\xe9", "\xff\xfe"):
            # requests sends a str header as latin-1: one byte over 0x7f, as a client with a stray byte would
            response = requests.post(f"{process.url}/v1/events", json=[], headers={"X-API-Key": key}, timeout=10)
            assert response.status_code == 401, (key, response.text)
            assert "TypeError" not in response.text
        ok = requests.post(f"{process.url}/v1/events", json=[], headers={"X-API-Key": "k-health-1"}, timeout=10)
        assert ok.status_code != 401
    finally:
        process.stop()
