"""What README promises a newcomer: the example event is valid, every demo user is named with the password."""

import json
import re
from pathlib import Path

from childlink_contracts import validate_event
from childlink_gateway.seed import DEMO_USERS, LOCAL_DEMO_PASSWORD

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_the_readme_example_event_keeps_its_contract():
    (example,) = re.findall(r"```json\n(.*?)```", README, re.DOTALL)
    event = json.loads(example)
    validate_event(event, event["source"]["department"])


def test_the_readme_names_every_demo_user_the_password_the_gateway_and_the_reset_verb():
    for spec in DEMO_USERS:
        assert f"`{spec['username']}`" in README, spec["username"]
    assert f"`{LOCAL_DEMO_PASSWORD}`" in README and "make users" in README
    assert "| gateway | http://127.0.0.1:8100 |" in README
    assert "--keep-going" in README
