"""The sending rules as properties of the pure planner, over simulated months.

Each example builds random contacts across US zones (split area codes, Arizona, Hawaii,
toll-free with and without a zone), random templates and campaigns, and random events (pauses,
credit top-ups, DNC changes, opt-outs, a suspend). It then ticks the planner on a 15-minute
grid, applying each plan to a simulated state, and checks every message ever sent.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaignctl.core.types import MIN_GAP, Desired, QuietHours, Settings
from tests.planner.world import (
    NINE_TO_FIVE,
    World,
    campaign,
    contact,
    desired,
    group,
    template,
)

TICK = timedelta(minutes=15)

ZONE_SETS: list[tuple[str, ...]] = [
    ("America/New_York",),
    ("America/Chicago",),
    ("America/Denver",),
    ("America/Phoenix",),
    ("America/Los_Angeles",),
    ("Pacific/Honolulu",),
    ("America/Anchorage",),
    ("America/Boise", "America/Los_Angeles"),
    ("America/Indiana/Indianapolis", "America/Chicago"),
    ("America/Kentucky/Louisville", "America/Chicago"),
    (),  # toll-free without an explicit zone and no fallback
]
STATES = [None, "TX", "FL", "RI", "UT", "CA", "NY", "MS", "KY"]

BODIES = [
    "Hi {{ first_name | default('there') }}, new homes in {{ city | default('town') }}. Reply STOP to opt out.",
    "Hi {{ first_name }}, still looking? Reply STOP to opt out.",
    "Quick update on listings near you \u2014 prices dropped this week.",
    "Open house Saturday " + "with plenty of detail " * 9,
]


@dataclass(frozen=True)
class Event:
    at: timedelta
    kind: str
    target: int


contacts_st = st.lists(
    st.tuples(
        st.integers(0, len(ZONE_SETS) - 1),
        st.sampled_from(STATES),
        st.sampled_from(["Ana", "Bo", "", "Zoë"]),
    ),
    min_size=30,
    max_size=400,
)

EVENT_KINDS = [
    "pause",
    "unpause",
    "topup",
    "dnc_add",
    "dnc_remove",
    "optout",
    "suspend",
    "unsuspend",
    "add_contact",
    "move_contact",
    "move_contact",
]


def events_of(kinds: list[str], days: int, most: int) -> st.SearchStrategy[list[Event]]:
    """Up to `most` events of these kinds at random ticks of the first `days` days."""
    return st.lists(
        st.builds(
            Event,
            at=st.integers(0, days * 24 * 4).map(lambda n: n * TICK),
            kind=st.sampled_from(kinds),
            target=st.integers(0, 10_000),
        ),
        max_size=most,
    )


events_st = events_of(EVENT_KINDS, 120, 25)


def build(
    contacts: list[tuple[int, str | None, str]],
    n_campaigns: int,
    waits: list[int],
    body_ix: list[int],
    quiet_narrow: bool,
) -> Desired:
    people = [
        contact(f"+1{2025550000 + i:010d}", ZONE_SETS[z], s, first_name=name)
        for i, (z, s, name) in enumerate(contacts)
    ]
    templates = [
        template(
            f"t{k}",
            [BODIES[body_ix[(k + j) % len(body_ix)]] for j in range(len(waits))],
            [0, *waits[1:]],
        )
        for k in range(n_campaigns)
    ]
    groups = []
    campaigns = []
    for k in range(n_campaigns):
        # overlapping groups: the same number can be wanted by two campaigns
        members = [p for i, p in enumerate(people) if i % n_campaigns == k or i % 5 == 0]
        groups.append(group(f"g{k}", members))
        campaigns.append(
            campaign(
                f"c{k}",
                f"t{k}",
                f"g{k}",
                sender=f"+1512555010{k}",
                mps=0.01 + 0.02 * k,
                daily=None if k else 40,
                quiet=NINE_TO_FIVE if (quiet_narrow and k == 1) else QuietHours(),
            )
        )
    return desired(campaigns, templates, groups, settings=Settings(state_quiet_hours=True))


def inside_window(at: datetime, zones: tuple[str, ...], quiet: QuietHours) -> bool:
    """Independent check: local wall time in every zone is within [start, end)."""
    for zone in zones:
        local = at.astimezone(ZoneInfo(zone)).time()
        if not (quiet.start <= local < quiet.end):
            return False
    return bool(zones)


def next_tick(start: datetime, candidate: datetime) -> datetime:
    steps = math.ceil((candidate - start) / TICK)
    return start + steps * TICK


def apply_event(d: Desired, world: World, ev: Event, people: list[str]) -> Desired:
    names = sorted(d.campaigns)
    name = names[ev.target % len(names)]
    phone = people[ev.target % len(people)]
    if ev.kind == "pause":
        spec = d.campaigns[name]
        return replace(d, campaigns={**d.campaigns, name: replace(spec, status="paused")})
    if ev.kind == "unpause":
        spec = d.campaigns[name]
        return replace(d, campaigns={**d.campaigns, name: replace(spec, status="active")})
    if ev.kind == "topup":
        world.balance += ev.target % 50
    elif ev.kind == "dnc_add":
        return replace(d, dnc=d.dnc | {phone})
    elif ev.kind == "dnc_remove":
        return replace(d, dnc=d.dnc - {phone})
    elif ev.kind == "optout":
        world.opted_out.add(phone)
    elif ev.kind == "suspend":
        world.suspended = "maintenance"
    elif ev.kind == "unsuspend":
        world.suspended = None
    elif ev.kind == "move_contact":
        # the number leaves one campaign's group and joins the next one's: the first
        # enrollment ends (removed) and the second campaign wants the number at once
        groups = sorted(d.groups)
        src = d.groups[groups[ev.target % len(groups)]]
        dst = d.groups[groups[(ev.target + 1) % len(groups)]]
        moving = [c for c in src.contacts if c.phone == phone]
        if not moving or src.name == dst.name:
            return d
        kept = [c for c in src.contacts if c.phone != phone]
        joined = [
            *dst.contacts,
            *(m for m in moving if all(c.phone != m.phone for c in dst.contacts)),
        ]
        return replace(
            d,
            groups={**d.groups, src.name: group(src.name, kept), dst.name: group(dst.name, joined)},
        )
    elif ev.kind == "add_contact":
        g = d.groups[d.campaigns[name].prospect_group]
        extra = contact(
            f"+1{3035550000 + ev.target:010d}", ZONE_SETS[ev.target % 10], None, first_name="New"
        )
        if all(c.phone != extra.phone for c in g.contacts):
            new_group = group(g.name, [*g.contacts, extra])
            return replace(d, groups={**d.groups, g.name: new_group})
    return d


def simulate(d: Desired, world: World, start: datetime, days: int, events: list[Event]) -> Desired:
    """Tick from start for `days`, checking every plan; returns the final desired state."""
    people = sorted({c.phone for g in d.groups.values() for c in g.contacts})
    pending = sorted(events, key=lambda e: e.at)
    now = start
    end = start + timedelta(days=days)
    while now < end:
        world.now = now
        while pending and start + pending[0].at <= now:
            d = apply_event(d, world, pending.pop(0), people)
        before = world.sent()
        plan = world.tick(d, now)
        check_plan(d, world, plan, before, now)
        wake = [a.until for a in plan.actions if a.type == "defer" and a.until is not None]
        due = world.next_due_after(now)
        live = [due] if due is not None else []
        if pending:
            wake.append(start + pending[0].at)
        candidates = [w for w in wake + live if w > now]
        now = next_tick(start, min(candidates)) if candidates else end
        now = max(now, start + math.floor((now - start) / TICK) * TICK)
        if plan.has_changes and any(a.type == "send" for a in plan.actions):
            now = min(now, next_tick(start, plan.now + TICK))
    return d


def check_plan(d: Desired, world: World, plan, before: int, now: datetime) -> None:  # type: ignore[no-untyped-def]
    assert world.balance >= 0
    per_sender: dict[str, int] = {}
    campaigns = world.campaigns
    for sent in world.sent_since(before):
        launch = campaigns[sent.campaign].launch
        assert launch is not None
        zones = world.zones_of(sent.campaign, sent.phone)
        assert inside_window(sent.at, zones, launch.quiet_hours), sent
        assert sent.phone not in d.dnc and sent.phone not in world.opted_out
        assert world.suspended is None
        assert "{{" not in sent.body
        per_sender[launch.sender.key] = per_sender.get(launch.sender.key, 0) + 1
    for key, n in per_sender.items():
        spec = next(c for c in d.campaigns.values() if c.sender.key == key)
        assert n <= max(1, int(spec.sender.messages_per_second * 900))


def check_log(world: World) -> None:
    seen: set[tuple[str, str, int]] = set()
    by_phone: dict[str, list[datetime]] = {}
    for sent in world.log:
        key = (sent.campaign, sent.phone, sent.step)
        assert key not in seen, f"step sent twice: {key}"
        seen.add(key)
        by_phone.setdefault(sent.phone, []).append(sent.at)
    for phone, times in by_phone.items():
        times.sort()
        for a, b in itertools.pairwise(times):
            assert b - a >= MIN_GAP, f"{phone}: messages {a} and {b} under 30 days apart"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    contacts=contacts_st,
    n_campaigns=st.integers(1, 3),
    waits=st.lists(st.integers(30, 45), min_size=1, max_size=3),
    body_ix=st.lists(st.integers(0, len(BODIES) - 1), min_size=1, max_size=3),
    quiet_narrow=st.booleans(),
    start_day=st.integers(0, 364),
    start_quarter=st.integers(0, 95),
    credits=st.integers(0, 400),
    events=events_st,
)
def test_rules_hold_over_simulated_months(
    contacts, n_campaigns, waits, body_ix, quiet_narrow, start_day, start_quarter, credits, events
) -> None:  # type: ignore[no-untyped-def]
    start = (
        datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC"))
        + timedelta(days=start_day)
        + start_quarter * TICK
    )
    d = build(contacts, n_campaigns, waits, body_ix, quiet_narrow)
    world = World(balance=credits)
    d = simulate(d, world, start, 120, events)
    check_log(world)

    # Then calm: everything active, nothing suspended, ample credits. Every live enrollment
    # must finish its sequence or end with a reason.
    world.suspended = None
    world.balance += 100_000
    d = replace(d, campaigns={n: replace(c, status="active") for n, c in d.campaigns.items()})
    # a number listed by several campaigns goes through them one after the other
    calm = (60 * len(waits) + 40) * n_campaigns
    d = simulate(d, world, start + timedelta(days=120), calm, [])
    check_log(world)
    campaigns = world.campaigns
    for key, enrollment in world.enrollments.items():
        if campaigns[key[0]].status == "completed":
            continue
        assert enrollment.status in ("done", "ended"), (key, enrollment)


@pytest.mark.slow
@pytest.mark.timeout(1200)  # a year of ticks on a real state file
def test_a_year_with_thousands_of_contacts() -> None:
    """One long run: 3,000 contacts, three campaigns, a year of ticks with events."""
    rng = random.Random(20261127)
    contacts = [
        (rng.randrange(len(ZONE_SETS)), rng.choice(STATES), rng.choice(["Ana", "", "Bo"]))
        for _ in range(3000)
    ]
    events = [
        Event(rng.randrange(300 * 24 * 4) * TICK, rng.choice(EVENT_KINDS), rng.randrange(10_000))
        for _ in range(200)
    ]
    start = datetime(2026, 1, 1, 7, tzinfo=ZoneInfo("UTC"))
    d = build(contacts, 3, [30, 31, 45], [0, 1, 2], True)
    world = World(balance=2_000)
    d = simulate(d, world, start, 365, events)
    check_log(world)
    assert len(world.log) > 1_000  # the run really sent, under every rule
