"""Who may see the page: anyone who can reach 127.0.0.1 when no token is set; otherwise a
request that carries the token, as `Authorization: Bearer <token>` (scripts, a proxy) or as
the cookie the login form sets.

The cookie holds a key derived from the token (HMAC-SHA256 of a fixed label), not the token
itself; both are compared with `hmac.compare_digest`, whose time does not depend on where
they differ. Changing the token logs every browser out.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from http.cookies import CookieError, SimpleCookie

from campaignctl.errors import CampaignctlError

COOKIE = "campaignctl_dashboard"
MIN_TOKEN_LENGTH = 16
_LABEL = b"campaignctl dashboard session"


def is_loopback(host: str) -> bool:
    """True for an address only this machine reaches (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything


def check_binding(host: str, token: str | None) -> None:
    """Refuse, in one line, to serve beyond this machine without a token, or with one
    short enough to guess."""
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        raise CampaignctlError(
            f"the dashboard token is {len(token)} characters; use at least "
            f"{MIN_TOKEN_LENGTH} (e.g. `openssl rand -hex 16`)"
        )
    if token is None and not is_loopback(host):
        raise CampaignctlError(
            f"--host {host} serves the dashboard beyond this machine: give a token "
            "(--token or CAMPAIGNCTL_DASHBOARD_TOKEN), or bind 127.0.0.1"
        )


class TokenCheck:
    """Whether a request may see the page (see the module)."""

    def __init__(self, token: str | None) -> None:
        self._token = token.encode() if token is not None else None
        self._session = (
            hmac.new(self._token, _LABEL, hashlib.sha256).hexdigest().encode()
            if self._token is not None
            else None
        )

    @property
    def required(self) -> bool:
        return self._token is not None

    def session_cookie(self, secure: bool) -> str:
        """The Set-Cookie value that admits a browser after it gave the token."""
        assert self._session is not None
        flags = "; Secure" if secure else ""
        return f"{COOKIE}={self._session.decode()}; Path=/; HttpOnly; SameSite=Strict{flags}"

    def given(self, token: str) -> bool:
        """True when `token` (from the login form) is the token."""
        return self._token is not None and hmac.compare_digest(token.encode(), self._token)

    def admits(self, authorization: str | None, cookie_header: str | None) -> bool:
        """True when no token is needed, or the request carries it (header or cookie)."""
        if self._token is None or self._session is None:
            return True
        if authorization:
            scheme, _, value = authorization.partition(" ")
            if scheme.lower() == "bearer" and hmac.compare_digest(
                value.strip().encode(), self._token
            ):
                return True
        if cookie_header:
            try:
                cookies = SimpleCookie(cookie_header)
            except CookieError:
                return False
            morsel = cookies.get(COOKIE)
            if morsel is not None and hmac.compare_digest(morsel.value.encode(), self._session):
                return True
        return False
