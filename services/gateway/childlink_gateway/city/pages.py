"""The city's pages, mounted under /city beside the staff pages and sharing their sign-in:

- /city                                 the 50 districts on a tile map, coloured by a chosen indicator
                                        against its target, with the table (executive)
- /city/districts/<code>                a district's 12-month trends, its centres and health centres
- /city/centres/<id>, /city/facilities/<code>   one centre's / health centre's figures
- the same with .csv: each table as CSV, without the cells hidden as "<5"

Figures come from the insights service; every view, and every refusal, is written to the audit log.
"""

import csv
import io
import re
import time
from urllib.parse import urlencode

from childlink_common import settings
from childlink_common.errors import StoreUnavailable
from childlink_common.logs import get_logger
from nameko.extensions import DependencyProvider
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from .. import audit, dates
from ..operations.i18n import layered
from . import access, districts
from .client import InsightsClient
from .tilemap import shown, status_of, tile_map

log = get_logger(__name__)
ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MONTH = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
DEFAULT_INDICATOR = "dspm_on_track_18"
ERROR_STATUS = {"forbidden": 403, "not_found": 404, "invalid": 422, "unavailable": 503, "timeout": 504, "error": 502}
SCOPE_OF_PATH = {"districts": "district", "centres": "centre", "facilities": "facility"}


def this_month():
    today = dates.today()  # Asia/Bangkok, the calendar the figures are kept in
    return f"{today.year:04d}-{today.month:02d}"


