"""The edit rules of a launched campaign as properties of the pure planner, on simulated
worlds (tests/planner/world.py: a real state changed only by the real executor): a template
switch is accepted exactly when the new steps cover the old ones, and once accepted every
later message has the new wording and waits the new gaps; a sender change is accepted
exactly when it can only make sending safer or slower."""

from __future__ import annotations

from dataclasses import replace
from datetime import time, timedelta
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaignctl.core.planner import plan as make_plan
from campaignctl.core.types import Desired, QuietHours
from campaignctl.errors import PlanError
from tests.planner.world import World, at, campaign, contact, desired, group, template

NY = ("America/New_York",)
NOON_NY = at("2026-03-02T17:00:00Z")
ANA = "+12125550100"
WAITS = st.lists(st.integers(min_value=30, max_value=60), min_size=0, max_size=3)


def sequence(name: str, later_waits: list[int]) -> list[tuple[str, int]]:
    bodies = [f"{name} step 1, Reply STOP to opt out."]
    bodies += [f"{name} step {n + 2}" for n in range(len(later_waits))]
    return list(zip(bodies, [0, *later_waits], strict=True))


def world_of(old: list[int], new: list[int], campaign_template: str) -> Desired:
    steps_old, steps_new = sequence("old", old), sequence("new", new)
    return desired(
        [campaign("c", campaign_template, "g")],
        [
            template("old", [b for b, _ in steps_old], [w for _, w in steps_old]),
            template("new", [b for b, _ in steps_new], [w for _, w in steps_new]),
        ],
        [group("g", [contact(ANA, NY, "NY")])],
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(old=WAITS, new=WAITS, sent_before=st.integers(min_value=1, max_value=4))
def test_switch_accepted_exactly_when_the_new_steps_cover_the_old(
    old: list[int], new: list[int], sent_before: int
) -> None:
    world = World(balance=100)
    before, after = world_of(old, new, "old"), world_of(old, new, "new")
    now = NOON_NY
    world.tick(before, now)  # launch: step 1 goes out
    for _ in range(min(sent_before, len(old) + 1) - 1):  # a few more steps of the old wording
        due = world.next_due_after(now)
        assert due is not None
        now = due
        world.tick(before, now)
    covers = len(new) >= len(old) and all(n >= o for o, n in zip(old, new, strict=False))
    if not covers:
        with pytest.raises(PlanError, match=r"spec\.template cannot switch"):
            make_plan(after, world.snapshot(after, now), now)
        return
    sent = len(world.log)
    live = sent < 1 + len(old)  # else the old sequence is over: its enrollment is done
    now += timedelta(minutes=15)
    plan = world.tick(after, now)
    switch = plan.relaunches["c"].switch
    assert switch is not None and switch.enrollments == int(live)
    while (due := world.next_due_after(now)) is not None:
        now = due
        world.tick(after, now)
    log = world.log
    assert [m.step for m in log] == list(range(1, len(log) + 1))  # each step once, in order
    assert len(log) == (1 + len(new) if live else sent)
    assert all(m.body.startswith("new ") for m in log[sent:])
    for previous, message in pairwise(log):
        waits = [0, *new] if message.at > plan.now else [0, *old]
        assert message.at - previous.at >= timedelta(days=waits[message.step - 1])


def lowered(old: int | None, new: int | None) -> bool:
    return new is not None and (old is None or new <= old)


QUIET = (
    st.sampled_from([time(8), time(9), time(10)]),
    st.sampled_from([time(19), time(20), time(21)]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    mps=st.tuples(st.sampled_from([0.5, 1.0, 2.0]), st.sampled_from([0.5, 1.0, 2.0])),
    daily=st.tuples(st.sampled_from([None, 50, 100]), st.sampled_from([None, 50, 100])),
    start=st.tuples(*[QUIET[0]] * 2),
    end=st.tuples(*[QUIET[1]] * 2),
)
def test_sender_change_accepted_exactly_when_safer(
    mps: tuple[float, float],
    daily: tuple[int | None, int | None],
    start: tuple[time, time],
    end: tuple[time, time],
) -> None:
    world = World(balance=100)
    launch = world_of([30], [30], "old")
    spec = launch.campaigns["c"]
    first = replace(
        spec,
        sender=replace(spec.sender, messages_per_second=mps[0], daily_limit=daily[0]),
        quiet_hours=QuietHours(start[0], end[0]),
    )
    edited = replace(
        spec,
        sender=replace(spec.sender, messages_per_second=mps[1], daily_limit=daily[1]),
        quiet_hours=QuietHours(start[1], end[1]),
    )
    world.tick(replace(launch, campaigns={"c": first}), NOON_NY)
    after = replace(launch, campaigns={"c": edited})
    safer = (
        mps[1] <= mps[0]
        and (daily[1] == daily[0] or lowered(daily[0], daily[1]))
        and start[1] >= start[0]
        and end[1] <= end[0]
    )
    later = NOON_NY + timedelta(minutes=15)
    if not safer:
        with pytest.raises(PlanError, match="once launched"):
            make_plan(after, world.snapshot(after, later), later)
        return
    plan = world.tick(after, later)
    changed = (mps[0], daily[0], start[0], end[0]) != (mps[1], daily[1], start[1], end[1])
    assert ("c" in plan.relaunches) == changed
    record = world.campaigns["c"].launch
    assert record is not None and record.sender == edited.sender
    assert record.quiet_hours == edited.quiet_hours
