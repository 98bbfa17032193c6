"""Quiet hours against an independent oracle that judges one instant at a time from the rule
data (local clock in every zone, weekday, legal holidays), plus worked examples."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaignctl.core.types import QuietHours
from campaignctl.core.windows import (
    RULES_VERSION,
    is_allowed,
    next_allowed,
    state_rule,
    window_closes,
)

RULES = json.loads(
    resources.files("campaignctl.core").joinpath("data/quiet_hours.json").read_text("utf-8")
)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT = QuietHours()
STEP = timedelta(minutes=15)
MINUTE = timedelta(minutes=1)


@cache
def legal_holidays(state: str, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("US", subdiv=state, years=year))


def state_allows(row: dict, state: str, local: datetime) -> bool:  # type: ignore[type-arg]
    hours = row["hours"][WEEKDAYS[local.weekday()]]
    if hours is None:
        return False
    if row["noHolidays"] and local.date() in legal_holidays(state, local.year):
        return False
    return time.fromisoformat(hours[0]) <= local.time() < time.fromisoformat(hours[1])


def oracle(
    instant: datetime, zones: tuple[str, ...], quiet: QuietHours, state: str | None, rules: bool
) -> bool:
    """Is `instant` allowed? Judged directly from the local clocks, one instant at a time."""
    if not zones:
        return False
    start = max(quiet.start, time.fromisoformat(RULES["federal"]["start"]))
    end = min(quiet.end, time.fromisoformat(RULES["federal"]["end"]))
    row = RULES["states"].get(state) if rules and state else None
    for zone in zones:
        local = instant.astimezone(ZoneInfo(zone))
        if not start <= local.time() < end:
            return False
        if row and row["zone"] is None and not state_allows(row, state, local):  # type: ignore[arg-type]
            return False
    if row and row["zone"]:
        return state_allows(row, state, instant.astimezone(ZoneInfo(row["zone"])))  # type: ignore[arg-type]
    return True


def block_starts(after: datetime, before: datetime) -> list[datetime]:
    """The 15-minute-aligned instants strictly between `after` and `before`.

    Every rule boundary is a whole quarter hour of local time and every zone used here is a
    whole number of quarter hours from UTC, so allowed-ness is constant on each aligned
    15-minute block: checking `after` and each block start in between checks every instant.
    """
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    first = epoch + STEP * ((after - epoch) // STEP + 1)
    starts = []
    while first < before:
        starts.append(first)
        first += STEP
    return starts


US_ZONES = [
    "America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
    "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu", "America/Boise",
    "America/Indiana/Indianapolis", "America/Indiana/Knox", "America/Indiana/Tell_City",
    "America/Detroit", "America/Kentucky/Louisville", "America/North_Dakota/Center",
    "America/Adak", "America/Puerto_Rico", "Pacific/Guam",
]  # fmt: skip
ZONE_SETS = st.one_of(
    st.lists(st.sampled_from(US_ZONES), min_size=1, max_size=3, unique=True).map(tuple),
    st.sampled_from(
        [
            ("America/Boise", "America/Los_Angeles"),
            ("America/Indiana/Indianapolis", "America/Chicago"),
            ("America/Phoenix",),
            ("Pacific/Honolulu",),
            ("America/New_York", "Pacific/Honolulu"),
        ]
    ),
)
ANY_INSTANTS = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
)
# quarter hours too, where every window starts and ends
INSTANTS = st.one_of(
    ANY_INSTANTS,
    ANY_INSTANTS.map(lambda t: t.replace(minute=t.minute // 15 * 15, second=0, microsecond=0)),
)
STATES = st.one_of(st.none(), st.sampled_from([*sorted(RULES["states"]), "ID", "CA", "NY"]))
QUARTERS = st.integers(6 * 4, 22 * 4 - 1)  # 06:00 .. 21:45; the rules clip windows to 08-21


@st.composite
def quiet_hours(draw: st.DrawFn) -> QuietHours:
    if draw(st.booleans()):
        return DEFAULT
    start = draw(QUARTERS)
    end = draw(st.integers(start + 1, 22 * 4))
    return QuietHours(time(start // 4, start % 4 * 15), time(end // 4, end % 4 * 15))


@settings(max_examples=500)
@given(INSTANTS, ZONE_SETS, quiet_hours(), STATES, st.booleans())
def test_is_allowed_agrees_with_the_oracle(
    at: datetime, zones: tuple[str, ...], quiet: QuietHours, state: str | None, rules: bool
) -> None:
    assert is_allowed(at, zones, quiet, state, rules) == oracle(at, zones, quiet, state, rules)


@settings(max_examples=150, deadline=None)
@given(INSTANTS, ZONE_SETS, quiet_hours(), STATES, st.booleans())
def test_next_allowed_is_the_earliest_allowed_instant(
    at: datetime, zones: tuple[str, ...], quiet: QuietHours, state: str | None, rules: bool
) -> None:
    found = next_allowed(at, zones, quiet, state, rules)
    horizon = at + timedelta(days=14)
    if found is None:
        assert not oracle(at, zones, quiet, state, rules)
        assert not any(oracle(t, zones, quiet, state, rules) for t in block_starts(at, horizon))
        return
    assert found.tzinfo is not None and found.utcoffset() == timedelta(0)
    assert at <= found < horizon
    assert is_allowed(found, zones, quiet, state, rules)
    assert oracle(found, zones, quiet, state, rules)
    if found > at:
        assert not oracle(at, zones, quiet, state, rules)
        assert not any(oracle(t, zones, quiet, state, rules) for t in block_starts(at, found))

    closes = window_closes(found, zones, quiet, state, rules)
    assert closes is not None and closes > found
    assert oracle(closes - MINUTE, zones, quiet, state, rules)
    assert not oracle(closes, zones, quiet, state, rules)
    assert not is_allowed(closes, zones, quiet, state, rules)
    assert is_allowed(closes - MINUTE, zones, quiet, state, rules)
    assert all(oracle(t, zones, quiet, state, rules) for t in block_starts(found, closes))


@settings(max_examples=200)
@given(INSTANTS, ZONE_SETS, quiet_hours(), STATES, st.booleans())
def test_an_allowed_instant_is_inside_the_window_in_every_zone(
    at: datetime, zones: tuple[str, ...], quiet: QuietHours, state: str | None, rules: bool
) -> None:
    if not is_allowed(at, zones, quiet, state, rules):
        assert window_closes(at, zones, quiet, state, rules) is None
        return
    for zone in zones:
        local = at.astimezone(ZoneInfo(zone)).time()
        assert max(quiet.start, time(8)) <= local < min(quiet.end, time(21))


# --------------------------------------------------------------------------- examples


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


LA = ("America/Los_Angeles",)
NY = ("America/New_York",)


def test_march_dst_moves_the_window_an_hour_earlier_in_utc() -> None:
    # Saturday 2026-03-07 is still PST (UTC-8); Sunday 2026-03-08 02:00 clocks go forward
    assert next_allowed(utc(2026, 3, 7, 10), LA, DEFAULT, "CA", True) == utc(2026, 3, 7, 16)
    assert window_closes(utc(2026, 3, 7, 16), LA, DEFAULT, "CA", True) == utc(2026, 3, 8, 5)
    assert next_allowed(utc(2026, 3, 8, 10), LA, DEFAULT, "CA", True) == utc(2026, 3, 8, 15)
    assert window_closes(utc(2026, 3, 8, 15), LA, DEFAULT, "CA", True) == utc(2026, 3, 9, 4)


def test_november_dst_moves_the_window_an_hour_later_in_utc() -> None:
    assert next_allowed(utc(2026, 10, 31, 10), NY, DEFAULT, None, True) == utc(2026, 10, 31, 12)
    assert next_allowed(utc(2026, 11, 1, 10), NY, DEFAULT, None, True) == utc(2026, 11, 1, 13)
    assert window_closes(utc(2026, 11, 1, 13), NY, DEFAULT, None, True) == utc(2026, 11, 2, 2)


def test_arizona_keeps_one_utc_window_all_year() -> None:
    for month in (1, 7):
        assert next_allowed(utc(2026, month, 15, 6), ("America/Phoenix",), DEFAULT, "AZ", True) == (
            utc(2026, month, 15, 15)
        )


def test_split_zones_need_the_window_in_both() -> None:
    zones = ("Pacific/Honolulu", "America/New_York")  # 18:00Z-07:00Z and 13:00Z-02:00Z
    assert next_allowed(utc(2026, 1, 15, 12), zones, DEFAULT, None, False) == utc(2026, 1, 15, 18)
    assert window_closes(utc(2026, 1, 15, 18), zones, DEFAULT, None, False) == utc(2026, 1, 16, 2)
    narrow = QuietHours(time(8), time(9))
    assert next_allowed(utc(2026, 1, 15, 12), zones, narrow, None, False) is None
    boise_la = ("America/Boise", "America/Los_Angeles")
    assert next_allowed(utc(2026, 1, 15, 6), boise_la, DEFAULT, "ID", True) == utc(2026, 1, 15, 16)
    assert window_closes(utc(2026, 1, 15, 16), boise_la, DEFAULT, "ID", True) == utc(2026, 1, 16, 4)


def test_texas_on_sunday_starts_at_noon() -> None:
    central = ("America/Chicago",)
    sunday_nine = utc(2026, 3, 1, 15)  # 09:00 CST
    assert not is_allowed(sunday_nine, central, DEFAULT, "TX", True)
    assert is_allowed(sunday_nine, central, DEFAULT, "TX", False)
    assert next_allowed(sunday_nine, central, DEFAULT, "TX", True) == utc(2026, 3, 1, 18)
    assert window_closes(utc(2026, 3, 1, 18), central, DEFAULT, "TX", True) == utc(2026, 3, 2, 3)
    assert is_allowed(utc(2026, 3, 2, 15), central, DEFAULT, "TX", True)  # Monday 09:00


def test_rhode_island_saturday_and_sunday() -> None:
    assert not is_allowed(utc(2026, 3, 7, 14, 30), NY, DEFAULT, "RI", True)  # Sat 09:30
    assert next_allowed(utc(2026, 3, 7, 14, 30), NY, DEFAULT, "RI", True) == utc(2026, 3, 7, 15)
    assert window_closes(utc(2026, 3, 7, 15), NY, DEFAULT, "RI", True) == utc(2026, 3, 7, 22)
    assert window_closes(utc(2026, 3, 6, 14, 30), NY, DEFAULT, "RI", True) == utc(2026, 3, 6, 23)
    assert next_allowed(utc(2026, 3, 8, 15), NY, DEFAULT, "RI", True) == utc(2026, 3, 9, 13)


def test_utah_on_sunday_and_on_independence_day() -> None:
    mountain = ("America/Denver",)
    assert next_allowed(utc(2026, 3, 1, 17), mountain, DEFAULT, "UT", True) == utc(2026, 3, 2, 15)
    # 2026-07-04 is a Saturday, observed Friday the 3rd; the 5th is a Sunday
    assert not is_allowed(utc(2026, 7, 3, 16), mountain, DEFAULT, "UT", True)
    assert is_allowed(utc(2026, 7, 3, 16), mountain, DEFAULT, "UT", False)
    assert next_allowed(utc(2026, 7, 3, 16), mountain, DEFAULT, "UT", True) == utc(2026, 7, 6, 14)
    # 2028-07-04 is a Tuesday
    assert next_allowed(utc(2028, 7, 4, 16), mountain, DEFAULT, "UT", True) == utc(2028, 7, 5, 14)
    assert not is_allowed(utc(2026, 7, 24, 16), mountain, DEFAULT, "UT", True)  # Pioneer Day


def test_mississippi_keeps_central_standard_time_in_summer() -> None:
    central = ("America/Chicago",)
    # Wednesday 2026-07-15, 08:30 CDT = 07:30 CST: federal yes, Mississippi not yet
    assert not is_allowed(utc(2026, 7, 15, 13, 30), central, DEFAULT, "MS", True)
    assert is_allowed(utc(2026, 7, 15, 13, 30), central, DEFAULT, "MS", False)
    assert next_allowed(utc(2026, 7, 15, 13, 30), central, DEFAULT, "MS", True) == (
        utc(2026, 7, 15, 14)
    )
    assert window_closes(utc(2026, 7, 15, 14), central, DEFAULT, "MS", True) == utc(2026, 7, 16, 2)
    # Sunday 2026-07-19: nothing until Monday 08:00 CST
    assert next_allowed(utc(2026, 7, 19, 15), central, DEFAULT, "MS", True) == utc(2026, 7, 20, 14)


def test_florida_closes_at_eight() -> None:
    evening = utc(2026, 1, 15, 1, 30)  # Wednesday 20:30 EST
    assert not is_allowed(evening, NY, DEFAULT, "FL", True)
    assert is_allowed(evening, NY, DEFAULT, "FL", False)
    assert window_closes(utc(2026, 1, 15, 0), NY, DEFAULT, "FL", True) == utc(2026, 1, 15, 1)


def test_no_zone_means_never() -> None:
    assert not is_allowed(utc(2026, 1, 15, 18), (), DEFAULT, None, True)
    assert next_allowed(utc(2026, 1, 15, 18), (), DEFAULT, None, True) is None
    assert window_closes(utc(2026, 1, 15, 18), (), DEFAULT, None, True) is None


def test_inputs_in_other_offsets_and_bad_inputs() -> None:
    local = datetime(2026, 3, 2, 9, 30, tzinfo=ZoneInfo("America/Chicago"))
    found = next_allowed(local, ("America/Chicago",), DEFAULT, None, True)
    assert found == local and found is not None and found.tzinfo is UTC
    with pytest.raises(ValueError, match="aware"):
        is_allowed(datetime(2026, 3, 2, 15), NY, DEFAULT, None, True)
    with pytest.raises(ValueError, match="Mars/Base"):
        is_allowed(utc(2026, 3, 2, 15), ("Mars/Base",), DEFAULT, None, True)


def test_the_rules_are_versioned_data_with_every_state_row() -> None:
    assert RULES["version"] == RULES_VERSION
    expected = {"FL", "OK", "MD", "CT", "TX", "WA", "UT", "MS", "RI", "LA", "AL", "PA", "MA",
                "KY", "MI", "MN", "NM", "NV", "NJ"}  # fmt: skip
    assert set(RULES["states"]) == expected
    for code, row in RULES["states"].items():
        assert row["confidence"] and row["source"]
        rule = state_rule(code.lower())
        assert rule is not None and len(rule.hours) == 7
    assert state_rule("CA") is None and state_rule(None) is None
    mississippi = state_rule("MS")
    assert mississippi is not None and mississippi.zone == "Etc/GMT+6"
    assert mississippi.hours[6] is None  # no Sundays
