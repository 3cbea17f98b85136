"""The FHIR R4 export: every resource parses with fhir.resources' R4 (4.0.1) models; codes and ids as
docs/fhir.md says; access, consent and the audit log as for the child page."""

import datetime as dt
import json

import pytest
from childlink_common.testing.events import child, event
from childlink_referral.fhir import codes
from childlink_referral.fhir.bulk import write_ndjson
from childlink_referral.fhir.export import district_export, patient_everything
from childlink_referral.testing import (
    DISTRICT_OFFICER,
    HC,
    OPERATOR,
    OTHER_HC,
    consent,
    correction,
    immunised,
    measured,
    screening,
)
from childlink_referral.times import bangkok_date
from fhir.resources import __fhir_version__
from fhir.resources.bundle import Bundle
from fhir.resources.fhirtypesvalidators import get_fhir_model_class

BASE = "http://referral.test/fhir"


def parse(resource):
    """The resource through its R4 model: raises on anything R4 does not allow."""
    return get_fhir_model_class(resource["resourceType"]).parse_obj(resource)


@pytest.fixture
def kid(world):
    born = bangkok_date(world.clock.now) - dt.timedelta(days=560)
    subject = child(local_id="F-1", birth_date=born.isoformat())
    doses = [immunised(v, d, subject=subject, occurred_days_ago=560 - age)
             for v, d, age in (("BCG", 1, 0), ("HBV", 1, 0), ("DTwP-HB-Hib", 1, 61), ("ROTA", 1, 61),
                               ("MMR", 1, 275))]
    weight = measured(9.1, 74.0, subject=subject, occurred_days_ago=285)
    weight["payload"]["head_circumference_cm"] = 45.0
    first = screening({"expressive_language": "suspected_delay"}, band=18, subject=subject, occurred_days_ago=10)
    child_id = world.send(*doses, weight, first, correction(doses[0], {"vaccine": "BCG", "dose": 1,
                                                                      "lot_number": "BCG26-1"}))
    return child_id


def test_everything_is_r4_and_carries_every_record(world, kid):
    assert __fhir_version__ == "4.0.1"
    answer = patient_everything(world.store, HC, kid, world.clock.now, BASE)
    assert answer["ok"]
    Bundle.parse_obj(answer["bundle"])
    resources = [e["resource"] for e in answer["bundle"]["entry"]]
    for resource in resources:
        parse(resource)
    kinds = [r["resourceType"] for r in resources]
    assert kinds[0] == "Patient"
    patient = resources[0]
    assert {"system": codes.TH_CID, "value": "1234567890121"}.items() <= patient["identifier"][0].items()
    assert patient["identifier"][0]["type"]["coding"][0] == {"system": codes.V2_IDENTIFIER_TYPE, "code": "NI"}
    immunizations = [r for r in resources if r["resourceType"] == "Immunization"]
    given = sorted((c["code"], r["protocolApplied"][0]["doseNumberPositiveInt"]) for r in immunizations
                   for c in r["vaccineCode"]["coding"] if c["system"] == codes.TH_VACCINE)
    assert given == [("010", 1), ("041", 1), ("061", 1), ("D21", 1), ("R21", 1)]  # the corrected BCG once
    assert [r.get("lotNumber") for r in immunizations if r["vaccineCode"]["coding"][0]["code"] == "010"] == ["BCG26-1"]
    observations = [r for r in resources if r["resourceType"] == "Observation"]
    loinc = {c["code"]: r["valueQuantity"] for r in observations for c in r["code"]["coding"]
             if c["system"] == codes.LOINC}
    assert loinc == {"29463-7": {"value": 9.1, "unit": "kg", "system": codes.UCUM, "code": "kg"},
                     "8302-2": {"value": 74.0, "unit": "cm", "system": codes.UCUM, "code": "cm"},
                     "9843-4": {"value": 45.0, "unit": "cm", "system": codes.UCUM, "code": "cm"}}
    z = {r["code"]["coding"][0]["code"] for r in observations if r["code"]["coding"][0]["system"] == codes.WHO_Z}
    assert {"wfa", "lhfa", "wflh"} <= z
    [dspm] = [r for r in observations if r["code"]["coding"][0]["system"] == codes.DSPM]
    assert dspm["valueCodeableConcept"]["coding"][0]["code"] == "1B261"
    assert {c["code"]["coding"][0]["code"]: c["valueCodeableConcept"]["coding"][0]["code"]
            for c in dspm["component"]} == {"GM": "1B200", "FM": "1B210", "RL": "1B220", "EL": "1B231", "PS": "1B240"}
    # the suspected delay raised a re-screen task: ServiceRequest + Task with the e-Refer code beside
    requests = {r["id"]: r for r in resources if r["resourceType"] == "ServiceRequest"}
    tasks = {requests[t["focus"]["reference"].split("/")[1]]["code"]["coding"][0]["code"] + ":" + t["status"]: t
             for t in resources if t["resourceType"] == "Task"}
    task = tasks["dspm_suspected_delay:requested"]
    assert {"system": codes.EREFER_STATUS, "code": "P", "display": "Pending"} in task["businessStatus"]["coding"]
    assert requests[task["focus"]["reference"].split("/")[1]]["status"] == "active"
    withdrawn = tasks["immunisation_overdue:cancelled"]  # raised, then withdrawn by the rules once the dose came
    assert {"system": codes.EREFER_STATUS, "code": "C", "display": "Cancelled"} in withdrawn["businessStatus"]["coding"]
    assert requests[withdrawn["focus"]["reference"].split("/")[1]]["status"] == "revoked"
    assert all(e["fullUrl"] == f"{BASE}/{e['resource']['resourceType']}/{e['resource']['id']}"
               for e in answer["bundle"]["entry"])


