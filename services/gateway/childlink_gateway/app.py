"""The staff web pages as a plain request -> response function over werkzeug: no nameko in here.

`GatewayApp.handle(request, referral)` is all the nameko service calls; tests call it with a fake
referral service. Every page is rendered on the server from one Jinja2 template; forms are plain HTML
posts protected by a CSRF token kept in the signed session cookie.
"""

import functools
import hashlib
import math
import time
from importlib import resources
from urllib.parse import urlencode

import jinja2
from childlink_common.errors import StoreUnavailable
from childlink_common.logs import get_logger
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from . import audit, charts, child_search_page, dates, pages, referral_words, roles
from .districts import district_name
from .i18n import LANGUAGES, Translator
from .referral_client import ReferralClient
from .security import COOKIE_NAME, ERAS, LoginThrottle, csrf_ok, safe_next
from .signin_throttle import client_address

log = get_logger(__name__)

CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
ERROR_STATUS = {"forbidden": 403, "not_found": 404, "invalid": 422, "conflict": 409, "not_allowed": 409,
                "merged": 409, "unavailable": 503, "timeout": 504, "error": 502}
MAX_FORM_BYTES = 16 * 1024


def short_id(value, keep=10):
    """'r-188803f8-19eb-…' as 'r-188803f8…': enough to tell rows apart; the full id is in the title."""
    value = str(value or "")
    return value if len(value) <= keep + 2 else value[:keep] + "…"


