"""The next moment a state keeps for each enrollment changes what a tick reads, never what it
sends: over simulated weeks, a state that keeps them and one that forgets them before every
tick (and so reads every enrollment due by its wait, as before they existed) send the same
messages at the same instants, when the pace leaves room for all (numbers in every zone,
state rules, narrower quiet hours, two steps)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaignctl.core.types import Desired, QuietHours, Settings
from tests.planner.test_properties import STATES, ZONE_SETS
from tests.planner.world import (
    Enrolled,
    Sent,
    World,
    campaign,
    contact,
    desired,
    group,
    template,
)

MINUTE = timedelta(minutes=1)
BODY = "Hi {{ first_name }}, new homes this week. Reply STOP to opt out."


def _run(world: World, ticks: list[datetime], forget: bool, d: Desired) -> list[Sent]:
    """The messages sent by ticks at these instants (`forget`: the next moments forgotten
    before each)."""
    for now in ticks:
        if forget:
            world.forget_next_moments()
        world.tick(d, now)
    return world.log


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    people=st.lists(
        st.tuples(st.integers(0, len(ZONE_SETS) - 2), st.sampled_from(STATES)),
        min_size=1,
        max_size=40,
    ),
    quiet=st.tuples(st.integers(8, 12), st.integers(13, 21)),
    wait=st.integers(30, 33),
    start=st.integers(0, 364 * 24),
    gaps=st.lists(st.integers(1, 24 * 60), min_size=1, max_size=45),
)
def test_what_a_tick_sends_does_not_depend_on_the_next_moments_kept(
    people: list[tuple[int, str | None]],
    quiet: tuple[int, int],
    wait: int,
    start: int,
    gaps: list[int],
) -> None:
    first = datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC")) + start * timedelta(hours=1)
    ticks, now = [], first
    for gap in gaps:  # irregular ticks over weeks (the second step waits 30 days or more)
        now += gap * MINUTE * 2
        ticks.append(now)
    contacts = [
        contact(f"+1{2025550000 + i:010d}", ZONE_SETS[z], s, first_name="Ana")
        for i, (z, s) in enumerate(people)
    ]
    hours = QuietHours(time(quiet[0]), time(quiet[1]))
    d = desired(
        [campaign("c", "t", "g", mps=10.0, quiet=hours)],  # 9,000 a tick: the pace never binds
        [template("t", [BODY, BODY], [0, wait])],
        [group("g", contacts)],
        settings=Settings(state_quiet_hours=True),
    )
    kept = _run(World(balance=10_000), ticks, False, d)
    forgotten = _run(World(balance=10_000), ticks, True, d)
    assert sorted(kept, key=repr) == sorted(forgotten, key=repr)  # in a tick, in any order
    assert len(kept) <= 2 * len(people)


def _states(world: World, ticks: list[datetime], forget: bool, d: Desired) -> list[object]:
    """What the state holds of every enrollment after each tick (`forget`: the next moments
    forgotten before each), and the messages sent."""
    states: list[object] = []
    for now in ticks:
        if forget:
            world.forget_next_moments()
        world.tick(d, now)
        states.append((now, sorted(world.enrollments.values(), key=_key)))
    return [*states, sorted(world.log, key=repr)]


def _key(e: Enrolled) -> tuple[str, str]:
    return (e.campaign, e.phone)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    zone=st.integers(0, 6),  # the zones of one state each
    quiet=st.tuples(st.integers(8, 12), st.integers(13, 21)),
    night=st.integers(1, 10),  # hours of the night the step lives on after its window
    day=st.integers(0, 364),
    offsets=st.tuples(st.integers(1, 59), st.integers(1, 59), st.integers(1, 59)),
)
def test_a_step_that_expires_in_the_night_is_passed_over_at_the_next_tick(
    zone: int,
    quiet: tuple[int, int],
    night: int,
    day: int,
    offsets: tuple[int, int, int],
) -> None:
    """sendWithin: a step that became due when its window opened, with no tick in that
    window, is deferred to the next window by a tick after it closed, and expires in the
    night between: the tick after its expiry passes it over, as when every enrollment due
    by its wait is read (its next moment is the earlier of the window and the expiry).
    After every tick the state holds the same enrollments, at the same step and due time,
    whether next moments are kept or forgotten."""
    zones = ZONE_SETS[zone]
    local = ZoneInfo(zones[0])
    opens, closes = quiet
    night = min(night, 23 - (closes - opens))  # the expiry falls before the next window
    within = timedelta(hours=closes - opens + night)
    first = datetime(2026, 1, 1, tzinfo=local) + timedelta(days=day)
    ticks = [
        first + timedelta(hours=opens) - timedelta(minutes=offsets[0]),  # enrolled: it waits
        first + timedelta(hours=closes, minutes=offsets[1] // 2),  # closed: deferred
        first + timedelta(hours=opens) + within + timedelta(minutes=offsets[2]),  # expired
        first + timedelta(days=1, hours=opens, minutes=30),  # the next window
    ]
    ticks = [t.astimezone(ZoneInfo("UTC")) for t in ticks]
    plain = template("t", [BODY] * 3, [0, 30, 30])
    expiring = tuple(replace(s, send_within=within) for s in plain.steps)
    d = desired(
        [campaign("c", "t", "g", mps=10.0, quiet=QuietHours(time(opens), time(closes)))],
        [replace(plain, steps=expiring)],
        [group("g", [contact("+12125550100", zones, None, first_name="Ana")])],
        settings=Settings(state_quiet_hours=False),
    )
    kept = _states(World(balance=100), ticks, False, d)
    forgotten = _states(World(balance=100), ticks, True, d)
    assert kept == forgotten
