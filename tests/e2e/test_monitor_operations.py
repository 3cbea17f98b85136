"""The monitor against real services and the real RabbitMQ: a stopped relay shows as a growing outbox and a
silent department; a poison message shows in the dead-letter view with its reason, and once its cause
is fixed a replay brings it to the timeline exactly once."""

import json
import sqlite3

import pytest
import requests
from childlink_common.processes import ServiceProcess
from childlink_common.testing.events import child, event
from childlink_common.testing.services import TEST_KEYS, System, wait_until
from kombu import Connection, Exchange, Producer
from nameko.standalone.rpc import ClusterRpcProxy

pytestmark = pytest.mark.e2e

MONITOR_ENV = {"MONITOR_POLL_S": "0.5", "MONITOR_SILENCE_MIN_S": "3", "MONITOR_OUTBOX_GROWTH_POLLS": "2",
               "MONITOR_SILENCE_FACTOR": "1"}
OPERATOR = {"user_id": "u-ops.test", "role": "operator", "department": None}


@pytest.fixture
def system(rabbit_config, tmp_path):
    running = System(rabbit_config["AMQP_URI"], tmp_path, services=("health", "referral", "monitor"),
                     env={"monitor": MONITOR_ENV}).start()
    wait_until(lambda: monitor_health(running)["tapping"], message="monitor tapping")
    yield running
    running.stop()
    for name, process in running.processes.items():  # shown by pytest only when the test failed
        print(f"----- {name} log (tail) -----\n{process.logs()[-3000:]}")


def monitor_health(system):
    return requests.get(f"{system['monitor'].url}/health", timeout=5).json()


def overview(system):
    return requests.get(f"{system['monitor'].url}/v1/overview", timeout=10).json()


def department(view, name):
    return next(d for d in view["departments"] if d["name"] == name)


def alerts_of(view, kind, subject):
    return [a for a in view["alerts"] if a["kind"] == kind and a["subject"] == subject]


def restart(system, name, **env):
    """Stop one service and start it again on the same port, data and log, with `env` added."""
    old = system[name]
    old.stop()
    new = ServiceProcess(name, amqp_uri=old.env["AMQP_URI"], data_dir=old.env["CHILDLINK_DATA_DIR"],
                         log_dir=old.log_path.parent, port=old.port, env={**TEST_KEYS, **env})
    system.processes[name] = new.start().wait_healthy()
    return new


def test_a_stopped_relay_shows_as_a_growing_outbox_and_a_silent_department(system):
    first = event("health", "child.registered", subject=child(local_id="HN-1", national_id=None))
    assert system.post("health", first).status_code == 202
    seen = wait_until(lambda: (d := department(overview(system), "health"))["seen_24h"] >= 1
                      and d["stored_24h"] >= 1 and d, timeout=30, message="monitor saw and the timeline stored it")
    assert seen["types"][0]["type"] == "child.registered" and seen["outbox"]["ok"]
    assert seen["lag"] is not None and seen["lag"]["avg_s"] < 30  # exchange -> timeline, measured

    restart(system, "health", RELAY_ENABLED="0")
    sent = []
    for n in range(4):
        more = event("health", "child.growth_measured", subject=child(local_id=f"HN-{n}", national_id=None))
        assert system.post("health", more).status_code == 202
        sent.append(more)
        wait_until(lambda k=n: system.outbox_backlog("health") == k + 1, message="backlog grows")
        wait_until(lambda k=n: (department(overview(system), "health")["outbox"] or {}).get("backlog") == k + 1,
                   message="monitor polled the backlog")
    view = wait_until(lambda: (v := overview(system)) and alerts_of(v, "outbox_growing", "health")
                      and alerts_of(v, "silent", "health") and v, timeout=30, message="outbox and silence alerts")
    health = department(view, "health")
    assert health["outbox"]["backlog"] == 4 and health["outbox"]["history"][-1] == 4
    assert health["status"] in ("outbox_growing", "silent")
    metrics = requests.get(f"{system['monitor'].url}/metrics", timeout=5).text
    assert 'childlink_monitor_alert{kind="outbox_growing",severity="warning",subject="health"} 1.0' in metrics
    assert 'childlink_monitor_outbox_backlog{service="health"} 4.0' in metrics
    assert 'childlink_outbox_depth{service="health"} 4.0' in requests.get(f"{system['health'].url}/metrics",
                                                                           timeout=5).text

    restart(system, "health")  # the relay is back: the backlog drains and the flow resumes
    wait_until(lambda: system.outbox_backlog("health") == 0, message="backlog drained")
    # the monitor polls /health every few seconds: under load one poll can miss (backlog None) after the
    # alert cleared, so wait for a poll that read the drained outbox too
    view = wait_until(lambda: (v := overview(system)) and not alerts_of(v, "outbox_growing", "health")
                      and department(v, "health")["seen_24h"] >= 5
                      and (department(v, "health")["outbox"] or {}).get("backlog") == 0 and v,
                      timeout=30, message="alert cleared and the drained backlog polled")
    assert department(view, "health")["outbox"]["backlog"] == 0
    flow = next(t for t in department(view, "health")["types"] if t["type"] == "child.growth_measured")
    assert flow["seen_24h"] == 4


