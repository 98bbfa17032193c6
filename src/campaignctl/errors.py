"""One root exception, and the issue records that every user-facing error is made of.

Everything a user can cause ends as an `Issue` (file, line, column, message) or a
`CampaignctlError` with one clear line; the CLI maps these to stderr and exit 1 in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


class Cancelled(Exception):
    """A long computation given up between two of its steps, as whoever started it asked
    (a dashboard closing while one of its panels computes)."""


@dataclass(frozen=True, order=True, slots=True)
class Location:
    """Where a value came from. Paths are relative to the working directory when possible."""

    file: str
    line: int | None = None  # 1-based
    col: int | None = None  # 1-based

    def __str__(self) -> str:
        if self.line is None:
            return self.file
        if self.col is None:
            return f"{self.file}:{self.line}"
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Issue:
    """One finding of validation: an error makes the config invalid, a warning does not."""

    severity: Severity
    message: str
    location: Location | None = None
    code: str = ""  # short machine-readable tag, e.g. "invalid_phone", "schema"

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        return f"{where}{self.severity}: {self.message}"


# Exit status of `apply` and `reconcile --once` when sending stopped early (the provider is
# down, refuses the credentials or keeps throttling, or a signal asked to stop): what was not
# sent is still due. 1 is an error, 2 means changes present (`plan --detailed-exitcode`).
EXIT_SENDING_STOPPED = 3


class CampaignctlError(Exception):
    """Root of every error campaignctl expects; the CLI prints `str(err)` and exits 1."""

    exit_code = 1


class ConfigError(CampaignctlError):
    """The configuration is invalid; carries every error found, with its location."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        errors = [i for i in issues if i.severity == "error"]
        super().__init__("\n".join(str(i) for i in errors) or "invalid configuration")


class StateError(CampaignctlError):
    """The state database cannot be used (corrupt, newer schema, locked, read-only...)."""


class PlanError(CampaignctlError):
    """A plan cannot be made or a saved plan cannot be applied (stale, expired, edited...)."""


class ProviderError(CampaignctlError):
    """The message provider failed in a way that stops sending (e.g. authentication)."""
