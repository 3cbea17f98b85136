"""The referral HTTP API for department systems (docs/referral-api.openapi.yaml): list, get, act.

A hospital's, health centre's, centre's or school's own system calls it with the API key issued to that
system; the key says which system calls and where it works (department, facility, district, role), the
`X-Childlink-User` header which of its users acts. The answers and refusals are the pages' own (queries,
workflow: the same viewer checks), as JSON: 403 forbidden, 404 not_found, 409 conflict/not_allowed,
422 invalid naming the field.

Keys: REFERRAL_SYSTEMS, a JSON object {api key: {"system", "role", "department", "facility", "district"}};
without it the local development systems below (one per demo place of `make run`).
"""

import functools
import hmac
import json
import os
import re

from childlink_common.ingest import problem
from childlink_common.web import answer, json_response
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule

from . import queries
from .times import utc_now

DEV_SYSTEMS = {
    "dev-klang-his-key": {"system": "klang-his", "role": "hospital_staff", "department": "medical",
                          "facility": "HOSP-1008", "district": "1008"},
    "dev-hc-1001-his-key": {"system": "hc-1001-his", "role": "health_centre_staff", "department": "health",
                            "facility": "HC-1001-01", "district": "1001"},
    "dev-cdc-1001-key": {"system": "cdc-1001-registry", "role": "centre_staff", "department": "social",
                         "facility": "CDC-1001-001", "district": "1001"},
    "dev-sch-1001-key": {"system": "sch-1001-sis", "role": "school_staff", "department": "education",
                         "facility": "SCH-1001-01", "district": "1001"},
    "dev-dsw-1001-key": {"system": "dsw-1001-case", "role": "social_worker", "department": "social",
                         "facility": "DSW-1001", "district": "1001"},
}
USER_HEADER = "X-Childlink-User"
USER_ID = re.compile(r"^[A-Za-z0-9._@-]{1,80}$")
STATUS_OF_REFUSAL = {"invalid": 422, "forbidden": 403, "not_found": 404, "conflict": 409, "not_allowed": 409,
                     "merged": 409}
LIST_FILTERS = ("status", "reason", "child_id", "facility", "district", "department")
ROUTES = Map([
    Rule("/v1/referrals", endpoint="list", methods=["GET"]),
    Rule("/v1/referrals/<string:referral_id>", endpoint="get", methods=["GET"]),
    Rule("/v1/referrals/<string:referral_id>/actions", endpoint="act", methods=["POST"]),
], strict_slashes=False)


def systems_from_env(env=os.environ):
    raw = env.get("REFERRAL_SYSTEMS")
    if not raw:
        return dict(DEV_SYSTEMS)
    systems = json.loads(raw)
    if not isinstance(systems, dict) or not all(isinstance(v, dict) and v.get("system") for v in systems.values()):
        raise ValueError("REFERRAL_SYSTEMS: a JSON object {api key: {system, role, department, facility, district}}")
    return systems


@functools.cache
def configured_systems():
    """Read once per process: a malformed REFERRAL_SYSTEMS fails the first call loudly, never opens up."""
    return systems_from_env()


def _refused(result):
    error = result["error"]
    return json_response(STATUS_OF_REFUSAL.get(error.get("code"), 422), result)


def _ok_or_refused(result):
    return json_response(200, result) if result.get("ok") else _refused(result)


def _invalid(field, message):
    return json_response(422, {"ok": False, "error": {"code": "invalid", "field": field, "message": message}})


class ReferralApi:
    def __init__(self, store, referrals, systems=None, clock=utc_now):
        self.store, self.referrals, self.clock = store, referrals, clock
        self.systems = systems if systems is not None else configured_systems()

    def handle(self, request):
        system = self._system(request)
        if system is None:
            return answer(problem(401, "unauthorised", "missing or wrong X-API-Key (one key per calling system)"))
        user = request.headers.get(USER_HEADER, "")
        if not USER_ID.match(user):
            return _invalid(USER_HEADER, f"{USER_HEADER}: the acting user's id in the calling system "
                                         "(1-80 letters, digits, . _ @ -)")
        viewer = {"user_id": f"{system['system']}:{user}", "role": system.get("role"),
                  "department": system.get("department"), "facility": system.get("facility"),
                  "district": system.get("district")}
        try:
            endpoint, values = ROUTES.bind_to_environ(request.environ).match()
        except MethodNotAllowed:
            return answer(problem(405, "method_not_allowed", f"{request.method} is not allowed here"))
        except NotFound:
            return answer(problem(404, "not_found", "no such resource"))
        return getattr(self, f"_{endpoint}")(request, viewer, **values)

    def _system(self, request):
        offered = request.headers.get("X-API-Key", "")
        found = None
        for key, system in self.systems.items():
            if hmac.compare_digest(offered.encode(), key.encode()):
                found = system
        return found

    def _list(self, request, viewer):
        args = request.args
        unknown = sorted(set(args) - {*LIST_FILTERS, "open", "overdue", "page", "page_size"})
        if unknown:
            return _invalid(unknown[0], f"unknown query parameter {unknown[0]!r}")
        filters = {name: args.get(name) for name in LIST_FILTERS if args.get(name)}
        if args.get("open") in ("true", "1"):
            filters["status"] = list(queries.OPEN) if not filters.get("status") else filters["status"]
        for flag in ("overdue",):
            if flag in args:
                if args[flag] not in ("true", "false"):
                    return _invalid(flag, f"{flag} must be true or false")
                filters[flag] = args[flag] == "true"
        numbers = {}
        for name, default in (("page", 1), ("page_size", 50)):
            raw = args.get(name, str(default))
            if not raw.isdigit() or len(raw) > 7:
                return _invalid(name, f"{name} must be a whole number")
            numbers[name] = int(raw)
        return _ok_or_refused(queries.list_referrals(self.store, viewer, filters, numbers["page"],
                                                     numbers["page_size"], self.clock()))

    def _get(self, request, viewer, referral_id):
        return _ok_or_refused(queries.get_referral(self.store, viewer, referral_id, self.clock()))

    def _act(self, request, viewer, referral_id):
        try:
            body = json.loads(request.get_data(cache=False) or b"null")
        except (ValueError, RecursionError):
            return answer(problem(400, "malformed_json", "body is not valid JSON"))
        if not isinstance(body, dict):
            return _invalid("body", "the body must be a JSON object with action, fields, expected_version")
        unknown = sorted(set(body) - {"action", "fields", "expected_version"})
        if unknown:
            return _invalid(unknown[0], f"unknown field {unknown[0]!r}")
        fields = body.get("fields") or {}
        if not isinstance(fields, dict):
            return _invalid("fields", "fields must be an object")
        version = body.get("expected_version")
        if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
            return _invalid("expected_version", "expected_version must be a whole number")
        result = self.referrals.act(viewer, referral_id, body.get("action"), fields, version)
        return _ok_or_refused(result)
