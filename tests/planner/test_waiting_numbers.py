"""Numbers listed by several campaigns, as properties over simulated months.

Every campaign launches at the start on a group that never changes afterwards; a number
listed by several groups is held by one campaign at a time. Each example ticks the planner
on a real state file (tests/planner/world.py), with replies ending enrollments early, and
checks against an independent account of what must happen:

- the campaigns listing a number enroll it one after the other, in the order they first
  waited for it (at launch: by name), each at the first tick after the one before ended;
- once a number's last enrollment ended, no campaign listing it is left waiting;
- a campaign with `completeWhen: allEnded` never completes while a number of its group
  waits for another campaign; one without it is never completed.
"""

from __future__ import annotations

import itertools
import math
import sqlite3
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaignctl.core.instants import parse_instant
from campaignctl.core.types import Desired
from tests.planner.world import World, campaign, contact, desired, group, template

TICK = timedelta(minutes=15)
ZONES = [("America/New_York",), ("America/Chicago",), ("America/Los_Angeles",)]
START = datetime(2026, 3, 2, 14, tzinfo=ZoneInfo("UTC"))


@dataclass(frozen=True)
class Reply:
    """A reply from a number a minute before a tick: its live enrollment ends (stopOnReply)."""

    tick: int
    person: int


def build(
    listed: list[int], zones: list[int], steps: list[int], waits: list[int], complete: list[bool]
) -> Desired:
    """`listed[i]`: a bit per campaign whose group lists person i (at least one)."""
    n = len(steps)
    people = [
        contact(f"+1212555{i:04d}", ZONES[zones[i] % len(ZONES)], first_name="Ana")
        for i in range(len(listed))
    ]
    templates = [
        template(
            f"t{k}",
            [f"Step {j + 1} of c{k}. Reply STOP to opt out." for j in range(steps[k])],
            [0, *[waits[(k + j) % len(waits)] for j in range(1, steps[k])]],
        )
        for k in range(n)
    ]
    groups = [
        group(f"g{k}", [p for i, p in enumerate(people) if listed[i] >> k & 1]) for k in range(n)
    ]
    campaigns = [
        replace(
            campaign(f"c{k}", f"t{k}", f"g{k}", sender=f"+1512555010{k}"),
            complete_when="allEnded" if complete[k] else None,
        )
        for k in range(n)
    ]
    return desired(campaigns, templates, groups)


def _rows(world: World, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(f"file:{world.path}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _freed(world: World) -> bool:
    """Whether a number some campaign waits for is free: the next tick enrolls it."""
    return bool(_rows(world, "SELECT 1 FROM waiting WHERE free > 0 LIMIT 1"))


def simulate(d: Desired, world: World, days: int, replies: list[Reply]) -> datetime:
    """Tick on the 15-minute grid for `days`: every tick where something can happen (a
    message due or deferred until then, a reply, a number freed); returns the end."""
    people = sorted({c.phone for g in d.groups.values() for c in g.contacts})
    pending = sorted(replies, key=lambda r: r.tick)
    end = START + timedelta(days=days)
    now = START
    while now < end:
        while pending and START + pending[0].tick * TICK <= now:
            reply = pending.pop(0)
            phone = people[reply.person % len(people)]
            world.store.end_live_enrollments(phone, "replied", now - timedelta(minutes=1), True)
        plan = world.tick(d, now)
        wake = [a.until for a in plan.actions if a.type == "defer" and a.until is not None]
        due = world.next_due_after(now)
        if due is not None:
            wake.append(due)
        if pending:
            wake.append(START + pending[0].tick * TICK)
        if _freed(world) or any(a.type in ("send", "enroll") for a in plan.actions):
            wake.append(now + TICK)
        later = [w for w in wake if w > now]
        if not later:
            return end
        now = START + math.ceil((min(later) - START) / TICK) * TICK
    return end


def next_tick(at: datetime) -> datetime:
    """The first tick strictly after `at`."""
    return START + (math.floor((at - START) / TICK) + 1) * TICK


def check(d: Desired, world: World, end: datetime) -> None:
    listing: dict[str, list[str]] = {}
    for name in sorted(d.campaigns):
        for c in d.groups[d.campaigns[name].prospect_group].contacts:
            listing.setdefault(c.phone, []).append(name)
    enrollments: dict[str, list[tuple[datetime, str, datetime | None]]] = {}
    for name, phone, enrolled_at, ended_at in _rows(
        world, "SELECT campaign, phone, enrolled_at, ended_at FROM enrollments"
    ):
        ended = parse_instant(str(ended_at)) if ended_at else None
        enrollments.setdefault(str(phone), []).append(
            (parse_instant(str(enrolled_at)), str(name), ended)
        )
    for phone, campaigns in listing.items():
        mine = sorted(enrollments.get(phone, []))
        # one after the other, in the order they first waited (all at launch: by name)
        assert [name for _, name, _ in mine] == campaigns[: len(mine)], (phone, mine)
        assert mine and mine[0][0] == START, (phone, mine)
        for (_, _, ended), (enrolled, name, _) in itertools.pairwise(mine):
            assert ended is not None, (phone, mine)
            assert enrolled == next_tick(ended), f"{phone} waited too long for {name}: {mine}"
        last_end = mine[-1][2]
        if last_end is not None and next_tick(last_end) < end:
            assert len(mine) == len(campaigns), f"{phone} left waiting: {mine} of {campaigns}"
    completed = {
        str(name): parse_instant(str(at))
        for name, at in _rows(world, "SELECT campaign, at FROM decisions WHERE type = 'complete'")
    }
    for name, at in completed.items():
        assert d.campaigns[name].complete_when == "allEnded", name
        for phone, campaigns in listing.items():
            if name not in campaigns:
                continue
            theirs = [e for e in enrollments.get(phone, []) if e[1] == name]
            assert theirs, f"{name} completed at {at} while {phone} waited for it"
            ended = theirs[0][2]
            assert ended is not None and ended <= at, (name, phone, theirs)


people_st = st.lists(st.tuples(st.integers(1, 7), st.integers(0, 2)), min_size=2, max_size=14)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    people=people_st,
    n=st.integers(2, 3),
    steps=st.lists(st.integers(1, 2), min_size=3, max_size=3),
    waits=st.lists(st.integers(30, 40), min_size=1, max_size=2),
    complete=st.lists(st.booleans(), min_size=3, max_size=3),
    replies=st.lists(
        st.builds(Reply, tick=st.integers(1, 200 * 96), person=st.integers(0, 100)), max_size=6
    ),
)
def test_numbers_move_to_the_next_campaign_the_moment_they_are_free(
    people: list[tuple[int, int]],
    n: int,
    steps: list[int],
    waits: list[int],
    complete: list[bool],
    replies: list[Reply],
) -> None:
    listed = [mask % (1 << n) or 1 for mask, _ in people]
    d = build(listed, [zone for _, zone in people], steps[:n], waits, complete[:n])
    world = World(balance=100_000)
    end = simulate(d, world, 100 * n, replies)
    check(d, world, end)
