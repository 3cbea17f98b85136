"""Gateway settings from the environment, with defaults for a local run."""

import os
import secrets

from childlink_common import settings

SECRET_FILE = "gateway-secret.key"


def secret_key():
    """GATEWAY_SECRET_KEY (set it in every shared deployment, the same on every replica); otherwise a
    random key kept in the data folder, so local sessions survive a restart."""
    from_env = os.environ.get("GATEWAY_SECRET_KEY")
    if from_env:
        return from_env
    path = settings.data_dir() / SECRET_FILE
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def secure_cookies():
    """Secure cookies need HTTPS; local runs are plain HTTP, so off unless asked for."""
    return settings.flag_env("GATEWAY_SECURE_COOKIES", False)


def session_max_age_s():
    return settings.int_env("GATEWAY_SESSION_MAX_AGE_S", 12 * 3600)


def referral_timeout_s():
    return settings.float_env("GATEWAY_REFERRAL_TIMEOUT_S", 10.0)
