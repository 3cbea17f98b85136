"""The operator's "end the sessions of this user": a list of staff accounts (no child data) with one form
each. Ending them deletes the user's server-side sessions, so every replica signs the user out at once
(a lost phone, a leaving employee, a password that leaked). Audited as `sessions.end`."""

from werkzeug.utils import redirect

from .. import audit

USER_FIELDS = ("user_id", "username", "display_name", "role", "facility", "district", "active")


def users_page(console, ctx, done=None, status=200):
    users = [{k: u.get(k) for k in USER_FIELDS} for u in console.app.store.users()]
    return console.render(ctx, "sessions.html", status=status, section="sessions", users=users, done=done)


def end_sessions(console, ctx, user_id):
    app = console.app
    target = app.store.user_by_id(user_id) if isinstance(user_id, str) and len(user_id) <= 100 else None
    if target is None:
        return console.error(ctx, 404, "error.not_found")
    ended = app.sessions.end_sessions_of(target["user_id"])
    app._write_audit(audit.entry(ctx.user, "sessions.end", target_kind="user", target_id=target["user_id"],
                                 detail={"ended": ended}))
    return redirect(f"/operator/users?done={ended}", 303)
