"""Find a child (GET /children/search: the form; POST: the search). A national ID, a name or a birth date
travels in the form body, never in a URL; each search is audited with the fields used and how many were
found, never the values (the audit log keeps ids, not names)."""

from . import audit, roles

FIELDS = ("name", "birth_date", "national_id")


def handle(app, ctx):
    if ctx.user is None:
        return app.to_signin(ctx)
    if not roles.sees_child_data(ctx.user):
        if ctx.request.method == "POST":
            app._write_audit(audit.entry(ctx.user, "child.search", outcome="refused:role"))
        return app.error_page(ctx, 403, "error.no_child_data")
    if ctx.request.method == "GET":
        return app.render(ctx, "child_search.html", typed={}, answer=None)
    if app._csrf_failed(ctx):
        return app.error_page(ctx, 403, "error.csrf")
    form = ctx.request.form
    typed = {name: form.get(name, "").strip()[:100] for name in FIELDS}
    query = {name: value for name, value in typed.items() if value}
    answer = ctx.referral.search_children(ctx.viewer, query)
    app._write_audit(audit.entry(
        ctx.user, "child.search", target_kind="child", outcome=audit.outcome_of(answer),
        detail={"by": sorted(query), "found": len(answer.get("items") or []),
                "child_ids": [item["child_id"] for item in answer.get("items") or []][:20]}))
    status = 200 if answer.get("ok") else app_status(answer)
    typed.pop("national_id")  # not echoed back into the page
    return app.render(ctx, "child_search.html", status=status, here="/children/search", typed=typed,
                      answer=answer)


def app_status(answer):
    from .app import ERROR_STATUS

    return ERROR_STATUS.get((answer.get("error") or {}).get("code"), 400)
