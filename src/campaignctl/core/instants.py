"""Instants as text: the one ISO 8601 form campaignctl writes, and the sane range it accepts.

A year of 0226 (a typo) or 9999 is refused where it is read, at the door, with one line: no
date arithmetic (a window, a 30-day gap, an expiry) can then leave the calendar.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

# The instants campaignctl works with: wide enough for any real campaign and any test that
# simulates years, narrow enough that adding a century of waits never overflows a datetime.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
RANGE_TEXT = "from 2000-01-01 to 2199-12-31 (UTC)"

# The longest wait a step may ask for (a century): the latest instant a command ever writes
# is an accepted `now` plus this wait, plus the days a window or a gap may add to it.
LONGEST_WAIT_DAYS = 36_500
STORED_LATEST = LATEST + timedelta(days=LONGEST_WAIT_DAYS + 366)


class InstantError(ValueError):
    """Text that is not an instant campaignctl can work with."""


def parse_instant(text: object) -> datetime:
    """Parse an ISO 8601 instant; a value without offset is taken as UTC. Raises
    InstantError (a ValueError) for anything that is not one (a number, null, bad text), or
    one outside the sane range."""
    try:
        if not isinstance(text, str):
            raise TypeError
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except (TypeError, ValueError):
        raise InstantError(
            f"{text!r} is not an ISO 8601 instant (for example 2026-03-02T15:00:00Z)"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return check_instant(value, text)


def check_instant(value: datetime, text: str | None = None) -> datetime:
    """The instant in UTC, if it lies in the sane range; InstantError if not."""
    try:
        value = value.astimezone(UTC)
    except (OverflowError, ValueError):
        value = EARLIEST.replace(year=1) if value.year < 2000 else LATEST.replace(year=9999)
    if not EARLIEST <= value < LATEST:
        shown = text if text is not None else value.isoformat()
        raise InstantError(f"{shown!r} is out of range: instants run {RANGE_TEXT}")
    return value


def format_instant(at: datetime) -> str:
    """UTC, ISO 8601, seconds precision, with `Z`: the one form used in output and plans."""
    return at.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