@functools.cache
def templates():
    """One Jinja2 environment per process: templates compile once, on first use."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("childlink_gateway", "templates"),
        autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.ChainableUndefined,
    )


class Ctx:
    """One request: the session (changed or not), the signed-in user, the language, the referral client."""

    def __init__(self, app, request, session, user, referral):
        self.app, self.request, self.session, self.user, self.referral = app, request, session, user, referral
        self.session_changed = False
        self.t = Translator(session["lang"])
        self.endpoint, self.values = None, {}

    def set_session(self, session):
        self.session = session
        self.session_changed = True
        self.t = Translator(session["lang"])

    @property
    def viewer(self):
        return roles.viewer_of(self.user)


class GatewayApp:
    def __init__(self, store, sessions, passwords, *, throttle=None, referral_timeout_s=10.0, proxy_hops=0,
                 assertion_key=None):
        self.store, self.sessions, self.passwords = store, sessions.using(store), passwords
        self.throttle = (throttle or LoginThrottle()).using(store)  # sessions and throttle: in the store
        self.proxy_hops = proxy_hops
        self.assertion_key = assertion_key  # signs the user on identity calls (referral_client)
        self.referral_timeout_s = referral_timeout_s
        self.env = templates()
        self.css = (resources.files("childlink_gateway") / "static" / "app.css").read_bytes()
        self.css_version = hashlib.sha256(self.css).hexdigest()[:12]
        self.favicon = (resources.files("childlink_gateway") / "static" / "favicon.svg").read_bytes()
        self.url_map = Map([
            Rule("/", endpoint="home", methods=["GET"]),
            Rule("/signin", endpoint="signin", methods=["GET", "POST"]),
            Rule("/signout", endpoint="signout", methods=["POST"]),
            Rule("/prefs", endpoint="prefs", methods=["POST"]),
            Rule("/referrals", endpoint="inbox", methods=["GET"]),
            Rule("/referrals/<referral_id>", endpoint="referral", methods=["GET"]),
            Rule("/referrals/<referral_id>/act", endpoint="act", methods=["POST"]),
            Rule("/children/search", endpoint="child_search", methods=["GET", "POST"]),
            Rule("/children/<child_id>", endpoint="child", methods=["GET"]),
            Rule("/identity/reviews", endpoint="identity_reviews", methods=["GET"]),
            Rule("/identity/reviews/<review_id>", endpoint="identity_review", methods=["GET"]),
            Rule("/identity/reviews/<review_id>/decide", endpoint="identity_decide", methods=["POST"]),
            Rule("/identity/merges/<merge_id>/undo", endpoint="identity_undo", methods=["POST"]),
            Rule("/audit", endpoint="audit_log", methods=["GET"]),
            Rule("/static/app.css", endpoint="css", methods=["GET"]),
            Rule("/favicon.ico", endpoint="favicon", methods=["GET"]),
        ], strict_slashes=False)

    # --- the one entry point ------------------------------------------------------------------------

    def handle(self, request, referral_proxy):
        referral = ReferralClient(referral_proxy, self.referral_timeout_s)
        referral.assertion_key = self.assertion_key
        return self.serve(request, self.url_map, self, referral, name="", referral=referral)

    def serve(self, request, url_map, pages, client, name, referral=None, prepare=None, error=None):
        """The one request wrapper of the staff, operator and city pages: session and user, the endpoint's
        page on `pages` (`page_<endpoint>`), errors as pages in the viewer's language, the session cookie,
        timing (`client.spent_s`: the RPC the page waited for), secure headers, one log line."""
        started = time.perf_counter()
        error = error or self.error_page
        endpoint = "?"
        try:
            ctx = self.open_ctx(request, referral)
            if prepare is not None:
                prepare(ctx)
            try:
                endpoint, values = url_map.bind_to_environ(request.environ).match()
                ctx.endpoint, ctx.values = endpoint, values
                response = getattr(pages, f"page_{endpoint}")(ctx, **values)
            except MethodNotAllowed:
                response = error(ctx, 405, "error.method")
            except NotFound:
                response = error(ctx, 404, "error.not_found")
            except HTTPException as exc:
                response = error(ctx, exc.code or 400, "error.bad_request")
            if ctx.session_changed:
                self.sessions.set_cookie(response, ctx.session)
        except StoreUnavailable as exc:
            log.error("gateway.store_unavailable", error=str(exc))
            response = self._bare_error(503, request, "unavailable")
        except Exception:
            log.exception("gateway.page_failed", endpoint=f"{name}{endpoint}")
            response = self._bare_error(500, request, "failed")
        total_ms = (time.perf_counter() - started) * 1000
        rpc_ms = client.spent_s * 1000
        response.headers["Server-Timing"] = (f"total;dur={total_ms:.1f}, rpc;dur={rpc_ms:.1f}, "
                                             f"render;dur={total_ms - rpc_ms:.1f}")
        self._secure_headers(response, endpoint)
        log.info("gateway.request", endpoint=f"{name}{endpoint}", method=request.method,
                 status=response.status_code, ms=round(total_ms, 1), rpc_ms=round(rpc_ms, 1))
        return response

    def open_ctx(self, request, referral=None):
        """The request's context: its session from the store (a fresh one when it has none, or its session
        ended), the signed-in user, the language. The staff, operator and city pages all start here."""
        session = self.sessions.load(request.cookies.get(COOKIE_NAME))
        fresh = session is None
        session = session or self.sessions.fresh()
        user = self._user(session)
        ctx = Ctx(self, request, session, user, referral)
        if fresh or session.pop("ended", False) or (session.get("uid") and user is None):
            ctx.set_session(self.sessions.sign_out(session) if session.get("uid") else session)
        return ctx

    def _user(self, session):
        user_id = session.get("uid")
        if not user_id:
            return None
        user = self.store.user_by_id(user_id)
        if user is None or not user.get("active", True):
            return None
        return user

    @staticmethod
    def _secure_headers(response, endpoint):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        if endpoint not in ("css", "favicon"):
            response.headers["Cache-Control"] = "no-store"

    def _bare_error(self, status, request, reason):
        """A page that needs nothing that may have failed (no store, no template): in the language the
        session cookie chose, else the browser's first choice, else Thai."""
        wanted = (self.sessions.language_in(request.cookies.get(COOKIE_NAME))
                  or request.accept_languages.best_match(LANGUAGES, default="th"))
        t = Translator(wanted)
        return Response(f"<!doctype html><html lang={t.lang}><meta charset=utf-8><title>{status}</title>"
                        f"<p>{t(f'error.bare.{reason}')}</p></html>", status=status, mimetype="text/html")

    # --- rendering ----------------------------------------------------------------------------------

    def render(self, ctx, template, status=200, here=None, **values):
        lang, era = ctx.session["lang"], ctx.session["era"]
        request = ctx.request
        here = here or (request.full_path.rstrip("?") if request.method == "GET" else request.path)
        html = self.env.get_template(template).render(
            _=ctx.t, t=ctx.t, lang=lang, era=era, user=ctx.user, csrf=ctx.session["csrf"],
            here=here or "/", css_version=self.css_version, roles=roles, short=short_id,
            d=lambda v: dates.format_date(v, lang, era), dt=lambda v: dates.format_datetime(v, lang, era),
            words=referral_words, district=lambda code: district_name(code, lang),
            age_of=lambda birth: dates.age_text(dates.age_in_months(birth, dates.today()), lang),
            why=lambda reason: pages.reason_text(ctx.t, reason), **values)
        return Response(html, status=status, mimetype="text/html")

    def error_page(self, ctx, status, message_key, detail=None, **params):
        return self.render(ctx, "error.html", status=status, status_code=status,
                           message=ctx.t(message_key, **params), detail=detail)

    def refusal_page(self, ctx, answer, here=None):
        error = answer.get("error") or {}
        code = error.get("code", "error")
        status = ERROR_STATUS.get(code, 400)
        return self.render(ctx, "error.html", status=status, here=here, status_code=status,
                           message=ctx.t.maybe("refusal", code), detail=error.get("message"), code=code)

    def to_signin(self, ctx):
        return redirect("/signin?" + urlencode({"next": ctx.request.full_path.rstrip("?")}), 303)

    def _form(self, ctx):
        if ctx.request.content_length and ctx.request.content_length > MAX_FORM_BYTES:
            return None
        return ctx.request.form

    def _csrf_failed(self, ctx):
        form = self._form(ctx)
        return form is None or not csrf_ok(ctx.session, form.get("csrf_token"))

    def _write_audit(self, record):
        self.store.append_audit(record)

    # --- pages --------------------------------------------------------------------------------------

    def page_css(self, ctx):
        response = Response(self.css, mimetype="text/css")
        response.headers["Cache-Control"] = "public, max-age=86400"
        response.set_etag(self.css_version)
        return response.make_conditional(ctx.request)

    def page_favicon(self, ctx):
        """Browsers ask for /favicon.ico on every site; an SVG answers it (every current browser draws one)."""
        response = Response(self.favicon, mimetype="image/svg+xml")
        response.headers["Cache-Control"] = "public, max-age=86400"
        return response

    def page_home(self, ctx):
        if ctx.user is None:
            return redirect("/signin", 303)
        if roles.reads_audit(ctx.user):
            return redirect("/audit", 303)
        if ctx.user["role"] in ("executive", "centre_head"):
            return redirect("/city", 303)  # the city's figures are all these roles see
        if not roles.sees_child_data(ctx.user):
            return self.render(ctx, "no_child_data.html")
        if roles.reviews_identity(ctx.user):
            return redirect("/identity/reviews", 303)
        return redirect("/referrals", 303)

    def page_signin(self, ctx):
        next_path = safe_next(ctx.request.values.get("next"), "/")
        if ctx.request.method == "GET":
            if ctx.user is not None:
                return redirect(next_path, 303)
            ctx.session_changed = True  # the anonymous session carries the CSRF token the form needs
            return self.render(ctx, "signin.html", next_path=next_path)
        if self._csrf_failed(ctx):
            return self.error_page(ctx, 403, "error.csrf")
        form = ctx.request.form
        username = form.get("username", "").strip()[:80]
        password = form.get("password", "")[:200]
        if not username or not password:
            return self.render(ctx, "signin.html", status=400, next_path=next_path, username=username,
                               error=ctx.t("signin.missing"))
        address = client_address(ctx.request, self.proxy_hops)
        if (wait_s := self.throttle.wait_s(username, address)) > 0:
            self._write_audit(audit.entry({"username": username}, "signin", outcome="refused:throttled",
                                          detail={"retry_after_s": round(wait_s, 1)}))
            response = self.render(ctx, "signin.html", status=429, next_path=next_path, username=username,
                                   error=ctx.t("signin.throttled"))
            response.headers["Retry-After"] = str(max(1, math.ceil(wait_s)))
            return response
        user = self.store.user_by_username(username)
        ok = self.passwords.verify(user["password_hash"] if user else None, password)
        if not ok or not user.get("active", True):
            self.throttle.failed(username, address)
            self._write_audit(audit.entry({"username": username, "user_id": user and user["user_id"]}, "signin",
                                          outcome="refused:bad_credentials"))
            return self.render(ctx, "signin.html", status=401, next_path=next_path, username=username,
                               error=ctx.t("signin.failed"))
        self.throttle.succeeded(username, address)
        if self.passwords.needs_rehash(user["password_hash"]):
            self.store.set_password_hash(user["user_id"], self.passwords.hash(password))
        self._write_audit(audit.entry(user, "signin"))
        ctx.set_session(self.sessions.sign_in(ctx.session, user["user_id"]))
        ctx.user = user
        if next_path == "/" or next_path.startswith("/signin"):
            next_path = "/"
        return redirect(next_path, 303)

    def page_signout(self, ctx):
        if self._csrf_failed(ctx):
            return self.error_page(ctx, 403, "error.csrf")
        if ctx.user is not None:
            self._write_audit(audit.entry(ctx.user, "signout"))
        ctx.set_session(self.sessions.sign_out(ctx.session))
        return redirect("/signin", 303)

    def page_prefs(self, ctx):
        if self._csrf_failed(ctx):
            return self.error_page(ctx, 403, "error.csrf")
        form = ctx.request.form
        session = dict(ctx.session)
        if form.get("lang") in LANGUAGES:
            session["lang"] = form["lang"]
        if form.get("era") in ERAS:
            session["era"] = form["era"]
        ctx.set_session(session)
        return redirect(safe_next(form.get("next"), "/"), 303)

    def _child_data_gate(self, ctx):
        """None when the user may go on; else the response (sign-in, or refused before any call)."""
        if ctx.user is None:
            return self.to_signin(ctx)
        if not roles.sees_child_data(ctx.user):
            self._write_audit(audit.refusal(ctx.user, ctx.endpoint, ctx.values, "role"))
            return self.error_page(ctx, 403, "error.no_child_data")
        return None

    def _registrar_gate(self, ctx):
        """None when the user may use the identity pages; else the response, before any call."""
        if ctx.user is None:
            return self.to_signin(ctx)
        if not roles.reviews_identity(ctx.user):
            self._write_audit(audit.refusal(ctx.user, ctx.endpoint, ctx.values, "role"))
            return self.error_page(ctx, 403, "error.registrar_only")
        return None

    def _form_gate(self, ctx, role_gate, object_id):
        """None when a form post on `object_id` may go on (signed in, CSRF token, `role_gate`, a well-formed
        id); else the response, before any call."""
        if ctx.user is None:
            return self.to_signin(ctx)
        if self._csrf_failed(ctx):
            return self.error_page(ctx, 403, "error.csrf")
        if (gate := role_gate(ctx)) is not None:
            return gate
        if not pages.valid_id(object_id):
            return self.error_page(ctx, 404, "error.not_found")
        return None

    @staticmethod
    def _expected_version(form):
        try:
            return int(form.get("expected_version", ""))
        except ValueError:
            return None

    def page_inbox(self, ctx):
        if (gate := self._child_data_gate(ctx)) is not None:
            return gate
        query = pages.inbox_query(ctx.request.args)
        answer = ctx.referral.list_referrals(ctx.viewer, query.filters(), query.page, pages.PAGE_SIZE)
        items = answer.get("items", []) if answer.get("ok") else []
        self._write_audit(audit.entry(ctx.user, "referrals.list", target_kind="inbox", outcome=audit.outcome_of(answer),
                                      detail={"page": query.page, "shown": len(items),
                                              "referral_ids": [str(i.get("referral_id"))[:64] for i in items][:50]}))
        total = answer.get("total", len(items)) if answer.get("ok") else 0
        return self.render(ctx, "inbox.html", status=200 if answer.get("ok") else ERROR_STATUS.get(
            answer["error"].get("code"), 502), query=query, answer=answer, items=items, total=total,
            pages_total=pages.page_count(total), statuses=pages.STATUSES, reasons=pages.REASONS,
            departments=pages.DEPARTMENTS,
            page_link=lambda p: "/referrals?" + query.query_string(p))

    def _referral_page(self, ctx, referral_id, status=200, error=None, done=None):
        answer = ctx.referral.get_referral(ctx.viewer, referral_id)
        # Audited before anything is shown, like a child page view (the referral names the child).
        self._write_audit(audit.entry(ctx.user, "referral.view", target_kind="referral", target_id=referral_id,
                                      outcome=audit.outcome_of(answer),
                                      detail={"child_id": (answer.get("referral") or {}).get("child_id")}))
        if not answer.get("ok"):
            if error is not None:  # the action failed and now the referral cannot be read: show both
                answer = {"ok": False, "error": error}
            return self.refusal_page(ctx, answer, here=f"/referrals/{referral_id}")
        referral = answer["referral"]
        return self.render(ctx, "referral.html", status=status, here=f"/referrals/{referral_id}",
                           referral=referral, error=error, done=done,
                           actions=roles.likely_actions(ctx.user, referral), outcomes=pages.OUTCOME_CHOICES,
                           access_reasons=pages.ACCESS_REASONS, today=dates.today().isoformat())

    def page_referral(self, ctx, referral_id):
        if (gate := self._child_data_gate(ctx)) is not None:
            return gate
        if not pages.valid_id(referral_id):
            return self.error_page(ctx, 404, "error.not_found")
        done = ctx.request.args.get("done")
        return self._referral_page(ctx, referral_id, done=done if done in roles.ACTIONS else None)

    def page_act(self, ctx, referral_id):
        if (refused := self._form_gate(ctx, self._child_data_gate, referral_id)) is not None:
            return refused
        form = ctx.request.form
        action = form.get("action", "")
        if action not in roles.ACTIONS:
            return self.error_page(ctx, 400, "error.bad_request")
        fields = {name: form.get(name, "").strip()[:1000] for name in ("reason", "scheduled_for", "outcome", "notes")
                  if form.get(name, "").strip()}
        expected_version = self._expected_version(form)
        answer = ctx.referral.act_on_referral(ctx.viewer, referral_id, action, fields, expected_version)
        referral = answer.get("referral") or {}
        self._write_audit(audit.entry(
            ctx.user, f"referral.{action}", target_kind="referral", target_id=referral_id,
            reason=fields.get("reason") or fields.get("outcome"), outcome=audit.outcome_of(answer),
            detail={"expected_version": expected_version, "status": referral.get("status"),
                    "child_id": referral.get("child_id"), "scheduled_for": fields.get("scheduled_for")}))
        if answer.get("ok"):
            return redirect(f"/referrals/{referral_id}?done={action}", 303)
        error = answer["error"]
        return self._referral_page(ctx, referral_id, status=ERROR_STATUS.get(error.get("code"), 400), error=error)

    def page_child_search(self, ctx):
        return child_search_page.handle(self, ctx)

    def page_child(self, ctx, child_id):
        if ctx.user is None:
            return self.to_signin(ctx)
        if not roles.sees_child_data(ctx.user):
            self._write_audit(audit.refusal(ctx.user, ctx.endpoint, ctx.values, "role",
                                            reason=ctx.request.args.get("reason", "")[:40] or None))
            return self.error_page(ctx, 403, "error.no_child_data")
        if not pages.valid_id(child_id):
            return self.error_page(ctx, 404, "error.not_found")
        args = ctx.request.args
        reason = args.get("reason", "")
        if reason not in pages.ACCESS_REASONS:
            return self.render(ctx, "child_reason.html", child_id=child_id, access_reasons=pages.ACCESS_REASONS,
                               invalid=bool(reason))
        merged_from = args.get("merged_from", "")
        separated = args.get("separated", "")
        return self._child_view(ctx, child_id, reason,
                                merged_from=merged_from if pages.valid_id(merged_from) else None,
                                done="unlinked" if args.get("done") == "unlinked" else None,
                                separated=separated if pages.valid_id(separated) else None)

    def _child_view(self, ctx, child_id, reason, status=200, merged_from=None, done=None, separated=None,
                    undo_error=None):
        answer = ctx.referral.child_page(ctx.viewer, child_id)
        # Audited before anything is shown; if the audit log cannot be written, nothing is shown.
        self._write_audit(audit.entry(ctx.user, "child.view", target_kind="child", target_id=child_id,
                                      reason=reason, outcome=audit.outcome_of(answer)))
        if not answer.get("ok"):
            error = answer["error"]
            into = error.get("field")
            if error.get("code") == "merged" and pages.valid_id(into) and into != child_id:
                # the child was linked into another: that one is the child now (its page says so)
                return redirect(f"/children/{into}?" + urlencode({"reason": reason, "merged_from": child_id}), 303)
            if undo_error is not None:  # the undo failed and now the child cannot be read: show both
                answer = {"ok": False, "error": undo_error}
            return self.refusal_page(ctx, answer, here=f"/children/{child_id}?reason={reason}")
        merges = None
        if roles.reviews_identity(ctx.user):
            merges = ctx.referral.merges_of_child(ctx.viewer, child_id)
        child = answer.get("child") or {}
        profile = child.get("profile") or {}
        birth_date = profile.get("birth_date")
        series = charts.normalise(child.get("growth"), birth_date)
        chart_svgs = [(indicator, charts.render(one, ctx.t, ctx.t(f"chart.{indicator}")), one)
                      for indicator, one in series.items()]
        timeline = pages.newest_first(child.get("timeline") or [])
        return self.render(
            ctx, "child.html", status=status, here=f"/children/{child_id}?reason={reason}",
            child_id=child_id, child=child, profile=profile, reason=reason,
            consent=child.get("consent") or {"shared": True},
            age=dates.age_text(dates.age_in_months(birth_date, dates.today()), ctx.session["lang"]),
            national_id=pages.mask_national_id(profile.get("national_id")),
            timeline=timeline, summary=pages.timeline_summary, charts=chart_svgs,
            growth_rows=charts.measurement_table(child.get("growth")), growth_indicators=charts.TABLE_INDICATORS,
            dspm=pages.dspm_grid(child.get("dspm")), doses=pages.immunisation_rows(child.get("immunisations")),
            referrals=child.get("referrals") or [], merges=merges, merged_from=merged_from, done=done,
            separated=separated, undo_error=undo_error, score=pages.weight_text)

    # --- identity reviews (registrar) -----------------------------------------------------------------

    def page_identity_reviews(self, ctx):
        if (gate := self._registrar_gate(ctx)) is not None:
            return gate
        query = pages.review_query(ctx.request.args)
        answer = ctx.referral.list_identity_reviews(ctx.viewer, query.status_filter(), query.page, pages.PAGE_SIZE)
        items = answer.get("items", []) if answer.get("ok") else []
        total = answer.get("total", len(items)) if answer.get("ok") else 0
        return self.render(ctx, "identity_reviews.html", status=200 if answer.get("ok") else ERROR_STATUS.get(
            answer["error"].get("code"), 502), query=query, answer=answer, items=items, total=total,
            pages_total=pages.page_count(total), filters=pages.REVIEW_FILTERS,
            score=pages.weight_text, probability=pages.probability_text,
            page_link=lambda p: "/identity/reviews?" + query.query_string(p))

    def _review_page(self, ctx, review_id, status=200, error=None, done=None, typed=None):
        answer = ctx.referral.get_identity_review(ctx.viewer, review_id)
        # Both children's names, birth dates and guardians are on this page: audited like a child page view.
        self._write_audit(audit.entry(ctx.user, "identity.view", target_kind="identity_review", target_id=review_id,
                                      outcome=audit.outcome_of(answer)))
        here = f"/identity/reviews/{review_id}"
        if not answer.get("ok"):
            if error is not None:  # the decision failed and now the review cannot be read: show both
                answer = {"ok": False, "error": error}
            return self.refusal_page(ctx, answer, here=here)
        review = answer.get("review") or {}
        outcome = review.get("outcome") if isinstance(review.get("outcome"), dict) else {}
        child, candidate = answer.get("child") or {}, answer.get("candidate") or {}
        return self.render(
            ctx, "identity_review.html", status=status, here=here, review=review, outcome=outcome,
            child=child, candidate=candidate, sides=(("child", child, pages.identity_records(child)),
                                                     ("candidate", candidate, pages.identity_records(candidate))),
            comparison=pages.comparison_rows(outcome), error=error, done=done, typed=typed or {},
            score=pages.weight_text, probability=pages.probability_text)

    def page_identity_review(self, ctx, review_id):
        if (gate := self._registrar_gate(ctx)) is not None:
            return gate
        if not pages.valid_id(review_id):
            return self.error_page(ctx, 404, "error.not_found")
        done = ctx.request.args.get("done")
        return self._review_page(ctx, review_id, done=done if done in roles.DECISIONS else None)

    def page_identity_decide(self, ctx, review_id):
        if (refused := self._form_gate(ctx, self._registrar_gate, review_id)) is not None:
            return refused
        form = ctx.request.form
        decision = form.get("decision", "")
        if decision not in roles.DECISIONS:
            return self.error_page(ctx, 400, "error.bad_request")
        reason = form.get("reason", "").strip()[:1000] or None
        expected_version = self._expected_version(form)
        answer = ctx.referral.decide_identity_review(ctx.viewer, review_id, decision, reason, expected_version)
        review = answer.get("review") or {}
        self._write_audit(audit.entry(
            ctx.user, f"identity.{decision}", target_kind="identity_review", target_id=review_id, reason=reason,
            outcome=audit.outcome_of(answer),
            detail={"expected_version": expected_version, "status": review.get("status"),
                    "child_id": review.get("child_id"), "candidate_id": review.get("candidate_id"),
                    "merge_id": review.get("merge_id")}))
        if answer.get("ok"):
            return redirect(f"/identity/reviews/{review_id}?done={decision}", 303)
        error = answer["error"]
        return self._review_page(ctx, review_id, status=ERROR_STATUS.get(error.get("code"), 400), error=error,
                                 typed={"decision": decision, "reason": reason or ""})

    def page_identity_undo(self, ctx, merge_id):
        if (refused := self._form_gate(ctx, self._registrar_gate, merge_id)) is not None:
            return refused
        form = ctx.request.form
        reason = form.get("reason", "").strip()[:1000] or None
        expected_version = self._expected_version(form)
        child_id = form.get("child_id", "")
        child_id = child_id if pages.valid_id(child_id) else None  # the page the form was on
        access = form.get("access_reason", "")
        access = access if access in pages.ACCESS_REASONS else "care"
        answer = ctx.referral.undo_merge(ctx.viewer, merge_id, reason, expected_version)
        merge = answer.get("merge") or {}
        self._write_audit(audit.entry(
            ctx.user, "identity.unlink", target_kind="merge", target_id=merge_id, reason=reason,
            outcome=audit.outcome_of(answer),
            detail={"expected_version": expected_version, "status": merge.get("status"),
                    "kept_id": merge.get("kept_id"), "merged_id": merge.get("merged_id"),
                    "review_id": merge.get("review_id"), "child_id": child_id}))
        if answer.get("ok"):
            back = child_id or merge.get("kept_id")
            if not pages.valid_id(back):
                return redirect("/identity/reviews", 303)
            query = {"reason": access, "done": "unlinked"}
            if pages.valid_id(merge.get("merged_id")):
                query["separated"] = merge["merged_id"]
            return redirect(f"/children/{back}?" + urlencode(query), 303)
        error = answer["error"]
        if child_id is None:
            return self.refusal_page(ctx, answer, here="/identity/reviews")
        return self._child_view(ctx, child_id, access, status=ERROR_STATUS.get(error.get("code"), 400),
                                undo_error=error)

    def page_audit_log(self, ctx):
        if ctx.user is None:
            return self.to_signin(ctx)
        if not roles.reads_audit(ctx.user):
            return self.error_page(ctx, 403, "error.audit_only")
        args = ctx.request.args
        filters = {}
        username = args.get("user", "").strip()[:80]
        if username:
            found = self.store.user_by_username(username)
            filters["user_id"] = found["user_id"] if found else f"unknown:{username}"
        for name, key in (("action", "action"), ("target", "target_id"), ("outcome", "outcome")):
            value = args.get(name, "").strip()[:100]
            if value:
                filters[key] = value
        try:
            page = min(max(int(args.get("page", "1")), 1), 100_000)
        except ValueError:
            page = 1
        total, entries = self.store.audit_entries(filters, page, pages.PAGE_SIZE * 2)
        query = {k: v for k, v in (("user", username), ("action", args.get("action", "")),
                                   ("target", args.get("target", "")), ("outcome", args.get("outcome", "")))
                 if v}
        return self.render(ctx, "audit.html", entries=entries, total=total, page=page,
                           pages_total=pages.page_count(total, pages.PAGE_SIZE * 2), query=query,
                           page_link=lambda p: "/audit?" + urlencode({**query, "page": p}))
