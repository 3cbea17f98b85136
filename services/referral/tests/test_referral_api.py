"""The referral HTTP API for department systems: the OpenAPI document matches the code, each system sees
and acts as the pages allow (same refusals), the acting user is named, and schemathesis fuzzes it."""

import json
from pathlib import Path

import hypothesis
import pytest
import schemathesis
import yaml
from childlink_common.testing.events import child
from childlink_referral import service
from childlink_referral.referral_api import DEV_SYSTEMS, ROUTES, ReferralApi, systems_from_env
from childlink_referral.testing import screening
from werkzeug.test import Client
from werkzeug.wrappers import Request

DOC = Path(__file__).resolve().parents[3] / "docs" / "referral-api.openapi.yaml"
HOSPITAL_KEY, CENTRE_KEY, HC_KEY = "dev-klang-his-key", "dev-cdc-1001-key", "dev-hc-1001-his-key"


def wsgi(api):
    def app(environ, start_response):
        return api.handle(Request(environ))(environ, start_response)
    return app


@pytest.fixture
def api_world(world):
    world.child_id = world.send(screening({"fine_motor": "delayed"}, subject=child(local_id="API-1")))
    world.api = ReferralApi(world.store, world.referrals, systems=DEV_SYSTEMS, clock=lambda: world.clock.now)
    world.client = Client(wsgi(world.api))
    return world


def call(world, method, path, key=HOSPITAL_KEY, user="dr.anan", **kwargs):
    headers = {"X-API-Key": key, **({"X-Childlink-User": user} if user else {})}
    response = world.client.open(path, method=method, headers=headers, **kwargs)
    return response.status_code, json.loads(response.get_data(as_text=True))


# --- the document and the code -----------------------------------------------------------------------


def openapi_routes():
    doc = yaml.safe_load(DOC.read_text(encoding="utf-8"))
    return {(method.upper(), path) for path, item in doc["paths"].items() for method in item}


