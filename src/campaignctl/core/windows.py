"""Quiet hours: the instants at which a marketing text may reach a recipient.

The legal rules are versioned data (data/quiet_hours.json): the federal window and the
stricter windows of some US states (hours per weekday, no Sundays, no legal holidays,
Mississippi's fixed "Central Standard Time"). A message may go out at an instant only when
that instant is inside the allowed window in EVERY zone of the recipient (a number can map to
several zones); with state rules on, the campaign's window is intersected with the state's.

Windows are computed per zone with zoneinfo on the actual local date, so DST moves them. The
allowed intervals of one UTC day are memoised per (zones, state, quiet hours, day): once warm,
`is_allowed` and `next_allowed` cost a few microseconds.

`at` arguments are aware datetimes; every result is an aware UTC datetime.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from campaignctl.core.types import QuietHours

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # date.weekday() order
SEARCH_HORIZON = timedelta(days=14)  # next_allowed gives up after this
_DAY = timedelta(days=1)

DayHours = tuple[time, time] | None  # [start, end) local time; None: no sending that day
Interval = tuple[datetime, datetime]  # [start, end) in UTC


@dataclass(frozen=True)
class StateRule:
    """One state's stricter window, as written in quiet_hours.json."""

    state: str  # two letters
    name: str
    hours: tuple[DayHours, ...]  # Monday first
    no_holidays: bool  # closed all day on the state's legal holidays
    zone: str | None  # a fixed zone the statute names (Mississippi); None: the recipient's
    max_per_24h_same_subject: int | None
    confidence: str
    source: str


@dataclass(frozen=True)
class _Constraint:
    """Sending is allowed only inside `hours` of the local date in `zone`."""

    zone: str
    hours: tuple[DayHours, ...]  # Monday first
    holidays_of: str | None  # state whose legal holidays close the whole local date


