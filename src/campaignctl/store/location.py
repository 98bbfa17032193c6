"""Where the state lives: an SQLite file (the default) or a PostgreSQL database named by URL.

    parse_state("state.db")                          -> the file state.db
    parse_state("postgresql://ci:s3cret@db/state")   -> that database

A URL carries credentials (or leaves them to libpq: PGHOST, PGUSER, PGPASSWORD..., and
~/.pgpass). They are never shown: `str()` of a location, and every message, log line and
error about it, use `mask`, which keeps the user, host, port and database and replaces the
password (and any query parameter that could hold one) with `***`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

URL_SCHEMES = ("postgresql", "postgres")
MASK = "***"
_URL = re.compile(r"\b(postgres(?:ql)?)://[^\s'\"]*", re.IGNORECASE)


def is_url(text: str) -> bool:
    """True for a `postgresql://` or `postgres://` URL (any case)."""
    scheme, sep, _ = text.partition("://")
    return bool(sep) and scheme.lower() in URL_SCHEMES


def mask(url: str) -> str:
    """The URL as it may be shown: `postgresql://user:***@host:port/db`; no password, no
    query parameters (they can hold one: `?password=...`, `sslpassword=...`)."""
    try:
        parts = urlsplit(url)
        user = unquote(parts.username) if parts.username else None
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:  # a port that is not a number, brackets that do not close...
        return "postgresql://" + MASK
    if not host and "@" in parts.netloc:
        host = parts.netloc.rpartition("@")[2].split(":")[0]
    credentials = f"{user}:{MASK}@" if user else ""
    query = f"?{MASK}" if parts.query else ""
    return f"postgresql://{credentials}{host}{port}{parts.path}{query}"


def mask_urls(text: str) -> str:
    """Text with every PostgreSQL URL in it masked (a driver's message can quote one)."""
    return _URL.sub(lambda found: mask(found.group(0)), text)


@dataclass(frozen=True)
class StateLocation:
    """An SQLite file (`path`) or a PostgreSQL URL (`url`, kept out of repr and str)."""

    path: Path | None = None
    url: str | None = field(default=None, repr=False)

    @property
    def is_postgres(self) -> bool:
        return self.url is not None

    @property
    def shown(self) -> str:
        """How messages name it: the file's path, or the masked URL."""
        return mask(self.url) if self.url is not None else str(self.path)

    def __str__(self) -> str:
        return self.shown

    def __repr__(self) -> str:
        return f"StateLocation({self.shown!r})"


StateArg = Path | str | StateLocation  # what Store.open accepts


def parse_state(value: StateArg) -> StateLocation:
    """A `--state` value (or CAMPAIGNCTL_STATE): a URL, else a file path."""
    if isinstance(value, StateLocation):
        return value
    if isinstance(value, str) and is_url(value.strip()):
        return StateLocation(url=value.strip())
    return StateLocation(path=Path(value))
