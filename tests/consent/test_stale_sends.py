"""sendWithin over weeks, on a real state file through the real executor (tests/planner/
world.py): a step that could not go out in time is passed over (`expired`) and the sequence
goes on from its expiry; nothing stale goes out after a pause."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from campaignctl.core.types import Desired, Step, TemplateSpec
from tests.planner.world import HERE, World, at, campaign, contact, desired, group

NEW_YORK = ("America/New_York",)
WEEK = timedelta(days=7)
PEOPLE = [f"+1212555{n:04d}" for n in range(3)]


def _desired(status: str = "active", within: timedelta | None = WEEK) -> Desired:
    steps = (
        Step("Hi {{ first_name }}, it's Sam at Acme Realty. Reply STOP to opt out.", 0, within),
        Step("New listings this month.", 30, within),
    )
    return desired(
        [campaign("spring", "t", "g", status=status)],
        [TemplateSpec("t", "published", steps, HERE)],
        [group("g", [contact(p, NEW_YORK, "NY", first_name="Ana") for p in PEOPLE])],
    )


def _paused_for(world: World, days: int) -> Desired:
    """Launched at midnight in New York (step 1 waits for 08:00), paused an hour later, and
    resumed `days` later at 10:00 New York."""
    d = _desired()
    world.tick(d, at("2026-03-02T05:00:00Z"))  # 00:00 New York: enrolled, quiet hours
    paused = replace(d, campaigns={"spring": replace(d.campaigns["spring"], status="paused")})
    world.tick(paused, at("2026-03-02T06:00:00Z"))
    resumed = at("2026-03-02T15:00:00Z") + timedelta(days=days)
    world.tick(d, resumed)
    world.tick(d, resumed + timedelta(minutes=15))
    world.tick(d, resumed + timedelta(minutes=30))
    return d


def test_a_campaign_paused_40_days_and_resumed_sends_nothing_stale() -> None:
    world = World(balance=100)
    _paused_for(world, 40)
    # step 1 became due at 08:00 New York on day 0 (13:00Z) and expired 7 days later; step
    # 2 waits 30 days from that expiry (due 2026-04-08T13:00Z, until 04-15): it goes out
    sent = world.log
    assert {(s.phone, s.step) for s in sent} == {(p, 2) for p in PEOPLE}
    assert all(s.at >= at("2026-04-11T15:00:00Z") for s in sent)
    expired = [a for plan in world.plans for a in plan.actions if a.reason == "expired"]
    assert {(a.phone, a.step) for a in expired} == {(p, 1) for p in PEOPLE}
    assert {a.expired_at for a in expired if a.type == "skip"} == {at("2026-03-09T13:00:00Z")}
    for e in world.enrollments.values():
        assert (e.status, e.steps_sent) == ("done", 2)


def test_a_pause_longer_than_every_window_passes_the_whole_sequence_over() -> None:
    world = World(balance=100)
    _paused_for(world, 50)  # step 2 expired on 2026-04-15, before the resume
    assert world.log == []
    skipped = [(a.phone, a.step) for plan in world.plans for a in plan.actions
               if a.type == "skip"]  # fmt: skip
    assert sorted(skipped) == sorted((p, n) for p in PEOPLE for n in (1, 2))
    for e in world.enrollments.values():
        assert (e.status, e.steps_sent) == ("done", 2)


def test_a_step_sent_in_time_is_not_touched_by_send_within() -> None:
    world = World(balance=100)
    d = _desired()
    world.tick(d, at("2026-03-02T15:00:00Z"))  # 10:00 New York: enrolled and sent at once
    world.tick(d, at("2026-04-01T15:00:00Z"))  # step 2 due (30 days after): sent
    assert sorted((s.phone, s.step) for s in world.log) == sorted(
        (p, n) for p in PEOPLE for n in (1, 2)
    )
    assert not any(a.reason == "expired" for plan in world.plans for a in plan.actions)