class CityConsole:
    def __init__(self, app, insights_timeout_s=10.0):
        self.app = app
        self.insights_timeout_s = insights_timeout_s
        self.url_map = Map([
            Rule("/city", endpoint="overview", methods=["GET"]),
            Rule("/city.csv", endpoint="overview_csv", methods=["GET"]),
            Rule("/city/<any(districts, centres, facilities):kind>/<scope_id>", endpoint="scope", methods=["GET"]),
            Rule("/city/<any(districts, centres, facilities):kind>/<scope_id>.csv", endpoint="scope_csv",
                 methods=["GET"]),
        ], strict_slashes=False)

    def handle(self, request, insights_proxy):
        app = self.app
        started = time.perf_counter()
        insights = InsightsClient(insights_proxy, self.insights_timeout_s)
        endpoint = "?"
        try:
            ctx = app.open_ctx(request)
            ctx.insights = insights
            ctx.t = layered(ctx.t, "childlink_gateway.city")
            try:
                endpoint, values = self.url_map.bind_to_environ(request.environ).match()
                response = getattr(self, f"page_{endpoint}")(ctx, **values)
            except MethodNotAllowed:
                response = app.error_page(ctx, 405, "error.method")
            except NotFound:
                response = app.error_page(ctx, 404, "error.not_found")
            except HTTPException as exc:
                response = app.error_page(ctx, exc.code or 400, "error.bad_request")
            if ctx.session_changed:
                app.sessions.set_cookie(response, ctx.session)
        except StoreUnavailable as exc:
            log.error("gateway.store_unavailable", error=str(exc))
            response = app._bare_error(503, "store unavailable: try again shortly")
        except Exception:
            log.exception("gateway.city_page_failed", endpoint=endpoint)
            response = app._bare_error(500, "something went wrong; it has been logged")
        total_ms = (time.perf_counter() - started) * 1000
        response.headers["Server-Timing"] = (f"total;dur={total_ms:.1f}, rpc;dur={insights.spent_s * 1000:.1f}")
        app._secure_headers(response, endpoint)
        log.info("gateway.request", endpoint=f"city.{endpoint}", method=request.method,
                 status=response.status_code, ms=round(total_ms, 1))
        return response

    # --- helpers --------------------------------------------------------------------------------------

    def _gate(self, ctx, scope, scope_id, district_of=None):
        """None when the user may see this scope; else the response, the refusal audited."""
        if ctx.user is None:
            return self.app.to_signin(ctx)
        if ctx.user["role"] not in access.CITY_ROLES or not access.may_see(ctx.user, scope, scope_id, district_of):
            self.app._write_audit(audit.entry(ctx.user, "city.view", target_kind=scope, target_id=scope_id,
                                              outcome="refused:role"))
            return self.app.error_page(ctx, 403, "city.error.not_yours")
        return None

    def _month(self, ctx):
        month = ctx.request.args.get("month", "")
        return month if MONTH.match(month) else this_month()

    def _definitions(self, ctx):
        answer = ctx.insights.definitions()
        return {d["id"]: d for d in answer["value"]} if answer.get("ok") else None

    def _refusal(self, ctx, answer):
        error = answer.get("error") or {}
        status = ERROR_STATUS.get(error.get("code"), 502)
        return self.app.render(ctx, "city/unavailable.html", status=status, error=error)

    def _label(self, ctx, definition):
        return definition["th"] if ctx.session["lang"] == "th" else definition["en"]

    @staticmethod
    def _month_label(ctx):
        return lambda month, short=False: month_label(month, ctx.session["lang"], ctx.session["era"], short)

    def _audit(self, ctx, scope, scope_id, detail):
        self.app._write_audit(audit.entry(ctx.user, "city.view", target_kind=scope, target_id=scope_id,
                                          outcome="allowed", detail=detail))

    # --- the city -------------------------------------------------------------------------------------

    def _overview(self, ctx):
        if (gate := self._gate(ctx, "city", "BKK")) is not None:
            return gate, None
        definitions = self._definitions(ctx)
        if definitions is None:
            return self._refusal(ctx, ctx.insights.definitions()), None
        indicator = ctx.request.args.get("indicator", DEFAULT_INDICATOR)
        indicator = indicator if indicator in definitions else DEFAULT_INDICATOR
        month = self._month(ctx)
        answer = ctx.insights.overview(indicator, month)
        if not answer.get("ok"):
            return self._refusal(ctx, answer), None
        self._audit(ctx, "city", "BKK", {"indicator": indicator, "month": month})
        return None, (definitions, indicator, month, answer["value"])

    def page_overview(self, ctx):
        if ctx.user is not None and ctx.user["role"] in ("district_officer", "centre_head"):
            return redirect(access.home_of(ctx.user), 303)
        refused, found = self._overview(ctx)
        if refused is not None:
            return refused
        definitions, indicator, month, view = found
        lang = ctx.session["lang"]
        definition = definitions[indicator]
        rows = sorted(((code, districts.name(code, lang), view["districts"].get(code))
                       for code in districts.districts()), key=lambda r: r[1])
        query = {"indicator": indicator, "month": month}
        return self.app.render(
            ctx, "city/overview.html", definitions=definitions, indicator=indicator, definition=definition,
            label=self._label(ctx, definition), month=month, view=view, rows=rows, shown=shown,
            status_of=status_of, month_choices=_recent_months(month),
            tile_map=tile_map(view["districts"], ctx.t, lang, definition["rate"],
                              lambda code: f"/city/districts/{code}?" + urlencode({"month": month})),
            csv_link="/city.csv?" + urlencode(query), month_label=self._month_label(ctx))

    def page_overview_csv(self, ctx):
        refused, found = self._overview(ctx)
        if refused is not None:
            return refused
        _, indicator, month, view = found
        lines = [("district_code", "district_th", "district_en", "indicator", "month", "numerator", "denominator",
                  "value", "target", "meets_target")]
        for code, row in districts.districts().items():
            cell = view["districts"].get(code)
            if cell is None or cell.get("suppressed"):
                continue  # "<5" cells are left out of downloads (PDPA)
            lines.append((code, row["name_th"], row["name_en"], indicator, month, cell["numerator"],
                          cell["denominator"], cell["value"], view["target"], cell["meets"]))
        return _csv(lines, f"childlink-city-{indicator}-{month}.csv")

    # --- a district, a centre, a health centre --------------------------------------------------------

    def _scope(self, ctx, kind, scope_id):
        scope = SCOPE_OF_PATH[kind]
        if not ID.match(scope_id) or (scope == "district" and not districts.is_district(scope_id)):
            return self.app.error_page(ctx, 404, "error.not_found"), None
        month = self._month(ctx)
        district_of = ctx.request.args.get("district") if scope != "district" else None
        if ctx.user is not None and ctx.user["role"] == "district_officer" and scope != "district":
            # a district officer may open the centres and health centres the insights service places in it
            answer = ctx.insights.members(ctx.user.get("district") or "", "centre" if scope == "centre" else "facility")
            district_of = ctx.user.get("district") if answer.get("ok") and scope_id in answer["value"] else None
        if (gate := self._gate(ctx, scope, scope_id, district_of)) is not None:
            return gate, None
        definitions = self._definitions(ctx)
        answer = ctx.insights.scope_page(scope, scope_id, month)
        if definitions is None or not answer.get("ok"):
            return self._refusal(ctx, answer), None
        self._audit(ctx, scope, scope_id, {"month": month})
        return None, (scope, month, definitions, answer["value"])

    def page_scope(self, ctx, kind, scope_id):
        refused, found = self._scope(ctx, kind, scope_id)
        if refused is not None:
            return refused
        scope, month, definitions, page = found
        lang = ctx.session["lang"]
        centres = facilities = []
        if scope == "district":
            centres = (ctx.insights.members(scope_id, "centre").get("value") or [])
            facilities = (ctx.insights.members(scope_id, "facility").get("value") or [])
        title = districts.name(scope_id, lang) if scope == "district" else scope_id
        rows = [(definitions[r["indicator"]], r) for r in page["indicators"] if r["indicator"] in definitions]
        if scope == "centre":
            rows = [(d, r) for d, r in rows if d["id"].startswith(("centre", "centres"))]
        return self.app.render(
            ctx, "city/scope.html", scope=scope, scope_id=scope_id, title=title, month=month, page=page,
            rows=rows, label=lambda d: self._label(ctx, d), shown=shown, status_of=status_of, centres=centres,
            facilities=facilities, months=[m for m, _ in next((r["trend"] for _, r in rows if "trend" in r), [])],
            csv_link=f"/city/{kind}/{scope_id}.csv?" + urlencode({"month": month}),
            month_choices=_recent_months(month), kind=kind, month_label=self._month_label(ctx))

    def page_scope_csv(self, ctx, kind, scope_id):
        refused, found = self._scope(ctx, kind, scope_id)
        if refused is not None:
            return refused
        scope, month, definitions, page = found
        lines = [("scope", "scope_id", "indicator", "indicator_th", "indicator_en", "month", "numerator",
                  "denominator", "value", "target")]
        for row in page["indicators"]:
            definition = definitions.get(row["indicator"], {})
            points = row.get("trend") or [("*", row.get("snapshot"))]
            for point_month, cell in points:
                if cell is None or cell.get("suppressed") or cell.get("numerator") in (None, 0) and not cell.get(
                        "denominator"):
                    continue
                lines.append((scope, scope_id, row["indicator"], definition.get("th"), definition.get("en"),
                              point_month, cell["numerator"], cell["denominator"], cell["value"],
                              definition.get("target")))
        return _csv(lines, f"childlink-{scope}-{scope_id}-{month}.csv")