def referral_db(system):
    return sqlite3.connect(system["referral"].env["CHILDLINK_DATA_DIR"] + "/referral.sqlite3", timeout=10)


def test_a_poison_message_is_seen_with_its_reason_then_replayed_once_its_cause_is_fixed(system, rabbit_config):
    poison = event("health", "child.screened", subject=child(local_id="HN-9", national_id="1234567890121"))
    # the cause: a fault in the referral store that refuses this one event (a bad migration, say)
    with referral_db(system) as db:
        db.execute(f"CREATE TRIGGER poison BEFORE INSERT ON timeline WHEN NEW.event_id = '{poison['event_id']}' "
                   "BEGIN SELECT RAISE(ABORT, 'poisoned row'); END")
    assert system.post("health", poison).status_code == 202
    with Connection(rabbit_config["AMQP_URI"]) as connection:  # and a message no consumer can read
        Producer(connection.channel()).publish(b"{not json", exchange=Exchange("health.events", type="topic"),
                                               routing_key="child.screened", content_type="application/json")

    config = {"AMQP_URI": rabbit_config["AMQP_URI"]}
    with ClusterRpcProxy(config, timeout=30) as rpc:
        listing = wait_until(lambda: (a := rpc.monitor.dead_letters({}, 1, 50)) and a["total"] == 2 and a,
                             timeout=60, message="two dead letters in the monitor")
        by_reason = {d["reason"]: d for d in listing["items"]}
        assert set(by_reason) == {"max_attempts", "undecodable"}
        failed = by_reason["max_attempts"]
        assert failed["event_id"] == poison["event_id"] and failed["department"] == "health"
        assert failed["type"] == "child.screened" and failed["attempts"] == 5
        assert "poisoned row" in failed["error"] and failed["queue"] == "referral.health.events"
        assert failed["first_failure"] and failed["last_failure"] and failed["status"] == "open"
        detail = rpc.monitor.dead_letter(failed["dl_id"], OPERATOR, False)["dead_letter"]
        assert "1234567890121" not in json.dumps(detail) and "สมใจ" not in json.dumps(detail)
        assert rpc.monitor.dead_letter(failed["dl_id"], OPERATOR, True)["error"]["code"] == "forbidden"
        view = overview(system)
        assert alerts_of(view, "dead_letters", "health") and department(view, "health")["dead_letters_open"] == 2
        assert rpc.monitor.replay({"role": "health_centre_staff"}, [failed["dl_id"]])["error"]["code"] == "forbidden"

        with referral_db(system) as db:  # the fix
            db.execute("DROP TRIGGER poison")
        replayed = rpc.monitor.replay(OPERATOR, [failed["dl_id"]])
        assert replayed["ok"] and [r["outcome"] for r in replayed["results"]] == ["confirmed"]
        child_id = wait_until(lambda: system.find_child(national_id="1234567890121"), timeout=30,
                              message="the replayed event reached the referral service")
        entries = wait_until(lambda: (t := system.timeline(child_id)) and t["entries"], message="timeline")
        assert [e["event_id"] for e in entries] == [poison["event_id"]] and entries[0]["duplicates"] == 0
        again = rpc.monitor.replay(OPERATOR, [failed["dl_id"]])  # already replayed: not sent twice
        assert [r["outcome"] for r in again["results"]] == ["skipped"]
        record = rpc.monitor.dead_letter(failed["dl_id"], OPERATOR, False)
        assert record["dead_letter"]["status"] == "replayed" and record["replays"][0]["outcome"] == "confirmed"
        assert [h["action"] for h in record["dead_letter"]["history"]] == ["replay_started", "replay"]

        unreadable = by_reason["undecodable"]
        assert rpc.monitor.discard(OPERATOR, "", [unreadable["dl_id"]])["error"]["field"] == "reason"
        discarded = rpc.monitor.discard(OPERATOR, "rogue test publish", [unreadable["dl_id"]])
        assert [r["outcome"] for r in discarded["results"]] == ["discarded"]
        assert rpc.monitor.dead_letters({"status": "open"}, 1, 50)["total"] == 0
    assert system.timeline(child_id)["entries"][0]["duplicates"] == 0
    wait_until(lambda: not alerts_of(overview(system), "dead_letters", "health"), message="alert cleared")