def test_the_openapi_document_names_exactly_the_routes_the_code_serves():
    coded = {(method, rule.rule.replace("<string:", "{").replace(">", "}"))
             for rule in ROUTES.iter_rules() for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert coded == openapi_routes()
    entrypoints = {(ep.method, ep.url.replace("<string:", "{").replace(">", "}"))
                   for attr in vars(service.ReferralService).values()
                   for ep in getattr(attr, "nameko_entrypoints", ()) if hasattr(ep, "url")}
    assert openapi_routes() <= entrypoints  # each route has its nameko http entrypoint


def test_the_documents_enums_are_the_codes():
    from childlink_referral.lifecycle import STATUSES
    from childlink_referral.reasons import REASONS

    doc = yaml.safe_load(DOC.read_text(encoding="utf-8"))
    params = {p["name"]: p["schema"] for p in doc["paths"]["/v1/referrals"]["get"]["parameters"] if "name" in p}
    assert set(params["reason"]["enum"]) == set(REASONS) and set(params["status"]["enum"]) == set(STATUSES)


def test_the_document_is_valid_openapi():
    schema = schemathesis.openapi.from_path(str(DOC))
    assert {op.path for op in (r.ok() for r in schema.get_all_operations())} == {p for _, p in openapi_routes()}


# --- behaviour ----------------------------------------------------------------------------------------


def test_a_hospital_system_lists_gets_and_acts_naming_its_user(api_world):
    status, page = call(api_world, "GET", "/v1/referrals?open=true")
    assert status == 200 and page["total"] == 1
    item = page["items"][0]
    assert item["reason"] == "dspm_delayed" and item["child"]["name"] == "สมใจ ใจดี"
    assert "accept" in item["allowed_actions"]
    status, got = call(api_world, "GET", f"/v1/referrals/{item['referral_id']}")
    assert status == 200 and got["referral"]["version"] == item["version"]
    status, done = call(api_world, "POST", f"/v1/referrals/{item['referral_id']}/actions",
                        json={"action": "accept", "expected_version": item["version"]})
    assert status == 200 and done["referral"]["status"] == "accepted"
    assert done["referral"]["history"][-1]["by"]["user_id"] == "klang-his:dr.anan"


def test_the_same_refusals_as_the_pages(api_world):
    _, page = call(api_world, "GET", "/v1/referrals")
    referral = page["items"][0]
    path = f"/v1/referrals/{referral['referral_id']}"
    assert call(api_world, "GET", path, key=CENTRE_KEY)[0] == 403  # not to or from the centre
    status, stale = call(api_world, "POST", f"{path}/actions", json={"action": "accept", "expected_version": 99})
    assert status == 409 and stale["error"]["code"] == "conflict"
    status, wrong = call(api_world, "POST", f"{path}/actions", json={"action": "fly", "expected_version": 1})
    assert status == 422 and wrong["error"]["field"] == "action"
    status, _ = call(api_world, "POST", f"{path}/actions", key=HC_KEY,
                        json={"action": "accept", "expected_version": referral["version"]})
    assert status == 403  # the requester may not accept its own referral
    assert call(api_world, "GET", "/v1/referrals/r-none")[0] == 404
    status, bad = call(api_world, "POST", f"{path}/actions", data=b"{not json", content_type="application/json")
    assert status == 400 and bad["error"] == "malformed_json"
    _, unchanged = call(api_world, "GET", path)
    assert unchanged["referral"]["version"] == referral["version"]  # nothing changed


def test_a_call_needs_a_known_system_key_and_the_acting_user(api_world):
    assert call(api_world, "GET", "/v1/referrals", key="nope")[0] == 401
    assert call(api_world, "GET", "/v1/referrals", key="")[0] == 401
    status, missing = call(api_world, "GET", "/v1/referrals", user=None)
    assert status == 422 and missing["error"]["field"] == "X-Childlink-User"
    status, bad = call(api_world, "GET", "/v1/referrals?page=x")
    assert status == 422 and bad["error"]["field"] == "page"


def test_systems_come_from_the_environment_and_a_malformed_list_fails_loudly():
    systems = systems_from_env({"REFERRAL_SYSTEMS": json.dumps({"k1": {"system": "s", "role": "hospital_staff"}})})
    assert systems == {"k1": {"system": "s", "role": "hospital_staff"}}
    with pytest.raises(ValueError, match="REFERRAL_SYSTEMS"):
        systems_from_env({"REFERRAL_SYSTEMS": json.dumps(["k1"])})


# --- fuzzing -------------------------------------------------------------------------------------------


def test_fuzzing_finds_no_server_error_and_no_answer_outside_the_document(api_world):
    """schemathesis generates requests from the document and checks every answer against it (status,
    content type, body schema; never a 5xx), against the real API over a real store."""
    loaded = schemathesis.openapi.from_path(str(DOC))
    loaded.app = wsgi(api_world.api)  # called in-process, as from_wsgi does once it has the document
    loaded.config.update(base_url="http://localhost")
    operations = [result.ok() for result in loaded.get_all_operations()]
    assert len(operations) == 3
    for operation in operations:
        @hypothesis.given(case=operation.as_strategy())
        @hypothesis.settings(max_examples=40, deadline=None, database=None,
                             suppress_health_check=list(hypothesis.HealthCheck))
        def fuzz(case):
            case.call_and_validate(headers={"X-API-Key": HOSPITAL_KEY})

        fuzz()


def test_a_text_filter_is_blank_exactly_as_the_document_says(api_world):
    """Found by the fuzzer: the document allowed "\\x1e" (JSON Schema's \\s does not hold the ASCII
    separators) while the API stripped it as space and refused it. Blank is space, tab, CR and LF."""
    status, body = call(api_world, "GET", "/v1/referrals?facility=%1E")
    assert status == 200 and body["items"] == [], body
    status, body = call(api_world, "GET", "/v1/referrals?child_id=%20%09")
    assert status == 422 and body["error"]["field"] == "filters.child_id", body
    status, body = call(api_world, "GET", f"/v1/referrals?child_id=%20{api_world.child_id}%20")
    assert status == 200 and body["items"], body
