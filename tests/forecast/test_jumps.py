"""The forecast against the applies of every tick of the controller's own 15-minute grid,
where the forecast's jumps matter: it simulates only the ticks at which something can change
(a window opening in one zone, the next tick for a sender at its pace, the next UTC midnight
for one at its daily limit), so each jump must land on the tick the controller would make.

The grid starts at minute 7 of an hour, so a window that opens on the hour opens between two
ticks and the message goes at the tick after it. The days cross a weekend (Rhode Island
sends nothing on Sundays and only 10:00-17:00 on Saturdays, Texas from noon on Sundays) and
the change to summer time (8 March 2026); the zones run from New York to Honolulu; one
campaign may hand over 3 messages a UTC day, the other one a tick and 2 a day, inside
09:00-17:00 local; long names make two-segment messages, and the balance runs out on the way
(a pause for credits). The real side is the planner's simulated world (tests/planner/world.py): the real
store and executor, applied at every tick of the grid, none skipped.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from campaignctl.app.forecast import forecast_desired
from campaignctl.core.types import Desired, QuietHours, Settings
from campaignctl.errors import Cancelled
from tests.forecast.test_property import applied
from tests.forecast.test_property import build as build_world
from tests.planner.world import World, campaign, contact, desired, group, template

TICK = timedelta(minutes=15)
LAUNCH = datetime(2026, 3, 6, 15, 7, tzinfo=UTC)  # a Friday, 10:07 in New York
START = datetime(2026, 3, 6, 21, 7, tzinfo=UTC)  # the forecast, after 6 hours of history
DAYS = 4  # Friday to Monday, across the weekend and the change to summer time

FIRST = (
    "Hi {{ first_name }}, it's Sam at Acme Realty. Still looking for a home? Reply STOP to opt out."
)
LATER = "Hi {{ first_name }}, new listings this month. Reply STOP to opt out."
LONG = "Maximiliana-Josephine-Alexandra-Bartholomea-Evangelina-Christabel-Wilhelmina-Anastasia"

EAST = [  # (zones, state, first name)
    (("America/New_York",), "NY", "Ana"),
    (("America/New_York",), "NY", LONG),
    (("America/New_York",), None, "Bo"),
    (("America/New_York",), "FL", "Cy"),
    (("America/New_York",), "FL", LONG),
    (("America/New_York",), "RI", "Di"),
    (("America/New_York",), "RI", "Ed"),
    (("America/Chicago",), "TX", "Fu"),
    (("America/Chicago",), "TX", LONG),
    (("America/Indiana/Indianapolis", "America/Chicago"), None, "Gil"),
]
WEST = [
    (("America/Los_Angeles",), "CA", "Hal"),
    (("America/Los_Angeles",), "CA", LONG),
    (("Pacific/Honolulu",), None, "Ida"),
    (("Pacific/Honolulu",), None, "Jo"),
    (("America/Phoenix",), None, "Kit"),
    (("America/Anchorage",), None, "Lu"),
    (("America/Boise", "America/Los_Angeles"), "UT", "Mo"),
]


def scenario() -> Desired:
    people = [
        contact(f"+1202555{n:04d}", zones, state, first_name=name)
        for n, (zones, state, name) in enumerate([*EAST, *WEST])
    ]
    steps = template("two-steps", [FIRST, LATER], [0, 30])
    return desired(
        [
            campaign("east", "two-steps", "east", sender="+15125550101", mps=1.0, daily=3),
            campaign(
                "west",
                "two-steps",
                "west",
                sender="+15125550102",
                mps=0.0005,  # 0.45 a tick: one message a tick
                daily=2,
                quiet=QuietHours(time(9, 0), time(17, 0)),
            ),
        ],
        [steps],
        [group("east", people[: len(EAST)]), group("west", people[len(EAST) :])],
        settings=Settings(state_quiet_hours=True, reconcile_interval=TICK),
    )


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def test_each_jump_lands_on_the_tick_the_controller_makes() -> None:
    d = scenario()
    world = World(balance=20)
    at = LAUNCH
    while at < START:  # the launch, the first sends, both daily limits reached
        world.tick(d, at)
        at += TICK

    forecast = forecast_desired(d, world.store, START, DAYS)
    end = midnight(START.date()) + timedelta(days=DAYS)
    messages, credits, short = applied(world, d, START, end, TICK, events=False)

    assert Counter({(r.day, r.campaign): r.messages for r in forecast.rows}) == messages
    assert Counter({(r.day, r.campaign): r.credits for r in forecast.rows}) == credits
    assert forecast.runs_out == short
    # the scenario has what it is there for: sends on several days by both campaigns, the
    # balance short on the way, and most ticks of the grid not simulated
    assert short is not None and START.date() < short < end.date()
    assert {campaign for _, campaign in messages} == {"east", "west"}
    assert len({day for day, _ in messages}) >= 3
    assert sum(credits.values()) > sum(messages.values())  # two-segment messages among them
    grid = (end - START) // TICK
    assert forecast.ticks < grid // 4, (forecast.ticks, grid)


@settings(max_examples=8)
@given(
    people=st.lists(
        st.tuples(
            st.integers(0, 9),  # a zone set with a zone (tests/planner ZONE_SETS)
            st.sampled_from([None, "TX", "FL", "RI", "UT", "MS", "KY"]),
            st.sampled_from(["Ana", "", LONG]),
        ),
        min_size=3,
        max_size=12,
    ),
    n_campaigns=st.integers(1, 2),
    mps=st.lists(st.sampled_from([1.0, 0.005, 0.001]), min_size=1, max_size=2),
    daily=st.lists(st.sampled_from([None, 1, 3]), min_size=1, max_size=2),
    credits=st.integers(0, 30),
    start_minute=st.integers(0, 24 * 60 - 1),
    start_day=st.integers(0, 364),
)
def test_forecast_equals_the_applies_of_every_quarter_hour(
    people, n_campaigns, mps, daily, credits, start_minute, start_day
) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    d = build_world(people, n_campaigns, [30, 30], [0, 1], mps, daily, 1)
    d = replace(d, settings=replace(d.settings, reconcile_interval=TICK))
    listed = [c.phone for g in d.groups.values() for c in g.contacts]
    assume(len(listed) == len(set(listed)))
    world = World(balance=credits)
    now = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=start_day, minutes=start_minute)
    world.tick(d, now - 37 * TICK)  # the launch, a few hours before
    forecast = forecast_desired(d, world.store, now, 2)
    end = midnight(now.date()) + timedelta(days=2)
    messages, credits_spent, short = applied(world, d, now, end, TICK)

    assert Counter({(r.day, r.campaign): r.messages for r in forecast.rows}) == messages
    assert Counter({(r.day, r.campaign): r.credits for r in forecast.rows}) == credits_spent
    assert forecast.runs_out == short
    event("the credits run out" if short else "the credits last")
    event(f"{min(sum(messages.values()), 5)}+ messages")


def test_a_forecast_asked_to_stop_gives_up_at_its_next_tick() -> None:
    d = scenario()
    world = World(balance=20)
    world.tick(d, LAUNCH)
    whole = forecast_desired(d, world.store, START, DAYS)
    asked: list[int] = []

    def stopped() -> bool:
        asked.append(1)
        return len(asked) > 3  # three ticks simulated, then stopped

    with pytest.raises(Cancelled, match="after 3 ticks"):
        forecast_desired(d, world.store, START, DAYS, stopped)
    assert whole.ticks > 3  # the whole forecast has more ticks than were simulated
    assert len(asked) == 4
