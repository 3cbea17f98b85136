"""Calls to referral never raise into a page: failures become refusals the page can show."""

import eventlet
from childlink_gateway.referral_client import ReferralClient
from nameko.exceptions import MethodNotFound, RemoteError, UnknownService

VIEWER = {"user_id": "u-1", "role": "hospital_staff", "department": "medical", "facility": "HOSP-1008",
          "district": "1008"}


class Proxy:
    def __init__(self, behaviour):
        self.behaviour = behaviour

    def __getattr__(self, name):
        return lambda *args: self.behaviour(name, *args)


def code(answer):
    return answer["error"]["code"]


def test_answers_pass_through_untouched():
    answer = {"ok": True, "referral": {"referral_id": "r-1"}}
    assert ReferralClient(Proxy(lambda *a: answer)).get_referral(VIEWER, "r-1") == answer
    refusal = {"ok": False, "error": {"code": "conflict", "message": "stale", "field": None}}
    assert ReferralClient(Proxy(lambda *a: refusal)).act_on_referral(VIEWER, "r-1", "accept", {}, 1) == refusal


def test_arguments_go_through_in_the_documented_order():
    seen = []
    client = ReferralClient(Proxy(lambda *a: seen.append(a) or {"ok": True}))
    client.list_referrals(VIEWER, {"status": ["requested"]}, 2, 25)
    client.act_on_referral(VIEWER, "r-1", "schedule", {"scheduled_for": "2026-01-05"}, 3)
    client.child_page(VIEWER, "c-1")
    assert seen == [("list_referrals", VIEWER, {"status": ["requested"]}, 2, 25),
                    ("act_on_referral", VIEWER, "r-1", "schedule", {"scheduled_for": "2026-01-05"}, 3),
                    ("child_page", VIEWER, "c-1")]


def test_a_missing_call_or_service_is_unavailable():
    def missing(name, *args):
        raise MethodNotFound(name)

    def no_service(name, *args):
        raise UnknownService("referral")

    assert code(ReferralClient(Proxy(missing)).child_page(VIEWER, "c")) == "unavailable"
    assert code(ReferralClient(Proxy(no_service)).child_page(VIEWER, "c")) == "unavailable"


def test_a_crash_in_referral_is_an_error_and_a_broken_connection_unavailable():
    def crash(name, *args):
        raise RemoteError("KeyError", "'x'")

    def broken(name, *args):
        raise ConnectionResetError("gone")

    assert code(ReferralClient(Proxy(crash)).child_page(VIEWER, "c")) == "error"
    assert code(ReferralClient(Proxy(broken)).child_page(VIEWER, "c")) == "unavailable"


def test_a_slow_answer_times_out():
    def slow(name, *args):
        eventlet.sleep(5)
        return {"ok": True}

    client = ReferralClient(Proxy(slow), timeout_s=0.05)
    assert code(client.child_page(VIEWER, "c")) == "timeout"
    assert 0.04 < client.spent_s < 1


def test_answers_in_an_unknown_shape_are_errors():
    for odd in (None, "yes", {"referral": {}}, {"ok": False}):
        assert code(ReferralClient(Proxy(lambda *a, odd=odd: odd)).child_page(VIEWER, "c")) == "error"
