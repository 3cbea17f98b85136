"""The operator pages, mounted under /operator beside the staff pages and sharing their sign-in.

`OperatorConsole(app).handle(request, monitor_proxy)` is what the nameko service calls. It reuses the
gateway app's sessions, users, CSRF, templates, audit log and error pages, and adds:

- /operator                         live map of the flows per department, auto-refreshing
- /operator/flows/<department>      per-flow charts (per minute, last hour or 24 hours)
- /operator/alerts                  the alerts, auto-refreshing
- /operator/dead-letters            the dead letters, filtered; replay or discard a selection or all matching
- /operator/dead-letters/<dl_id>    one dead letter, redacted; the raw message for an authorised role (audited)

Only the `operator` role may use them (a department's own staff may open a dead letter of their
department, to see it raw). Replays, discards and raw views are written to the gateway's audit log
before the answer is shown; the monitor records them too.
"""

import json
import re
from importlib import resources
from urllib.parse import parse_qsl, urlencode

from childlink_common import settings
from childlink_common.logs import get_logger
from nameko.extensions import DependencyProvider
from werkzeug.datastructures import MultiDict
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Response

from .. import audit
from . import charts, sessions_page, wording
from .client import MonitorClient
from .i18n import layered

log = get_logger(__name__)

PAGE_ROLES = frozenset({"operator"})
DETAIL_ROLES = PAGE_ROLES | {"department_staff"}
REFRESH_S = 10
PAGE_SIZE = 50
DL_ID = re.compile(r"^dl-[0-9a-f]{24}$")
NAME = re.compile(r"^[a-z][a-z0-9_.]{0,60}$")
FILTERS = ("department", "type", "reason", "status", "event_id", "queue")
STATUSES = ("open", "replay_failed", "replaying", "replayed", "discarded")
RAW_REASONS = ("investigate_failure", "fix_data", "audit")
WINDOWS = {"1h": (60, 1), "6h": (360, 5), "24h": (1440, 15)}
ERROR_STATUS = {"forbidden": 403, "not_found": 404, "invalid": 422, "unavailable": 503, "timeout": 504, "error": 502}