def _load() -> dict[str, Any]:
    text = resources.files("campaignctl.core").joinpath("data/quiet_hours.json").read_text("utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def _parse_hours(value: list[str] | None) -> DayHours:
    if value is None:
        return None
    return time.fromisoformat(value[0]), time.fromisoformat(value[1])


def _parse_states(document: dict[str, Any]) -> dict[str, StateRule]:
    return {
        code: StateRule(
            state=code,
            name=row["name"],
            hours=tuple(_parse_hours(row["hours"][day]) for day in WEEKDAYS),
            no_holidays=bool(row["noHolidays"]),
            zone=row["zone"],
            max_per_24h_same_subject=row["maxPer24hSameSubject"],
            confidence=row["confidence"],
            source=row["source"],
        )
        for code, row in document["states"].items()
    }


_DOCUMENT = _load()
RULES_VERSION: str = _DOCUMENT["version"]
FEDERAL_QUIET_HOURS = QuietHours(
    time.fromisoformat(_DOCUMENT["federal"]["start"]),
    time.fromisoformat(_DOCUMENT["federal"]["end"]),
)
STATE_RULES: dict[str, StateRule] = _parse_states(_DOCUMENT)


def state_rule(us_state: str | None) -> StateRule | None:
    """The stricter window of a US state, or None when the state has no row."""
    return STATE_RULES.get(us_state.upper()) if us_state else None


# --------------------------------------------------------------------------- public queries


def is_allowed(
    at: datetime, zones: tuple[str, ...], quiet: QuietHours, us_state: str | None, state_rules: bool
) -> bool:
    """True when a message may go out at `at`: inside the window in every zone."""
    if not zones:
        return False
    at = _utc(at)
    for start, end in _day_intervals(zones, _state_key(us_state, state_rules), quiet, at.date()):
        if at < start:
            return False
        if at < end:
            return True
    return False


def next_allowed(
    at: datetime, zones: tuple[str, ...], quiet: QuietHours, us_state: str | None, state_rules: bool
) -> datetime | None:
    """`at` itself when allowed; else the earliest later instant allowed in every zone.

    None when nothing is allowed within SEARCH_HORIZON (zones too far apart for the window)
    or when there is no zone at all.
    """
    if not zones:
        return None
    return _next_allowed(_utc(at), tuple(zones), quiet, _state_key(us_state, state_rules))


def window_closes(
    at: datetime, zones: tuple[str, ...], quiet: QuietHours, us_state: str | None, state_rules: bool
) -> datetime | None:
    """When the allowed window containing `at` ends (exclusive); None if `at` is not allowed."""
    if not zones:
        return None
    return _window_closes(_utc(at), tuple(zones), quiet, _state_key(us_state, state_rules))


def seconds_left(closes: datetime | None, now: datetime) -> float | None:
    """Seconds from `now` until a window that closes at `closes` (None: no known close)."""
    return None if closes is None else (closes - now).total_seconds()


# --------------------------------------------------------------------------- computing

# The answers of next_allowed and window_closes, remembered: a tick asks them for thousands
# of messages at one instant, and its recipients share a few hundred zone lists.
_ANSWERS = 1 << 14


@lru_cache(maxsize=_ANSWERS)
def _next_allowed(
    at: datetime, zones: tuple[str, ...], quiet: QuietHours, state: str | None
) -> datetime | None:
    limit = at + SEARCH_HORIZON
    day = at.date()
    while _midnight(day) < limit:
        for start, end in _day_intervals(zones, state, quiet, day):
            if end > at:
                candidate = max(start, at)
                return candidate if candidate < limit else None
        day += _DAY
    return None


@lru_cache(maxsize=_ANSWERS)
def _window_closes(
    at: datetime, zones: tuple[str, ...], quiet: QuietHours, state: str | None
) -> datetime | None:
    end = next((e for s, e in _day_intervals(zones, state, quiet, at.date()) if s <= at < e), None)
    if end is None:
        return None
    for _ in range(SEARCH_HORIZON.days):  # a window running past midnight UTC continues
        if end != _midnight(end.date()):
            break
        following = _day_intervals(zones, state, quiet, end.date())
        if not following or following[0][0] != end:
            break
        end = following[0][1]
    return end


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("quiet hours need a timezone-aware datetime")
    return at if at.tzinfo is UTC else at.astimezone(UTC)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _state_key(us_state: str | None, state_rules: bool) -> str | None:
    if not state_rules or not us_state:
        return None
    code = us_state.upper()
    return code if code in STATE_RULES else None


@lru_cache(maxsize=1 << 16)
def _day_intervals(
    zones: tuple[str, ...], state: str | None, quiet: QuietHours, day: date
) -> tuple[Interval, ...]:
    """The allowed instants of one UTC day, as sorted disjoint intervals."""
    day_start = _midnight(day)
    allowed: list[Interval] = [(day_start, day_start + _DAY)]
    for constraint in _constraints(zones, state, quiet):
        allowed = _intersect(allowed, _constraint_intervals(constraint, day_start))
        if not allowed:
            break
    return tuple(_merge(allowed))


@lru_cache(maxsize=4096)
def _constraints(
    zones: tuple[str, ...], state: str | None, quiet: QuietHours
) -> tuple[_Constraint, ...]:
    federal = FEDERAL_QUIET_HOURS
    campaign = (max(quiet.start, federal.start), min(quiet.end, federal.end))
    rule = STATE_RULES.get(state) if state else None
    holidays_of = state if rule is not None and rule.no_holidays else None
    constraints: list[_Constraint] = []
    for zone in dict.fromkeys(zones):
        _zone(zone)  # fail early on a zone zoneinfo does not know
        if rule is None or rule.zone is not None:
            constraints.append(_Constraint(zone, (campaign,) * 7, None))
        else:
            hours = tuple(_narrow(campaign, day) for day in rule.hours)
            constraints.append(_Constraint(zone, hours, holidays_of))
    if rule is not None and rule.zone is not None:
        constraints.append(_Constraint(rule.zone, rule.hours, holidays_of))
    return tuple(constraints)


def _narrow(campaign: tuple[time, time], state_day: DayHours) -> DayHours:
    if state_day is None:
        return None
    return max(campaign[0], state_day[0]), min(campaign[1], state_day[1])


def _constraint_intervals(constraint: _Constraint, day_start: datetime) -> list[Interval]:
    """The constraint's windows that overlap the UTC day starting at `day_start`, clipped."""
    zone = _zone(constraint.zone)
    day_end = day_start + _DAY
    intervals: list[Interval] = []
    for offset in (-1, 0, 1):  # local dates that can overlap a UTC day (offsets within 24 h)
        local_date = day_start.date() + timedelta(days=offset)
        hours = constraint.hours[local_date.weekday()]
        if hours is None or hours[0] >= hours[1]:
            continue
        if constraint.holidays_of and local_date in _holidays(
            constraint.holidays_of, local_date.year
        ):
            continue
        start = datetime.combine(local_date, hours[0], tzinfo=zone).astimezone(UTC)
        end = datetime.combine(local_date, hours[1], tzinfo=zone).astimezone(UTC)
        start, end = max(start, day_start), min(end, day_end)
        if start < end:
            intervals.append((start, end))
    return intervals


def _intersect(left: list[Interval], right: list[Interval]) -> list[Interval]:
    result: list[Interval] = []
    i = j = 0
    while i < len(left) and j < len(right):
        start = max(left[i][0], right[j][0])
        end = min(left[i][1], right[j][1])
        if start < end:
            result.append((start, end))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return result


def _merge(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {name!r}") from None


@lru_cache(maxsize=1024)
def _holidays(state: str, year: int) -> frozenset[date]:
    """The legal holidays of a US state in one year (observed days included)."""
    return frozenset(holidays.country_holidays("US", subdiv=state, years=year).keys())