def test_the_same_export_twice_is_the_same(world, kid):
    one = patient_everything(world.store, HC, kid, world.clock.now, BASE)["bundle"]
    two = patient_everything(world.store, HC, kid, world.clock.now, BASE)["bundle"]
    assert one == two


def test_access_and_consent_are_the_child_pages(world, kid, capsys):
    assert patient_everything(world.store, OTHER_HC, kid, world.clock.now, BASE)["error"]["code"] == "forbidden"
    assert patient_everything(world.store, OPERATOR, kid, world.clock.now, BASE)["error"]["code"] == "forbidden"
    assert patient_everything(world.store, HC, "no-such-child", world.clock.now, BASE)["error"]["code"] == "not_found"
    world.send(consent("health", "refused", subject=child(local_id="F-1"), occurred_days_ago=1))
    outside = patient_everything(world.store, {**DISTRICT_OFFICER}, kid, world.clock.now, BASE)
    kinds = {e["resource"]["resourceType"] for e in outside["bundle"]["entry"]}
    assert kinds <= {"Patient", "ServiceRequest", "Task"}  # the record stays with health
    patient = outside["bundle"]["entry"][0]["resource"]
    assert "name" not in patient and "birthDate" not in patient and len(patient["identifier"]) == 1
    logged = capsys.readouterr()
    text = logged.out + logged.err
    assert text.count("audit.fhir_export") == 4 and "forbidden" in text and "consent_refused" in text
    assert "สมใจ" not in text and "1234567890121" not in text


def test_bulk_export_of_a_district_writes_ndjson(world, kid, tmp_path):
    elsewhere = event("health", "child.registered", subject=child(local_id="OTHER", national_id=None,
                                                                  district_code="1050"), facility="HC-1050-01")
    elsewhere["source"]["facility"]["district_code"] = "1050"
    world.send(elsewhere)
    by_type, counts = district_export(world.store, DISTRICT_OFFICER, world.clock.now)
    assert counts["children"] == 1 and counts["not_visible"] == 1
    written = write_ndjson((r for kind in by_type.values() for r in kind), tmp_path / "out")
    assert written["Patient"] == 1 and written["Immunization"] == 5
    for kind, count in written.items():
        lines = (tmp_path / "out" / f"{kind}.ndjson").read_text(encoding="utf-8").splitlines()
        assert len(lines) == count
        for line in lines:
            assert parse(json.loads(line)).resource_type == kind


def test_the_bulk_command_reads_the_store_and_prints_counts(world, kid, tmp_path, monkeypatch, capsys):
    from childlink_referral.fhir.bulk import main

    monkeypatch.setenv("CHILDLINK_DATA_DIR", str(tmp_path))  # where World keeps referral.sqlite3
    monkeypatch.delenv("MONGO_URI", raising=False)
    assert main(["--district", "1001", "--out", str(tmp_path / "bulk"), "--user", "u-do"]) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["children"] == 1 and printed["files"]["Immunization"] == 5
    assert sorted(p.name for p in (tmp_path / "bulk").iterdir()) == [
        "Immunization.ndjson", "Observation.ndjson", "Patient.ndjson", "ServiceRequest.ndjson", "Task.ndjson"]
