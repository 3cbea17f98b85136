"""Gateway settings from the environment, with defaults for a local run."""

import os
import secrets

from childlink_common import settings

SECRET_FILE = "gateway-secret.key"


def secret_key():
    """GATEWAY_SECRET_KEY (set it in every shared deployment, the same on every replica); otherwise, in
    local mode only, a random key kept in the data folder, so local sessions survive a restart.
    Set but empty, a dev secret outside local mode, or unset outside local mode: the gateway stops."""
    from_env = settings.secret("GATEWAY_SECRET_KEY")
    if from_env:
        return from_env
    if not settings.local_mode():
        raise settings.SettingError("GATEWAY_SECRET_KEY is not set: outside local mode (CHILDLINK_ENV=local) "
                                    "every gateway replica needs the same secret of its own")
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
    """Absolute session lifetime: over this long after sign-in, however busy (childlink_gateway.sessions)."""
    return settings.int_env("GATEWAY_SESSION_MAX_AGE_S", 12 * 3600)


def session_idle_s():
    """Idle session lifetime: a session not used this long is over."""
    return settings.int_env("GATEWAY_SESSION_IDLE_S", 30 * 60)


def proxy_hops():
    """Trusted proxies (an ingress) in front of the gateway; the sign-in throttle then reads the client's
    address from X-Forwarded-For. 0: the socket's peer is the client."""
    return settings.int_env("GATEWAY_PROXY_HOPS", 0)


def referral_timeout_s():
    return settings.float_env("GATEWAY_REFERRAL_TIMEOUT_S", 10.0)
