"""The referral loop end to end: real health, medical and referral services as processes, the real RabbitMQ
(a throwaway vhost), staff acting over nameko RPC as the gateway does, and `referral.events` watched.

- a delayed DSPM screening at a health centre raises a referral to the hospital, which accepts, schedules
  and completes it with an outcome; the outcome shows on the child's timeline at the health centre;
- a hospital's `referral.outcome_recorded` event completes the referral it names;
- an overdue referral is expired by the timer (a 2-second deadline set through the environment);
- a retracted screening cancels its referral, with the reason;
- bad input to an action gets a clear error and changes nothing.
"""

import datetime as dt
import json
from urllib.parse import urlparse

import pytest
from childlink_common.testing.events import child, event, instant
from childlink_common.testing.services import System, wait_until
from childlink_contracts import with_check_digit
from childlink_contracts.clinical import dspm_band_for
from kombu import Connection, Exchange, Queue
from nameko.standalone.rpc import ClusterRpcProxy

pytestmark = pytest.mark.e2e

BANGKOK = dt.timezone(dt.timedelta(hours=7))
HC = {"user_id": "u-hc", "role": "health_centre_staff", "department": "health", "facility": "HC-1001-01",
      "district": "1001"}
HOSPITAL = {"user_id": "u-hosp", "role": "hospital_staff", "department": "medical", "facility": "HOSP-1008",
            "district": "1008"}
WATCH_QUEUE = "e2e.referral.events.watch"
DOMAINS = ("gross_motor", "fine_motor", "receptive_language", "expressive_language", "personal_social")


@pytest.fixture(scope="module")
def amqp_uri(request, vhost_pipeline):
    """A vhost of this module's own (nameko's rabbit_config is per test; the services start once here)."""
    parts = urlparse(request.config.getoption("RABBIT_AMQP_URI"))
    with vhost_pipeline.get() as vhost:
        yield f"{parts.scheme}://{parts.netloc}/{vhost}"


@pytest.fixture(scope="module")
def published(amqp_uri):
    """Everything published on referral.events, read from a queue bound before any service starts."""
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        exchange = Exchange("referral.events", type="topic", durable=True)
        Queue(WATCH_QUEUE, exchange=exchange, routing_key="referral.#", durable=False)(channel).declare()
    seen = []

    def read():
        with Connection(amqp_uri) as connection:
            channel = connection.channel()
            while (message := channel.basic_get(queue=WATCH_QUEUE, no_ack=True)) is not None:
                seen.append((message.delivery_info["routing_key"], json.loads(message.body)))
        return seen

    return read


@pytest.fixture(scope="module")
def system(amqp_uri, published, tmp_path_factory):
    env = {"referral": {"REFERRAL_TIMER_INTERVAL_S": "0.5", "REFERRAL_DEADLINES": "nutrition_follow_up=2"}}
    running = System(amqp_uri, tmp_path_factory.mktemp("referral-loop"), services=("health", "medical", "referral"),
                     env=env).start()
    yield running
    running.stop()
    for name, process in running.processes.items():  # shown by pytest only when a test failed
        print(f"----- {name} log (tail) -----\n{process.logs()[-4000:]}")


@pytest.fixture
def rpc(amqp_uri, system):
    with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=20) as proxy:
        yield proxy.referral


def kid(n, **overrides):
    return child(**{"local_id": f"LOOP-{n}", "national_id": with_check_digit(f"11017001{n:04d}"), **overrides})


def screening(subject, results, **kw):
    """A DSPM screening with the band that fits the child's age on the day (ingest refuses any other)."""
    on = dt.datetime.fromisoformat(instant(kw.get("occurred_days_ago", 10)))
    band = dspm_band_for(dt.date.fromisoformat(subject["birth_date"]), on)
    return event("health", "child.screened", subject=subject, payload={
        "age_band_months": band, "domains": {d: "normal" for d in DOMAINS} | results}, **kw)


