"""The status page as a WSGI application, served by waitress (`campaignctl dashboard`).

    GET  /                  every campaign: status, funnel, rates, sends, credits, waits
    GET  /explain?phone=N   one number's history and what waits now (as `explain`)
    GET  /login, POST /login  the token, for a browser (sets a cookie)
    GET  /healthz           200 "ok" (reveals nothing)

Read-only by construction: the state is opened read-only (an SQLite file with `mode=ro`, a
PostgreSQL session whose transactions are READ ONLY), so no request can change it, and a
read-only PostgreSQL role is enough. With a token (auth.py) every page but /healthz and
/login asks for it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit
from wsgiref.types import StartResponse, WSGIEnvironment

from campaignctl.dashboard.auth import TokenCheck
from campaignctl.dashboard.pages import Options, Pages
from campaignctl.errors import StateError
from campaignctl.store import StateLocation, Store

log = logging.getLogger("campaignctl.dashboard")

MAX_FORM_BYTES = 4096
HEADERS = [
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    # no script at all, styles inline, forms only to this server
    ("Content-Security-Policy",
     "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
     "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
]  # fmt: skip


@dataclass
class Response:
    status: str
    body: str
    content_type: str = "text/html; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)


def _status(code: HTTPStatus) -> str:
    return f"{code.value} {code.phrase}"


def _local_path(target: str) -> str:
    """Where to go after logging in: a path of this server only, never another site."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


class DashboardApp:
    """The WSGI application; the state is opened read-only on first use (a state not there
    yet is looked for again at the next request), twice: one connection shared by the
    server's threads for the requests, one for the slow panels computed beside them, so a
    request never waits behind a panel's long read (a forecast reads every live
    enrollment)."""

    def __init__(
        self,
        state: Path | StateLocation,
        config_dir: Path,
        now: Callable[[], datetime],
        *,
        token: str | None = None,
        options: Options | None = None,
    ) -> None:
        self._state = state
        self._auth = TokenCheck(token)
        self.pages = Pages(config_dir, now, options or Options())
        self._lock = threading.Lock()
        self._store: Store | None = None
        self._panels: Store | None = None

    def store(self) -> Store:
        with self._lock:
            if self._store is None:
                store = Store.open(self._state, create=False, read_only=True)
                try:
                    self._panels = Store.open(self._state, create=False, read_only=True)
                except BaseException:
                    store.close()
                    raise
                self._store = store
                self.pages.attach(self._panels)
            return self._store

    def close(self) -> None:
        self.pages.close()
        with self._lock:
            for store in (self._store, self._panels):
                if store is not None:
                    store.close()
            self._store = self._panels = None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        try:
            response = self._handle(environ)
        except StateError as exc:  # the state went away, or cannot be read: one line
            log.warning("%s", exc)
            response = self._message(HTTPStatus.SERVICE_UNAVAILABLE, str(exc))
        body = response.body.encode()
        headers = [
            ("Content-Type", response.content_type),
            ("Content-Length", str(len(body))),
            *HEADERS,
            *response.headers,
        ]
        start_response(response.status, headers)
        return [b"" if environ.get("REQUEST_METHOD") == "HEAD" else body]

    def _message(self, code: HTTPStatus, text: str) -> Response:
        return Response(_status(code), self.pages.render("message.html", title=code.phrase,
                                                         message=text))  # fmt: skip

    def _handle(self, environ: WSGIEnvironment) -> Response:
        path = environ.get("PATH_INFO", "") or "/"
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/healthz" and method in ("GET", "HEAD"):
            return Response("200 OK", "ok\n", "text/plain; charset=utf-8")
        if path == "/login":
            return self._login(environ, method)
        if path not in ("/", "/explain"):
            return self._message(HTTPStatus.NOT_FOUND, f"nothing at {path}")
        if method not in ("GET", "HEAD"):
            return self._message(HTTPStatus.METHOD_NOT_ALLOWED, "this page is read-only")
        if not self._auth.admits(environ.get("HTTP_AUTHORIZATION"), environ.get("HTTP_COOKIE")):
            return self._login_form(_status(HTTPStatus.UNAUTHORIZED), self._target(environ))
        try:
            store = self.store()
        except StateError as exc:
            return self._message(HTTPStatus.SERVICE_UNAVAILABLE, str(exc))
        if path == "/explain":
            query = parse_qs(environ.get("QUERY_STRING", "")).get("phone", [""])[0]
            status, html = self.pages.explain(store, query)
            return Response(status, html)
        return Response("200 OK", self.pages.overview(store))

    @staticmethod
    def _target(environ: WSGIEnvironment) -> str:
        query = environ.get("QUERY_STRING", "")
        return quote(environ.get("PATH_INFO", "/") or "/") + (f"?{query}" if query else "")

    def _login_form(self, status: str, target: str, problem: str | None = None) -> Response:
        html = self.pages.render("login.html", target=target, problem=problem)
        return Response(status, html)

    def _login(self, environ: WSGIEnvironment, method: str) -> Response:
        if not self._auth.required:
            return Response(_status(HTTPStatus.SEE_OTHER), "", headers=[("Location", "/")])
        if method in ("GET", "HEAD"):
            target = parse_qs(environ.get("QUERY_STRING", "")).get("next", ["/"])[0]
            return self._login_form("200 OK", _local_path(target))
        if method != "POST":
            return self._message(HTTPStatus.METHOD_NOT_ALLOWED, "GET or POST only")
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_FORM_BYTES:
            return self._message(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "the form is too large")
        form = parse_qs(environ["wsgi.input"].read(length).decode("utf-8", "replace"))
        target = _local_path(form.get("next", ["/"])[0])
        if not self._auth.given(form.get("token", [""])[0]):
            log.warning("dashboard: a login with a wrong token from %s", environ.get("REMOTE_ADDR"))
            return self._login_form(_status(HTTPStatus.UNAUTHORIZED), target, "wrong token")
        secure = environ.get("wsgi.url_scheme") == "https" or (
            environ.get("HTTP_X_FORWARDED_PROTO", "").lower() == "https"
        )
        cookie = ("Set-Cookie", self._auth.session_cookie(secure))
        return Response(_status(HTTPStatus.SEE_OTHER), "", headers=[("Location", target), cookie])
