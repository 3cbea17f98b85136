"""Issue 17 on the real referral service: the identity API decides only for a proven registrar.

With the one staff API key, self-asserted `X-Childlink-Role: registrar` headers used to list reviews
(both children's guardians) and post decisions. Now the caller must send a signed assertion; a forged
header is refused (401/403) and the refusal is in the audit stream (`audit.identity_refused`)."""

import json
from urllib.parse import urlparse

import pytest
import requests
from childlink_common import assertions
from childlink_common.testing.services import (
    ASSERTION_KEY,
    STAFF_KEY,
    System,
    identity_headers,
    wait_until,
)

pytestmark = pytest.mark.e2e

FORGED = {"X-API-Key": STAFF_KEY, "X-Childlink-User": "reg.suda", "X-Childlink-Role": "registrar",
          "X-Childlink-Department": "health"}
REGISTRAR = {"user_id": "reg.suda", "role": "registrar", "department": "health"}


@pytest.fixture(scope="module")
def amqp_uri(request, vhost_pipeline):
    parts = urlparse(request.config.getoption("RABBIT_AMQP_URI"))
    with vhost_pipeline.get() as vhost:
        yield f"{parts.scheme}://{parts.netloc}/{vhost}"


@pytest.fixture(scope="module")
def referral(amqp_uri, tmp_path_factory):
    running = System(amqp_uri, tmp_path_factory.mktemp("identity-api"),
                     services=("referral",)).start()
    yield running["referral"]
    running.stop()


def audit_lines(process):
    lines = []
    for line in process.logs().splitlines():
        if "audit.identity_refused" in line:
            lines.append(line)
    return lines


def test_self_asserted_registrar_headers_are_refused_and_audited(referral):
    url = f"{referral.url}/v1/identity"
    calls = [("get", f"{url}/reviews", None), ("get", f"{url}/reviews/rv-1", None),
             ("post", f"{url}/reviews/rv-1/decision", {"decision": "link", "reason": "x", "expected_version": 1}),
             ("post", f"{url}/merges/m-1/undo", {"reason": "x", "expected_version": 1})]
    for method, target, body in calls:
        response = requests.request(method, target, json=body, headers=FORGED, timeout=10)
        assert response.status_code == 401, (target, response.text)
        assert response.json()["error"] == "unsigned_identity"
    lines = wait_until(lambda: audit_lines(referral) if len(audit_lines(referral)) >= 4 else None,
                       message="refusals audited")
    assert "reg.suda" in lines[0] and "registrar" in lines[0] and "refused:unsigned_identity" in lines[0]


def test_a_signed_assertion_opens_the_queue_and_tampering_does_not(referral):
    good = identity_headers(REGISTRAR)
    assert requests.get(f"{referral.url}/v1/identity/reviews", headers=good, timeout=10).status_code == 200
    nurse = identity_headers({"user_id": "hc.somsri", "role": "health_centre_staff", "facility": "HC-1001-01"})
    assert requests.get(f"{referral.url}/v1/identity/reviews", headers=nurse, timeout=10).status_code == 403
    lifted = {**nurse, "X-Childlink-Role": "registrar"}  # the nurse's assertion with a registrar header
    refused = requests.get(f"{referral.url}/v1/identity/reviews", headers=lifted, timeout=10)
    assert refused.status_code == 403 and refused.json()["error"] == "conflicting_identity"
    wrong_key = {"X-API-Key": STAFF_KEY, assertions.HEADER: assertions.sign(REGISTRAR, "guessed-key")}
    assert requests.get(f"{referral.url}/v1/identity/reviews", headers=wrong_key, timeout=10).status_code == 401
    expired = {"X-API-Key": STAFF_KEY, assertions.HEADER: assertions.sign(REGISTRAR, "test-identity-assertion-key",
                                                                           ttl_s=-10)}
    assert requests.get(f"{referral.url}/v1/identity/reviews", headers=expired, timeout=10).status_code == 401
    lines = audit_lines(referral)
    assert any("conflicting_identity" in line for line in lines)


def test_a_non_ascii_api_key_is_401_not_500(referral):
    for path in ("/v1/identity/reviews", "/v1/children/search"):
        response = requests.request("post" if "search" in path else "get", f"{referral.url}{path}",
                                    json={"national_id": "1"}, headers={"X-API-Key": "\xe9t\xe9"}, timeout=10)
        assert response.status_code == 401, response.text
        assert json.loads(response.text)["error"] == "unauthorised"


def test_identity_rpc_without_the_gateways_signed_assertion_is_refused(referral, amqp_uri):
    from nameko.standalone.rpc import ClusterRpcProxy

    with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=20) as cluster:
        bare = cluster.referral.list_identity_reviews(REGISTRAR)
        assert bare["ok"] is False and bare["error"]["field"] == "viewer.assertion"
        signed = {**REGISTRAR, "assertion": assertions.sign(REGISTRAR, ASSERTION_KEY)}
        assert cluster.referral.list_identity_reviews(signed)["ok"] is True
        promoted = {**signed, "role": "registrar", "user_id": "someone.else"}
        assert cluster.referral.list_identity_reviews(promoted)["error"]["code"] == "forbidden"
    assert any("rpc list_identity_reviews" in line for line in audit_lines(referral))


def test_every_http_call_on_child_data_is_in_the_audit_stream(referral):
    requests.post(f"{referral.url}/v1/children/search", json={"national_id": "1234567890121"},
                  headers={"X-API-Key": STAFF_KEY}, timeout=10)
    requests.get(f"{referral.url}/v1/children/c-404/timeline", headers={"X-API-Key": STAFF_KEY}, timeout=10)
    requests.get(f"{referral.url}/v1/identity/reviews", headers=identity_headers(REGISTRAR), timeout=10)

    def audited():
        lines = [line for line in referral.logs().splitlines() if "audit.http" in line]
        return lines if len(lines) >= 3 else None

    lines = wait_until(audited, message="HTTP calls audited")
    text = "\n".join(lines)
    assert "POST /v1/children/search" in text and "GET /v1/children/c-404/timeline" in text
    assert "reg.suda" in text and "1234567890121" not in text