def referral_for(system, rpc, subject, reason, viewer=HC, statuses=None):
    child_id = wait_until(lambda: system.find_child(national_id=subject["national_id"]), message="child known")

    def found():
        filters = {"child_id": child_id, "reason": reason} | ({"status": statuses} if statuses else {})
        answer = rpc.list_referrals(viewer, filters)
        assert answer["ok"], answer
        return answer["items"][0] if answer["total"] == 1 else None

    return child_id, wait_until(found, timeout=30, message=f"{reason} referral raised")


def events_of(published, referral_id):
    return [key for key, body in published() if body["payload"]["referral_id"] == referral_id]


def test_a_delayed_screening_is_referred_accepted_scheduled_and_completed_back_to_the_health_centre(
        system, rpc, published):
    mali = kid(1)
    assert system.post("health", screening(mali, {"fine_motor": "delayed"})).status_code == 202
    child_id, referral = referral_for(system, rpc, mali, "dspm_delayed", viewer=HOSPITAL)
    rid = referral["referral_id"]
    assert (referral["status"], referral["to"]["facility"], referral["from"]["facility"]) == (
        "requested", "HOSP-1008", "HC-1001-01")
    assert referral["allowed_actions"] == ["accept", "reject", "mark_entered_in_error"]

    accepted = rpc.act_on_referral(HOSPITAL, rid, "accept", {}, 1)
    assert accepted["ok"] and accepted["referral"]["erefer_code"] == "A"
    day = (dt.datetime.now(BANGKOK).date() + dt.timedelta(days=7)).isoformat()
    scheduled = rpc.act_on_referral(HOSPITAL, rid, "schedule", {"scheduled_for": day}, 2)
    assert scheduled["ok"] and scheduled["referral"]["scheduled_for"] == day
    done = rpc.act_on_referral(HOSPITAL, rid, "complete", {"outcome": "treated", "notes": "TEDA4I, 6 sessions"}, 3)
    assert done["ok"] and done["referral"]["status"] == "completed" and done["referral"]["fhir_status"] == "completed"

    # back at the health centre: the outcome is on the child's timeline, and the referral shows it
    page = rpc.child_page(HC, child_id)
    assert page["ok"], page
    [completed] = [e for e in page["child"]["timeline"] if e["type"] == "referral.completed"]
    assert (completed["payload"]["outcome"], completed["payload"]["referral_id"]) == ("treated", rid)
    assert [r["outcome"] for r in page["child"]["referrals"] if r["referral_id"] == rid] == ["treated"]
    assert page["child"]["dspm"]["by_domain"]["fine_motor"][-1]["result"] == "delayed"

    # every transition was published on referral.events, who and when included
    wait_until(lambda: len(events_of(published, rid)) == 4, timeout=20, message="four transitions published")
    assert events_of(published, rid) == ["referral.requested", "referral.accepted", "referral.scheduled",
                                         "referral.completed"]
    [(_, body)] = [(k, b) for k, b in published() if k == "referral.completed" and b["payload"]["referral_id"] == rid]
    assert body["payload"]["transition"]["by"]["user_id"] == "u-hosp" and body["payload"]["outcome"] == "treated"


def test_a_hospital_outcome_event_completes_the_referral_it_names(system, rpc, published):
    somchai = kid(2)
    assert system.post("health", screening(somchai, {"gross_motor": "delayed"})).status_code == 202
    child_id, referral = referral_for(system, rpc, somchai, "dspm_delayed")
    outcome = event("medical", "referral.outcome_recorded", subject=kid(2, local_id="HN-2"), occurred_days_ago=1,
                    payload={"referral_id": referral["referral_id"], "outcome": "no_problem_found"})
    assert system.post("medical", outcome).status_code == 202

    def completed():
        answer = rpc.get_referral(HC, referral["referral_id"])
        return answer["referral"] if answer["referral"]["status"] == "completed" else None

    done = wait_until(completed, timeout=30, message="completed by the outcome event")
    assert done["outcome"] == "no_problem_found" and done["history"][-1]["action"] == "record_outcome"
    timeline = rpc.child_page(HC, child_id)["child"]["timeline"]
    assert {"referral.outcome_recorded", "referral.completed"} <= {e["type"] for e in timeline}


