"""43 files in -> the real health ingest and referral services -> timeline -> FHIR R4 out: every vaccine,
measurement and screening the files hold comes back, and every resource parses as R4."""

import shutil
from pathlib import Path

import pytest
import requests
from childlink_common.testing.services import STAFF_KEY, api_key, wait_until
from childlink_tools.import43 import cli
from fhir.resources.bundle import Bundle
from fhir.resources.fhirtypesvalidators import get_fhir_model_class

pytestmark = pytest.mark.e2e

FIXTURE = Path(__file__).parents[2] / "tools" / "tests" / "data" / "f43-hc41234"
TH_VACCINE = "https://terms.sil-th.org/CodeSystem/cs-thcc-vaccine-code"
HC_VIEWER = {"X-Childlink-User": "u-hc-41234", "X-Childlink-Role": "health_centre_staff",
             "X-Childlink-Department": "health", "X-Childlink-Facility": "41234", "X-Childlink-District": "1001"}


def everything(system, child_id, headers=HC_VIEWER):
    return requests.get(f"{system['referral'].url}/fhir/Patient/{child_id}/$everything",
                        headers={"X-API-Key": STAFF_KEY, **headers}, timeout=30)


def current(timeline, type_):
    return [e for e in timeline["entries"] if e["type"] == type_ and e["status"] == "current"]


def test_43_files_in_fhir_out(system, tmp_path):
    work = tmp_path / "export"
    shutil.copytree(FIXTURE, work)
    status = cli.main([str(work), "--department", "health", "--url", system["health"].url,
                       "--api-key", api_key("health"), "--district", "1001", "--no-progress"])
    assert status == 1  # the fixture's bad rows are refused; the rest is imported
    report = (work / "import-43-report.txt").read_text(encoding="utf-8")
    assert "0 by the service" in report

    mali = wait_until(lambda: system.find_child(national_id="1100200456781"), message="child 000002 known")
    kong = wait_until(lambda: system.find_child(department="health", facility="41234", local_id="000003"),
                      message="child 000003 known")

    def settled():
        timeline = system.timeline(mali)
        return timeline if timeline and len(current(timeline, "child.screened")) == 3 \
            and len(current(timeline, "child.immunised")) == 13 else None

    timeline = wait_until(settled, timeout=90, message="every event of child 000002 on the timeline")
    assert len(current(timeline, "child.growth_measured")) == 4
    superseded = [e for e in timeline["entries"] if e["status"] == "superseded"]
    assert {e["type"] for e in superseded} == {"child.immunised", "child.registered"}  # the newer D_UPDATE rows
    assert timeline["profile"]["given_name"] == "มะลิวัลย์"  # TIS-620 PERSON.txt, the corrected row

    answer = everything(system, mali)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("application/fhir+json")
    bundle = answer.json()
    Bundle.parse_obj(bundle)
    resources = [e["resource"] for e in bundle["entry"]]
    for resource in resources:
        get_fhir_model_class(resource["resourceType"]).parse_obj(resource)
    codes = sorted(c["code"] for r in resources if r["resourceType"] == "Immunization"
                   for c in r["vaccineCode"]["coding"] if c["system"] == TH_VACCINE)
    expected = sorted(["010", "041", "D21", "081", "R11", "D22", "082", "401", "R12", "D23", "083", "061", "J11"])
    vaccines = sorted((e["payload"]["vaccine"], e["payload"]["dose"]) for e in current(timeline, "child.immunised"))
    assert len(codes) == len(expected) == len(vaccines)
    if all(e["payload"].get("vaccine_code") for e in current(timeline, "child.immunised")):
        assert codes == expected  # the contract keeps the 43-file code: the export gives it back as it came
    observations = [r for r in resources if r["resourceType"] == "Observation"]
    weights = sorted(r["valueQuantity"]["value"] for r in observations
                     if r["code"]["coding"][0]["code"] == "29463-7")
    heights = sorted(r["valueQuantity"]["value"] for r in observations if r["code"]["coding"][0]["code"] == "8302-2")
    heads = sorted(r["valueQuantity"]["value"] for r in observations if r["code"]["coding"][0]["code"] == "9843-4")
    assert weights == [3.1, 5.2, 8.1, 9.0] and heights == [49.0, 57.5, 70.2, 74.0] and heads == [34.0, 38.2, 43.8, 45.5]
    dspm = sorted((r["effectiveDateTime"][:10], r["valueCodeableConcept"]["coding"][0]["code"]) for r in observations
                  if r["code"]["coding"][0]["system"] == "urn:childlink:CodeSystem:dspm")
    assert dspm == [("2024-10-15", "1B260"), ("2025-07-20", "1B261"), ("2025-08-20", "1B262")]
    # the delayed re-screen raised a referral: ServiceRequest + Task with the e-Refer code beside its status
    tasks = [r for r in resources if r["resourceType"] == "Task"]
    assert tasks and all(any(c["system"] == "urn:childlink:CodeSystem:erefer-status"
                             for c in t["businessStatus"]["coding"]) for t in tasks)

    other = everything(system, kong).json()
    kinds = [e["resource"]["resourceType"] for e in other["entry"]]
    assert kinds.count("Immunization") == 1 and kinds[0] == "Patient"

    assert everything(system, mali, {**HC_VIEWER, "X-Childlink-Facility": "99999"}).status_code == 403
    refused = everything(system, mali, {"X-Childlink-User": "u-op", "X-Childlink-Role": "operator"})
    assert refused.status_code == 403 and refused.json()["resourceType"] == "OperationOutcome"
    assert requests.get(f"{system['referral'].url}/fhir/Patient/{mali}/$everything", timeout=10).status_code == 401

    # importing the same files again changes nothing; sent again (--resend) the service answers duplicate
    before = system.timeline(mali)
    args = [str(work), "--department", "health", "--url", system["health"].url, "--api-key", api_key("health"),
            "--district", "1001", "--no-progress"]
    assert cli.main(args) == 1
    assert "27 rows already imported" in (work / "import-43-report.txt").read_text(encoding="utf-8")
    assert cli.main([*args, "--resend"]) == 1
    resent = (work / "import-43-report.txt").read_text(encoding="utf-8")
    assert [line.split() for line in resent.splitlines() if line.startswith("health")] == [
        ["health", "27", "0", "0", "27", "0", "0"]]
    assert [e["event_id"] for e in system.timeline(mali)["entries"]] == [e["event_id"] for e in before["entries"]]
