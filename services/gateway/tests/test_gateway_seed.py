"""Demo users: one per role, created once, passwords from the environment or printed once."""

import os
import subprocess
import sys

from childlink_gateway.roles import ROLES
from childlink_gateway.seed import DEMO_USERS, seed
from childlink_gateway.store.sqlite_store import SqliteGatewayStore


def test_seeding_creates_every_role_once_and_leaves_existing_users_alone(store_path, passwords):
    store = SqliteGatewayStore(store_path)
    try:
        first = seed(store, passwords, password="one")
        assert {name for name, pw in first if pw == "one"} == {u["username"] for u in DEMO_USERS}
        assert {u["role"] for u in store.users()} == set(ROLES)
        again = seed(store, passwords, password="two")
        assert all(pw is None for _, pw in again)
        assert passwords.verify(store.user_by_username("hc.somsri")["password_hash"], "one")
        reset = seed(store, passwords, password="two", reset=True)
        assert all(pw == "two" for _, pw in reset)
        assert passwords.verify(store.user_by_username("hc.somsri")["password_hash"], "two")
        assert len(store.users()) == len(DEMO_USERS)
    finally:
        store.close()


def test_random_passwords_differ_per_user(store_path, passwords):
    store = SqliteGatewayStore(store_path)
    try:
        chosen = [pw for _, pw in seed(store, passwords)]
        assert len(set(chosen)) == len(chosen) and all(len(pw) >= 12 for pw in chosen)
    finally:
        store.close()


def run_seed(data_dir, *args, password=None):
    env = {k: v for k, v in os.environ.items() if k not in ("MONGO_URI", "GATEWAY_DEMO_PASSWORD")}
    env["CHILDLINK_DATA_DIR"] = str(data_dir)
    if password:
        env["GATEWAY_DEMO_PASSWORD"] = password
    return subprocess.run([sys.executable, "-m", "childlink_gateway.seed", *args], env=env, capture_output=True,
                          text=True, timeout=60, check=True).stdout


def test_the_command_seeds_the_store_of_the_data_folder(tmp_path):
    """Once as a real process (python -m, as `make run` does): the rest of its behaviour in-process."""
    output = run_seed(tmp_path, password="from-env")
    assert "from GATEWAY_DEMO_PASSWORD" in output and "from-env" not in output
    store = SqliteGatewayStore(tmp_path / "gateway.sqlite3")
    try:
        assert len(store.users()) == len(DEMO_USERS)
    finally:
        store.close()


def test_the_command_prints_new_passwords_once_and_is_idempotent(tmp_path, monkeypatch, capsys, passwords):
    from childlink_gateway import seed as command

    monkeypatch.setenv("CHILDLINK_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("MONGO_URI", raising=False)
    monkeypatch.delenv("GATEWAY_DEMO_PASSWORD", raising=False)
    monkeypatch.setattr(command, "Passwords", lambda: passwords)
    command.main([])
    first = capsys.readouterr().out
    assert "audit.ratana" in first and "auditor" in first and "shown only now" in first
    command.main([])
    second = capsys.readouterr().out
    assert "present already" in second and "audit.ratana" not in second
    command.main(["--reset-passwords"])
    assert "hc.somsri" in capsys.readouterr().out


def test_local_mode_gives_every_demo_user_the_documented_password_even_after_a_random_one(
        tmp_path, monkeypatch, capsys, passwords):
    """`make run` / `make users`: a newcomer signs in with the README's password, whatever an earlier run set."""
    from childlink_gateway import seed as command

    monkeypatch.setenv("CHILDLINK_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("MONGO_URI", raising=False)
    monkeypatch.delenv("GATEWAY_DEMO_PASSWORD", raising=False)
    monkeypatch.setattr(command, "Passwords", lambda: passwords)
    command.main([])  # random passwords first
    capsys.readouterr()
    command.main(["--local"])
    out = capsys.readouterr().out
    assert command.LOCAL_DEMO_PASSWORD in out and "make users" in out
    assert all(spec["username"] in out for spec in DEMO_USERS)
    store = SqliteGatewayStore(tmp_path / "gateway.sqlite3")
    try:
        for spec in DEMO_USERS:
            user = store.user_by_username(spec["username"])
            assert passwords.verify(user["password_hash"], command.LOCAL_DEMO_PASSWORD), spec["username"]
    finally:
        store.close()