def test_an_overdue_referral_is_expired_and_published(system, rpc, published):
    born = (dt.datetime.now(BANGKOK).date() - dt.timedelta(days=365)).isoformat()
    nok = kid(3, birth_date=born)
    measured = event("health", "child.growth_measured", subject=nok, occurred_days_ago=2,
                     payload={"weight_kg": 7.6, "height_cm": 67.0, "measured_lying": True})  # length-for-age < -2
    assert system.post("health", measured).status_code == 202
    _, referral = referral_for(system, rpc, nok, "nutrition_follow_up")

    def expired():
        answer = rpc.get_referral(HC, referral["referral_id"])
        return answer["referral"] if answer["referral"]["status"] == "expired" else None

    gone = wait_until(expired, timeout=20, message="expired by the timer")
    assert (gone["erefer_code"], gone["history"][-1]["by"]) == ("E", {"user_id": "system", "role": "timer"})
    wait_until(lambda: "referral.expired" in events_of(published, referral["referral_id"]), timeout=20,
               message="referral.expired published")


def test_a_retracted_screening_cancels_its_referral_with_the_reason(system, rpc, published):
    dao = kid(4)
    screened = screening(dao, {"expressive_language": "delayed"}, occurred_days_ago=3)
    assert system.post("health", screened).status_code == 202
    child_id, referral = referral_for(system, rpc, dao, "dspm_delayed")
    retraction = event("health", "event.retracted", subject=dao, occurred_days_ago=1,
                       supersedes=screened["event_id"], payload={"reason": "screened the wrong child"})
    assert system.post("health", retraction).status_code == 202

    def cancelled():
        answer = rpc.get_referral(HC, referral["referral_id"])
        return answer["referral"] if answer["referral"]["status"] == "cancelled" else None

    gone = wait_until(cancelled, timeout=30, message="cancelled by the retraction")
    assert "retracted" in gone["cancel_reason"] and "screened the wrong child" in gone["cancel_reason"]
    assert gone["history"][-1]["by"] == {"user_id": "system", "role": "rules"}
    wait_until(lambda: "referral.cancelled" in events_of(published, referral["referral_id"]), timeout=20,
               message="referral.cancelled published")
    statuses = {e["event_id"]: e["status"] for e in rpc.child_page(HC, child_id)["child"]["timeline"]}
    assert statuses[screened["event_id"]] == "retracted"


def test_bad_input_to_any_action_gets_a_clear_error_and_changes_nothing(system, rpc, published):
    ploy = kid(5)
    assert system.post("health", screening(ploy, {"personal_social": "delayed"})).status_code == 202
    _, referral = referral_for(system, rpc, ploy, "dspm_delayed")
    rid = referral["referral_id"]
    wait_until(lambda: events_of(published, rid) == ["referral.requested"], message="requested published")

    def refused(*args):
        answer = rpc.act_on_referral(*args)
        assert answer["ok"] is False, answer
        return answer["error"]

    assert refused(HOSPITAL, "r-does-not-exist", "accept", {}, 1)["code"] == "not_found"
    assert refused(HOSPITAL, rid, "complete", {"outcome": "treated"}, 1)["code"] == "not_allowed"  # still requested
    assert refused(HC, rid, "accept", {}, 1)["code"] == "forbidden"  # the requester cannot accept
    assert refused(HOSPITAL, rid, "accept", {}, 0)["code"] == "conflict"  # a stale version
    assert rpc.act_on_referral(HOSPITAL, rid, "accept", {}, 1)["ok"]
    missing = refused(HOSPITAL, rid, "complete", {}, 2)
    assert (missing["code"], missing["field"]) == ("invalid", "fields.outcome")
    assert refused(HOSPITAL, rid, "start", {}, 1)["code"] == "conflict"  # someone acted first
    assert refused(HOSPITAL, rid, "schedule", {"scheduled_for": "next week"}, 2)["field"] == "fields.scheduled_for"

    after = rpc.get_referral(HOSPITAL, rid)["referral"]
    assert (after["status"], after["version"], len(after["history"])) == ("accepted", 2, 2)
    wait_until(lambda: events_of(published, rid) == ["referral.requested", "referral.accepted"],
               message="only the accepted transition published")
