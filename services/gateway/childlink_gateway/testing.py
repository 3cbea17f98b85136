"""Test helpers: a cookie-keeping werkzeug client over GatewayApp that reads CSRF tokens and signs in."""

import re

from werkzeug.test import Client
from werkzeug.wrappers import Request

PASSWORD = "correct horse battery"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """A werkzeug test client that keeps cookies, reads CSRF tokens off pages and signs in."""

    def __init__(self, app, referral):
        self.referral = referral

        def wsgi(environ, start_response):
            return app.handle(Request(environ), referral)(environ, start_response)

        self.client = Client(wsgi)
        self.last = None

    def get(self, path, **kwargs):
        self.last = self.client.get(path, **kwargs)
        return self.last

    def post(self, path, data=None, csrf=True, **kwargs):
        data = dict(data or {})
        if csrf and "csrf_token" not in data:
            data["csrf_token"] = self.csrf()
        self.last = self.client.post(path, data=data, **kwargs)
        return self.last

    def csrf(self):
        """The token on the last page seen; else from the start page (every page's header has one)."""
        found = CSRF_RE.search(self.last.get_data(as_text=True)) if self.last is not None else None
        if found is None:
            found = CSRF_RE.search(self.client.get("/", follow_redirects=True).get_data(as_text=True))
        return found.group(1)

    def sign_in(self, username, password=PASSWORD):
        self.get("/signin")
        return self.post("/signin", {"username": username, "password": password})
