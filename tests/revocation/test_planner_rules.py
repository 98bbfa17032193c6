"""The pure planner's side of revocation, as a property: given any numbers held for review
and any wrong numbers in the snapshot, at any moment, a plan never sends to either, never
enrolls a wrong number, waits on a held number's due step (defer, replied) and ends a wrong
number's (skip, wrong_number) once it is read: one that comes after its campaign's pace is
used waits its turn unread (defer, rate_limit), and no later send of that campaign follows."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from functools import cache

from hypothesis import given
from hypothesis import strategies as st

from campaignctl.core.planner import plan as make_plan
from campaignctl.core.types import Desired
from tests.planner.test_properties import TICK, build
from tests.planner.world import World, contact, group

START = datetime.fromisoformat("2026-03-02T17:00:00+00:00")
CONTACTS = [(i % 7, None, "Ana") for i in range(40)]
HELD_ENDS = {"dnc", "opted_out", "unknown_timezone", "missing_field", "wrong_number"}


@cache
def world_and_configs() -> tuple[World, Desired, Desired, list[str]]:
    """A state where three campaigns launched and sent their first step, and a config
    whose groups have since grown (their new numbers are enrolled by the next plan)."""
    first = build(CONTACTS, 3, [30, 31], [0, 1], False)
    world = World(balance=100_000)
    for tick in range(8):
        world.tick(first, START + tick * TICK)
    grown = dict(first.groups)
    for k, name in enumerate(sorted(first.groups)):
        old = first.groups[name]
        extra = [contact(f"+1303555{k}{i:03d}", ("America/Denver",), None, first_name="New")
                 for i in range(6)]  # fmt: skip
        grown[name] = group(name, [*old.contacts, *extra])
    second = replace(first, groups=grown)
    phones = sorted({c.phone for g in grown.values() for c in g.contacts})
    return world, first, second, phones


@given(
    held=st.sets(st.integers(0, 75)),
    wrong=st.sets(st.integers(0, 75)),
    later=st.integers(0, 70 * 24 * 4),
    grown=st.booleans(),
)
def test_no_send_to_a_held_or_wrong_number_and_no_enrollment_of_a_wrong_one(
    held: set[int], wrong: set[int], later: int, grown: bool
) -> None:
    world, first, second, phones = world_and_configs()
    desired = second if grown else first
    now = START + later * TICK
    held_phones = frozenset(phones[i % len(phones)] for i in held)
    wrong_phones = frozenset(phones[i % len(phones)] for i in wrong)
    snapshot = replace(world.snapshot(desired, now), held=held_phones, wrong_numbers=wrong_phones)
    spent: set[str] = set()  # campaigns whose pace is used: the rest of their queue is not read
    for action in make_plan(desired, snapshot, now).actions:
        if action.type == "send":
            assert action.campaign not in spent, action
        if action.type == "defer" and action.reason == "rate_limit":
            # waits its turn, not looked at (core/nextdue.py): decided when it is read
            spent.add(action.campaign)
            continue
        if action.phone in wrong_phones:
            assert action.type in ("skip", "end"), action
            if action.type == "skip" and action.reason not in ("dnc", "opted_out"):
                assert action.reason == "wrong_number", action
        elif action.phone in held_phones:
            assert action.type != "send", action
            if action.type == "defer":
                assert action.reason == "replied", action
            if action.type == "skip" and action.step is not None:  # a due step refused
                assert action.reason in HELD_ENDS, action
