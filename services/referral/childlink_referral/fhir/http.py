"""The FHIR HTTP answers: `application/fhir+json`, refusals as OperationOutcome with the HTTP status
the other staff endpoints use (422 invalid viewer, 403 forbidden, 404 no such child, 409 merged)."""

import json

from werkzeug.wrappers import Response

from .export import patient_everything, viewer_from_headers

FHIR_JSON = "application/fhir+json"
STATUS = {"invalid": 422, "forbidden": 403, "not_found": 404, "merged": 409}
ISSUE_CODE = {"invalid": "invalid", "forbidden": "forbidden", "not_found": "not-found", "merged": "conflict"}


def fhir_response(status, body):
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=FHIR_JSON)


def operation_outcome(code, message, field=None):
    issue = {"severity": "error", "code": ISSUE_CODE.get(code, "processing"), "diagnostics": message,
             "details": {"text": code}}
    if field:
        issue["expression"] = [field]
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def everything_response(store, request, child_id, now):
    """GET /fhir/Patient/<child_id>/$everything for the viewer named by the X-Childlink-* headers."""
    base_url = request.host_url.rstrip("/") + "/fhir"
    answer = patient_everything(store, viewer_from_headers(request.headers), child_id, now, base_url,
                                reason=request.headers.get("X-Childlink-Reason"))
    if answer.get("ok"):
        return fhir_response(200, answer["bundle"])
    error = answer["error"]
    return fhir_response(STATUS.get(error["code"], 422),
                         operation_outcome(error["code"], error["message"], error.get("field")))
