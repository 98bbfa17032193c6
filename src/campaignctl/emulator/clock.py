"""The emulator's own clock: the host's time moved by an offset, so it can play a Twilio whose
clock is minutes (or days) behind or ahead of the machine that sends through it.

Everything the emulator dates reads this clock: a message's date_created, date_sent and
date_updated, the DateSent filters of a list, and the HTTP Date header of every answer.
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta

_OFFSET = re.compile(r"^\s*([+-]?)\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_offset(text: str) -> timedelta:
    """A signed duration: "-5m" (behind the host), "+90s" or "2h" (ahead), "-1d"."""
    match = _OFFSET.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a clock offset such as -5m, +90s, 2h or -1d")
    sign, amount, unit = match.groups()
    seconds = float(amount) * _UNIT_SECONDS[unit]
    return timedelta(seconds=-seconds if sign == "-" else seconds)


_LATENCY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*$")


def parse_latency(text: str) -> float:
    """A latency in seconds from "150ms", "0.2s" or "0.2" (seconds)."""
    match = _LATENCY.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a latency such as 150ms or 0.2s")
    amount, unit = match.groups()
    return float(amount) / 1000 if unit == "ms" else float(amount)


class EmulatorClock:
    """The host's UTC time plus an offset; safe to read and set from many threads."""

    def __init__(self, offset: timedelta = timedelta(0), start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._offset = offset
        if start is not None:
            self._offset += start.astimezone(UTC) - datetime.now(UTC)

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    @property
    def offset(self) -> timedelta:
        """How far this clock is ahead of the host's (negative: behind)."""
        with self._lock:
            return self._offset

    def set_now(self, at: datetime) -> None:
        """Make the clock read `at` now (and run on from there)."""
        with self._lock:
            self._offset = at.astimezone(UTC) - datetime.now(UTC)

    def set_offset(self, offset: timedelta) -> None:
        """Run the clock `offset` ahead of the host's (negative: behind)."""
        with self._lock:
            self._offset = offset
