"""Reading the dashboard's HTML as a test does: the values it marks with `data-field`,
under the campaign (and funnel step) they belong to, and calling the WSGI app in process."""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from wsgiref.util import setup_testing_defaults

from campaignctl.dashboard.app import DashboardApp

VOID = {"meta", "input", "br", "img", "link", "hr", "circle", "rect", "line"}


class Fields(HTMLParser):
    """(campaign, row, field) -> text of every element with `data-field`; `row` is the
    funnel step, the end reason or the wait of the table row it is in ("" outside one)."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[dict[str, str | None]] = []
        self.found: dict[tuple[str, str, str], str] = {}
        self._open: list[tuple[tuple[str, str, str], list[str]]] = []
        self.text: list[str] = []

    def _context(self, key: str) -> str:
        for attrs in reversed(self.stack):
            if attrs.get(key) is not None:
                return str(attrs[key])
        return ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in VOID:
            return
        self.stack.append(values)
        name = values.get("data-field")
        if name is not None:
            row = (
                self._context("data-step")
                or self._context("data-reason")
                or self._context("data-wait")
            )
            self._open.append(((self._context("data-campaign"), row, name), []))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID or not self.stack:
            return
        values = self.stack.pop()
        if values.get("data-field") is not None and self._open:
            key, parts = self._open.pop()
            self.found[key] = " ".join("".join(parts).split())

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        for _, parts in self._open:
            parts.append(data)


def fields(html: str) -> dict[tuple[str, str, str], str]:
    parser = Fields()
    parser.feed(html)
    return parser.found


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: str
    cookies: list[str] = field(default_factory=list)


def call(
    app: DashboardApp,
    path: str,
    *,
    method: str = "GET",
    query: str = "",
    headers: Mapping[str, str] | None = None,
    form: str = "",
) -> Answer:
    """One request to the app, in this process."""
    body = form.encode()
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "wsgi.input": io.BytesIO(body),
    }
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    setup_testing_defaults(environ)
    answered: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        answered.append((status, headers))

    chunks = app(environ, start_response)
    status, pairs = answered[0]
    return Answer(
        int(status.split()[0]),
        {k: v for k, v in pairs},
        b"".join(chunks).decode(),
        [v for k, v in pairs if k == "Set-Cookie"],
    )
