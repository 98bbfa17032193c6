"""Consent records: where and when a contact agreed to be texted, kept with its enrollment.

A contact's consent is two of its fields, written as CSV columns or inline `fields` of these
names: `consentSource` (where: "open-house sign-in sheet", "web form /buy") and `consentAt`
(when: an ISO 8601 instant; without an offset it is UTC, and a date alone is its start,
00:00 UTC). Being fields, they go wherever the contact goes (its enrollment, the waiting
list, a returning row) and are stored with it on either backend. `consentAt` is checked when
the files are loaded (a value that is not an instant is an error at its file and line) and
kept in the one form campaignctl writes, `2026-03-02T15:00:00Z`. With
`Settings.requireConsent`, a contact without both is never enrolled, and a live enrollment
without both sends nothing more (`no_consent`). Pure.
"""

from __future__ import annotations

from collections.abc import Mapping

from campaignctl.core.instants import InstantError, format_instant, parse_instant

CONSENT_SOURCE = "consentSource"
CONSENT_AT = "consentAt"
CONSENT_FIELDS = (CONSENT_SOURCE, CONSENT_AT)
NO_CONSENT = "no consent record (consentSource and consentAt) and requireConsent is on"


class ConsentProblem(ValueError):
    """A consentAt value that is not an instant."""


def consent_at_text(raw: str) -> str:
    """The stored form of a consentAt value (UTC, ISO 8601 with Z); ConsentProblem, saying
    what to write instead, when it is not an instant."""
    try:
        return format_instant(parse_instant(raw))
    except InstantError as exc:
        raise ConsentProblem(
            f"consentAt {raw.strip()!r} is not an instant ({exc}): write ISO 8601, e.g. "
            "2026-03-02T15:00:00Z, 2026-03-02T10:00:00-05:00 or 2026-03-02 (its start, UTC)"
        ) from None


def with_consent_at(fields: dict[str, str]) -> dict[str, str]:
    """The fields with a non-empty consentAt in its stored form (the same dict when there
    is nothing to change); ConsentProblem when it is not an instant."""
    raw = fields.get(CONSENT_AT)
    if raw is None or not raw.strip():
        return fields
    text = consent_at_text(raw)
    if text == raw:
        return fields
    return {**fields, CONSENT_AT: text}


def missing_consent(fields: Mapping[str, str]) -> tuple[str, ...]:
    """The consent fields a contact lacks (empty when its consent is recorded)."""
    return tuple(name for name in CONSENT_FIELDS if not fields.get(name, "").strip())


def has_consent(fields: Mapping[str, str]) -> bool:
    return not missing_consent(fields)
