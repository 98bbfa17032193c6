"""The forecast equals what the applies do, day by day, on random small worlds.

Each example builds contacts across US zones and states, one or two campaigns with random
sequences, paces and daily limits, and a balance that may run out; a few real ticks make a
state with history (tests/planner/world.py: the real executor on a real state file); then
the forecast is made from that state, and the world ticks on over the same days at every
tick of the controller's grid with nothing new. Messages and credits per day and campaign,
and the day the balance first falls short, must be equal.

The controller's interval is 6 hours here (a reconcileInterval the files may set), so that
a simulated month is 120 real ticks: every tick of that grid is applied, none skipped.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from hypothesis import assume, event, example, given, settings
from hypothesis import strategies as st

from campaignctl.app.forecast import forecast_desired
from campaignctl.core.types import Desired
from tests.planner.test_properties import BODIES, STATES, ZONE_SETS
from tests.planner.test_properties import build as build_world
from tests.planner.world import World

TICK = timedelta(hours=6)
DAYS = 40


def build(
    people: list[tuple[int, str | None, str]],
    n_campaigns: int,
    waits: list[int],
    bodies: list[int],
    mps: list[float],
    daily: list[int | None],
    credits_per_segment: int,
) -> Desired:
    """The planner's random worlds (tests/planner), ticking every 6 hours, with paces and
    daily limits that bite on that grid."""
    d = build_world(people, n_campaigns, waits, bodies, True)
    campaigns = {
        name: replace(
            spec,
            sender=replace(
                spec.sender,
                messages_per_second=mps[k % len(mps)],
                daily_limit=daily[k % len(daily)],
            ),
        )
        for k, (name, spec) in enumerate(sorted(d.campaigns.items()))
    }
    tuned = replace(d.settings, credits_per_segment=credits_per_segment, reconcile_interval=TICK)
    return replace(d, campaigns=campaigns, settings=tuned)


def applied(
    world: World,
    d: Desired,
    start: datetime,
    end: datetime,
    tick: timedelta = TICK,
    *,
    events: bool = True,
) -> tuple[Counter[tuple[date, str]], Counter[tuple[date, str]], date | None]:
    """Tick the world at every instant of the grid (every `tick`) from `start` to `end`
    (`events`: note the reasons of defers for hypothesis' statistics)."""
    messages: Counter[tuple[date, str]] = Counter()
    credits: Counter[tuple[date, str]] = Counter()
    short: date | None = None
    at = start
    while at < end:
        plan = world.tick(d, at)
        for action in plan.actions:
            if action.type == "send":
                messages[(at.date(), action.campaign)] += 1
                credits[(at.date(), action.campaign)] += action.credits
            elif short is None and action.reason == "insufficient_credits":
                short = at.date()
            if events and action.reason in ("rate_limit", "recent_outreach", "quiet_hours"):
                event(f"a message deferred ({action.reason})")
        at += tick
    return messages, credits, short


@settings(max_examples=25)
@given(
    people=st.lists(
        st.tuples(
            st.integers(0, len(ZONE_SETS) - 1),
            st.sampled_from(STATES),
            st.sampled_from(["Ana", "Bo", "", "Maximiliana"]),
        ),
        min_size=3,
        max_size=25,
    ),
    n_campaigns=st.integers(1, 2),
    waits=st.lists(st.integers(30, 33), min_size=1, max_size=3),
    bodies=st.lists(st.integers(0, len(BODIES) - 1), min_size=1, max_size=3),
    mps=st.lists(st.sampled_from([1.0, 0.0002, 0.0001, 0.00005]), min_size=1, max_size=2),
    daily=st.lists(st.sampled_from([None, 2, 5]), min_size=1, max_size=2),
    credits_per_segment=st.integers(1, 2),
    credits=st.integers(0, 80),
    start_hour=st.integers(0, 23),
    start_day=st.integers(0, 364),
    history=st.integers(0, 6),
)
# the launch's sender takes one a tick: the numbers of Texas (quiet an hour longer than their
# zone) wait, enrolled, for their window, and are read after those the pace held back
@example(
    people=[(0, None, "Ana"), (0, None, "Ana"), (0, "TX", "Ana"), (0, None, "Ana"), (0, "TX", "Ana")],
    n_campaigns=1, waits=[30], bodies=[0], mps=[0.00005], daily=[None], credits_per_segment=1,
    credits=5, start_hour=13, start_day=0, history=0,
)  # fmt: skip
def test_forecast_equals_what_applies_do(
    people, n_campaigns, waits, bodies, mps, daily, credits_per_segment, credits,
    start_hour, start_day, history,
) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    d = build(people, n_campaigns, waits, bodies, mps, daily, credits_per_segment)
    # a number listed by two campaigns joins the second once free: not forecast (said in the
    # forecast's assumptions), so these worlds list each number once
    listed = [c.phone for g in d.groups.values() for c in g.contacts]
    assume(len(listed) == len(set(listed)))
    world = World(balance=credits)
    first = datetime(2026, 1, 1, start_hour, 7, tzinfo=UTC) + timedelta(days=start_day)
    for n in range(history):  # a state with history: some sent, some waiting, some due
        world.tick(d, first + n * 17 * TICK)
    now = first + history * 17 * TICK

    forecast = forecast_desired(d, world.store, now, DAYS)
    end = datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=DAYS)
    messages, credits_spent, short = applied(world, d, now, end)

    assert Counter({(r.day, r.campaign): r.messages for r in forecast.rows}) == messages
    assert Counter({(r.day, r.campaign): r.credits for r in forecast.rows}) == credits_spent
    assert forecast.runs_out == short
    event("the credits run out" if short else "the credits last")
    event(f"messages on {min(len({day for day, _ in messages}), 5)}+ days")
    assert sum(m for _, m, _ in forecast.per_day()) == sum(messages.values())
