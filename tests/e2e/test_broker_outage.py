"""With the broker out of reach, a department keeps accepting; its relay catches up when the broker returns."""

import pytest
from childlink_common.processes import free_port
from childlink_common.testing.events import child, event
from childlink_common.testing.services import System, wait_until
from childlink_common.testing.tcp_proxy import ProxyProcess

pytestmark = pytest.mark.e2e


@pytest.fixture
def health_behind_proxy(rabbit_config, tmp_path):
    proxy = ProxyProcess(free_port()).start()
    direct = rabbit_config["AMQP_URI"]
    via_proxy = direct.replace("localhost:5672", f"127.0.0.1:{proxy.listen_port}")
    assert via_proxy != direct
    system = System(direct, tmp_path, services=("health", "referral"), amqp_uris={"health": via_proxy}).start()
    yield system, proxy
    system.stop()
    proxy.stop()
    for name, process in system.processes.items():
        print(f"----- {name} log (tail) -----\n{process.logs()[-4000:]}")


def test_ingest_keeps_accepting_while_the_broker_is_away_and_nothing_is_lost(health_behind_proxy):
    system, proxy = health_behind_proxy
    first = event("health", "child.registered", subject=child(local_id="HN-1", national_id=None))
    assert system.post("health", first).status_code == 202
    wait_until(lambda: system.referral_health()["events"] == 1, message="first event through")

    proxy.stop()  # the network between the health service and RabbitMQ goes down
    during = [event("health", "child.immunised", subject=child(local_id="HN-1", national_id=None),
                    occurred_days_ago=days, payload={"vaccine": "OPV", "dose": 1 + days % 3})
              for days in range(1, 21)]
    for batch in (during[:10], during[10:]):
        response = system.post("health", batch)
        assert response.status_code == 202
        assert [a["status"] for a in response.json()["accepted"]] == ["accepted"] * 10
    wait_until(lambda: system.outbox_backlog("health") == 20, message="backlog holds the 20")
    assert system.referral_health()["events"] == 1

    proxy.start()  # the broker is back: the relay reconnects by itself
    wait_until(lambda: system.outbox_backlog("health") == 0, timeout=60, message="outbox drained")
    wait_until(lambda: system.referral_health()["events"] == 21, timeout=30, message="all 21 in timelines")
    child_id = system.find_child(department="health", facility="HC-1001-01", local_id="HN-1")
    entries = system.timeline(child_id)["entries"]
    assert sorted(e["event_id"] for e in entries) == sorted([first["event_id"], *(e["event_id"] for e in during)])