class OperatorConsole:
    def __init__(self, app, monitor_timeout_s=10.0):
        self.app = app
        self.monitor_timeout_s = monitor_timeout_s
        self.css = (resources.files("childlink_gateway.operations") / "operator.css").read_bytes()
        self.url_map = Map([
            Rule("/operator", endpoint="overview", methods=["GET"]),
            Rule("/operator/alerts", endpoint="alerts", methods=["GET"]),
            Rule("/operator/flows/<department>", endpoint="flow", methods=["GET"]),
            Rule("/operator/dead-letters", endpoint="dead_letters", methods=["GET"]),
            Rule("/operator/dead-letters/replay", endpoint="replay", methods=["POST"]),
            Rule("/operator/dead-letters/discard", endpoint="discard", methods=["POST"]),
            Rule("/operator/dead-letters/<dl_id>", endpoint="dead_letter", methods=["GET"]),
            Rule("/operator/users", endpoint="users", methods=["GET"]),
            Rule("/operator/users/<user_id>/end-sessions", endpoint="end_sessions", methods=["POST"]),
            Rule("/operator/static/operator.css", endpoint="css", methods=["GET"]),
        ], strict_slashes=False)

    # --- the one entry point ------------------------------------------------------------------------

    def handle(self, request, monitor_proxy):
        monitor = MonitorClient(monitor_proxy, self.monitor_timeout_s)

        def prepare(ctx):
            ctx.monitor = monitor

        return self.app.serve(request, self.url_map, self, monitor, name="operator.", prepare=prepare,
                              error=self.error)

    # --- helpers --------------------------------------------------------------------------------------

    def render(self, ctx, template, status=200, refresh=False, **values):
        ctx.t = layered(ctx.t)
        response = self.app.render(ctx, f"operator/{template}", status=status, charts=charts,
                                   ago=lambda s: charts.ago(s, ctx.t), duration=lambda s: charts.duration(s, ctx.t),
                                   refresh_s=REFRESH_S if refresh else None,
                                   alert_text=lambda a: wording.alert_text(ctx.t, a), error_kind=wording.error_kind,
                                   **values)
        if refresh:
            response.headers["Refresh"] = str(REFRESH_S)
        return response

    def error(self, ctx, status, key, detail=None):
        ctx.t = layered(ctx.t)
        return self.app.error_page(ctx, status, key, detail=detail)

    def refusal(self, ctx, answer):
        ctx.t = layered(ctx.t)
        error = answer.get("error") or {}
        status = ERROR_STATUS.get(error.get("code"), 502)
        return self.render(ctx, "unavailable.html", status=status, error=error)

    def gate(self, ctx, roles=PAGE_ROLES):
        """None when the user may go on; else the response (sign-in, or 403 before any call)."""
        if ctx.user is None:
            return self.app.to_signin(ctx)
        if ctx.user["role"] not in roles:
            return self.error(ctx, 403, "op.error.operators_only")
        return None

    def csrf_failed(self, ctx):
        return self.app._csrf_failed(ctx)

    @staticmethod
    def filters_from(args):
        out = {}
        for name in FILTERS:
            value = (args.get(name) or "").strip()[:120]
            if value:
                out[name] = value
        return out

    # --- pages ----------------------------------------------------------------------------------------

    def page_css(self, ctx):
        response = Response(self.css, mimetype="text/css")
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response

    def page_overview(self, ctx):
        if (gate := self.gate(ctx)) is not None:
            return gate
        answer = ctx.monitor.overview()
        if not answer.get("ok"):
            return self.refusal(ctx, answer)
        overview = answer["value"]
        departments = overview.get("departments") or []
        return self.render(ctx, "overview.html", refresh=True, overview=overview, departments=departments,
                           flow_map=charts.flow_map(departments, layered(ctx.t)), alerts=overview.get("alerts") or [])

    def page_alerts(self, ctx):
        if (gate := self.gate(ctx)) is not None:
            return gate
        answer = ctx.monitor.overview()
        if not answer.get("ok"):
            return self.refusal(ctx, answer)
        overview = answer["value"]
        return self.render(ctx, "alerts.html", refresh=True, overview=overview, alerts=overview.get("alerts") or [],
                           thresholds=overview.get("thresholds") or {})

    def page_flow(self, ctx, department):
        if (gate := self.gate(ctx)) is not None:
            return gate
        if not NAME.match(department):
            return self.error(ctx, 404, "error.not_found")
        window = ctx.request.args.get("window", "1h")
        minutes, bucket = WINDOWS.get(window, WINDOWS["1h"])
        window = window if window in WINDOWS else "1h"
        type_ = (ctx.request.args.get("type") or "").strip() or None
        if type_ is not None and not NAME.match(type_):
            type_ = None
        answer = ctx.monitor.flow(department, type_, minutes, bucket)
        if not answer.get("ok"):
            return self.refusal(ctx, answer)
        flow = answer["value"]
        overview = ctx.monitor.overview()
        dept = next((d for d in (overview.get("value") or {}).get("departments", []) if d["name"] == department),
                    None) if overview.get("ok") else None
        thresholds = (overview.get("value") or {}).get("thresholds", {}) if overview.get("ok") else {}
        t = layered(ctx.t)
        series = flow["series"]
        common = {"end_iso": flow["end"], "bucket_minutes": flow["bucket_minutes"]}
        traffic = charts.chart([("seen", t("op.series.seen"), series["seen"], "bar"),
                                ("stored", t("op.series.stored"), series["stored"], "line"),
                                ("failures", t("op.series.failures"), series["failures"], "bar"),
                                ("dead_letters", t("op.series.dead_letters"), series["dead_letters"], "bar")],
                               title=t("op.flow.traffic"), unit=t("op.flow.per_bucket", m=flow["bucket_minutes"]),
                               **common)
        lag = charts.chart([("lag_pipeline_avg", t("op.series.lag"), series["lag_pipeline_avg"], "line")],
                           title=t("op.flow.lag"), unit="s", threshold=thresholds.get("lag_s"),
                           threshold_label=t("op.flow.threshold"), **common)
        backlog = charts.chart([("outbox_backlog", t("op.series.outbox"), series["outbox_backlog"], "line")],
                               title=t("op.flow.outbox"), **common) if series.get("outbox_backlog") else None
        return self.render(ctx, "flow.html", refresh=True, department=department, type_=type_, window=window,
                           windows=list(WINDOWS), flow=flow, dept=dept, traffic_chart=traffic, lag_chart=lag,
                           backlog_chart=backlog,
                           link=lambda **kw: f"/operator/flows/{department}?" + urlencode(
                               {k: v for k, v in {"type": type_, "window": window, **kw}.items() if v}))

    def page_dead_letters(self, ctx, result=None, status=200, args=None):
        if (gate := self.gate(ctx)) is not None:
            return gate
        args = ctx.request.args if args is None else args
        filters = self.filters_from(args)
        if "status" not in args:
            filters.setdefault("status", "open")
        elif filters.get("status") == "any":
            filters.pop("status")
        try:
            page = min(max(int(args.get("page", "1")), 1), 10_000)
        except ValueError:
            page = 1
        answer = ctx.monitor.dead_letters(filters, page, PAGE_SIZE)
        if not answer.get("ok"):
            return self.refusal(ctx, answer)
        total = answer.get("total", 0)
        query = {**filters}
        if "status" not in filters:
            query["status"] = "any"
        replays = ctx.monitor.replays(20)
        return self.render(
            ctx, "dead_letters.html", status=status, answer=answer, items=answer.get("items") or [], total=total,
            filters=filters, query=query, statuses=STATUSES, result=result, page=page,
            pages_total=max(1, -(-total // PAGE_SIZE)), replays=replays.get("value") or [] if replays.get("ok") else [],
            page_link=lambda p: "/operator/dead-letters?" + urlencode({**query, "page": p}),
            filter_json=json.dumps(filters, sort_keys=True))

    def page_dead_letter(self, ctx, dl_id, result=None, status=200, args=None):
        if (gate := self.gate(ctx, DETAIL_ROLES)) is not None:
            return gate
        if not DL_ID.match(dl_id):
            return self.error(ctx, 404, "error.not_found")
        args = ctx.request.args if args is None else args
        want_raw = args.get("raw") == "1"
        reason = args.get("reason", "")
        viewer = ctx.viewer
        if want_raw and reason not in RAW_REASONS:
            answer = ctx.monitor.dead_letter(dl_id, viewer, False)
            if not answer.get("ok"):
                return self.refusal(ctx, answer)
            return self.render(ctx, "dead_letter.html", answer=answer, dl=answer["dead_letter"], raw=False,
                               ask_reason=True, raw_reasons=RAW_REASONS, invalid_reason=bool(reason),
                               result=result, status=status)
        answer = ctx.monitor.dead_letter(dl_id, viewer, want_raw)
        if want_raw:
            # audited whether it was shown or refused; if the audit log cannot be written, nothing is shown
            self.app._write_audit(audit.entry(ctx.user, "dead_letter.view_raw", target_kind="dead_letter",
                                              target_id=dl_id, reason=reason, outcome=audit.outcome_of(answer),
                                              detail={"event_id": (answer.get("dead_letter") or {}).get("event_id")}))
        if not answer.get("ok"):
            return self.refusal(ctx, answer)
        return self.render(ctx, "dead_letter.html", status=status, answer=answer, dl=answer["dead_letter"],
                           raw=want_raw, reason=reason, ask_reason=False, raw_reasons=RAW_REASONS, result=result)

    def _selection(self, ctx):
        """(dl_ids, filters, back) from a replay/discard form: ticked ids, or 'all matching' a filter."""
        form = ctx.request.form
        back = form.get("back", "")
        back = back if back.startswith("/operator/dead-letters") and "//" not in back and "\n" not in back \
            else "/operator/dead-letters"
        ids = [i for i in form.getlist("dl_id") if DL_ID.match(i)][:500]
        filters = None
        if form.get("scope") == "matching":
            try:
                raw = json.loads(form.get("filters") or "{}")
            except ValueError:
                raw = {}
            filters = {k: str(v)[:120] for k, v in raw.items() if k in FILTERS and v} if isinstance(raw, dict) else {}
            filters = filters or None
            ids = []
        return ids, filters, back

    def _act(self, ctx, action):
        if ctx.user is None:
            return self.app.to_signin(ctx)
        if self.csrf_failed(ctx):
            return self.error(ctx, 403, "error.csrf")
        if (gate := self.gate(ctx)) is not None:
            return gate
        ids, filters, back = self._selection(ctx)
        if not ids and not filters:
            return self._after(ctx, back, {"ok": False, "error": {"code": "invalid", "field": "dl_id",
                                                                   "message": layered(ctx.t)("op.dl.choose")}}, 422)
        reason = ctx.request.form.get("reason", "").strip()[:500]
        if action == "replay":
            answer = ctx.monitor.replay(ctx.viewer, ids or None, filters)
        else:
            answer = ctx.monitor.discard(ctx.viewer, reason, ids or None, filters)
        target = ids[0] if len(ids) == 1 else ("filter:" + json.dumps(filters, sort_keys=True) if filters
                                               else f"{len(ids)} dead letters")
        self.app._write_audit(audit.entry(
            ctx.user, f"dead_letter.{action}", target_kind="dead_letter", target_id=target[:200],
            reason=reason or None, outcome=audit.outcome_of(answer),
            detail={"counts": answer.get("counts"), "dl_ids": ids[:50], "filters": filters,
                    "batch_id": answer.get("batch_id")}))
        return self._after(ctx, back, {**answer, "action": action},
                           200 if answer.get("ok") else ERROR_STATUS.get((answer.get("error") or {}).get("code"), 400))

    def _after(self, ctx, back, result, status):
        """Show the outcome on the page the form came from (no redirect: the result is this answer)."""
        path, _, query = back.partition("?")
        args = MultiDict(parse_qsl(query, keep_blank_values=False))
        match = re.match(r"^/operator/dead-letters/(dl-[0-9a-f]{24})$", path)
        if match:
            return self.page_dead_letter(ctx, match.group(1), result=result, status=status, args=args)
        return self.page_dead_letters(ctx, result=result, status=status, args=args)

    def page_replay(self, ctx):
        return self._act(ctx, "replay")

    def page_discard(self, ctx):
        return self._act(ctx, "discard")

    def page_users(self, ctx):
        if (gate := self.gate(ctx)) is not None:
            return gate
        done = ctx.request.args.get("done", "")
        return sessions_page.users_page(self, ctx, done=int(done) if done.isdigit() else None)

    def page_end_sessions(self, ctx, user_id):
        if (gate := self.gate(ctx)) is not None:
            return gate
        if self.csrf_failed(ctx):
            return self.error(ctx, 403, "error.csrf")
        return sessions_page.end_sessions(self, ctx, user_id)



class OperatorPages(DependencyProvider):
    """The console as a nameko dependency: built on the gateway app of the sibling provider named
    `staff` (the StaffPages the service declares), so both share sessions, users and the audit log."""

    def __init__(self, staff="pages", monitor_timeout_s=None):
        self.staff = staff
        self.monitor_timeout_s = monitor_timeout_s
        self.console = None

    def get_dependency(self, worker_ctx):
        if self.console is None:
            staff = next(d for d in self.container.dependencies if d.attr_name == self.staff)
            timeout = self.monitor_timeout_s or settings.float_env("GATEWAY_MONITOR_TIMEOUT_S", 10.0)
            self.console = OperatorConsole(staff.app, monitor_timeout_s=timeout)
        return self.console