def month_label(month, lang, era, short=False):
    """'ต.ค. 2567' / 'Oct 2024' (short: 'ต.ค. 67' / 'Oct 24'): the viewer's era, as every date on the pages."""
    year, number = (int(part) for part in month.split("-"))
    names = dates.MONTHS.get(lang, dates.MONTHS["en"])
    year_shown = dates.year_text(year, lang, era)
    if short:
        year_shown = str(year + dates.BE_OFFSET if era == "be" else year)[-2:]
    return f"{names[number - 1]} {year_shown}"


def _recent_months(month, count=24):
    """`count` month keys back from `month`, newest first."""
    year, number = (int(part) for part in (month if MONTH.match(month) else this_month()).split("-"))
    index = year * 12 + number - 1
    return [f"{(index - n) // 12:04d}-{(index - n) % 12 + 1:02d}" for n in range(count)]


def _csv(lines, filename):
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(lines)
    response = Response("\ufeff" + out.getvalue(), mimetype="text/csv")  # the BOM lets Excel read the Thai
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class CityPages(DependencyProvider):
    """The city pages as a nameko dependency, built on the gateway app of the sibling provider `staff`."""

    def __init__(self, staff="pages"):
        self.staff = staff
        self.console = None

    def get_dependency(self, worker_ctx):
        if self.console is None:
            staff = next(d for d in self.container.dependencies if d.attr_name == self.staff)
            self.console = CityConsole(staff.app, settings.float_env("GATEWAY_INSIGHTS_TIMEOUT_S", 10.0))
        return self.console
