"""Replies in many phrasings, arriving at random moments over simulated months, against the
real planner, executor and state (tests/planner/world.py): no message after a clear
revocation, none to a number while a reply of it waits for review, none to a wrong number
and no enrollment of it afterwards.

What each reply asks comes from how it was written (phrasings.py), not from the classifier:
a revocation the classifier missed would show as a message sent after it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from campaignctl.core.instants import parse_instant
from campaignctl.core.keywords import classify
from campaignctl.core.types import Desired
from campaignctl.store.inbound import InboundEvent
from tests.planner.test_properties import (
    STATES,
    TICK,
    ZONE_SETS,
    build,
    check_log,
    check_plan,
    next_tick,
)
from tests.planner.world import World
from tests.revocation.phrasings import replies

DAYS = 100


@dataclass(frozen=True)
class Reply:
    at: timedelta
    target: int
    kind: str  # what it asks: revoke, review, wrong_number, none
    text: str


@dataclass(frozen=True)
class Decision:
    at: timedelta
    target: int
    optout: bool


@dataclass
class Truth:
    """What the replies asked, as written: when each number revoked, was said to be a wrong
    number, and the spans it was held for review."""

    revoked: dict[str, datetime]
    wrong: dict[str, datetime]
    held: dict[str, list[tuple[datetime, datetime | None]]]

    def held_at(self, phone: str, at: datetime) -> bool:
        return any(
            start <= at and (end is None or at < end) for start, end in self.held.get(phone, [])
        )


reply_st = st.builds(
    lambda at, target, reply: Reply(at * TICK, target, reply[0], reply[1]),
    at=st.integers(0, DAYS * 24 * 4),
    target=st.integers(0, 10_000),
    reply=replies(),
)
decision_st = st.builds(
    lambda at, target, optout: Decision(at * TICK, target, optout),
    at=st.integers(0, DAYS * 24 * 4),
    target=st.integers(0, 10_000),
    optout=st.booleans(),
)


def receive(world: World, truth: Truth, reply: Reply, phone: str, now: datetime) -> None:
    """The reply arrives as the webhook records it, and the truth notes what it asked."""
    meaning = classify(reply.text)
    event = InboundEvent("SM" + secrets.token_hex(16), phone, meaning.kind, meaning.keyword,
                         reply.text)  # fmt: skip
    world.store.record_inbound(event, now)
    opted_out = world.store.optout_of(phone) is not None
    wrong = phone in {w.phone for w in world.store.wrong_numbers()}
    held = phone in {h.phone for h in world.store.review_holds()}
    if reply.kind == "revoke":
        assert opted_out, f"a revocation did not opt out: {reply.text!r}"
        truth.revoked.setdefault(phone, now)
    elif reply.kind == "wrong_number":
        assert wrong or opted_out, f"a wrong number was not recorded: {reply.text!r}"
        truth.wrong.setdefault(phone, now)
    elif reply.kind == "review":
        assert held or wrong or opted_out, f"not held for review: {reply.text!r}"
        if not truth.held_at(phone, now):
            truth.held.setdefault(phone, []).append((now, None))


def decide(world: World, truth: Truth, decision: Decision, now: datetime) -> None:
    """A person decides on the oldest number held now, if any."""
    holds = world.store.review_holds()
    if not holds:
        return
    hold = holds[decision.target % len(holds)]
    world.store.decide(hold.phone, "optout" if decision.optout else "keep", "simulated", now)
    spans = truth.held.get(hold.phone, [])
    if spans and spans[-1][1] is None:
        spans[-1] = (spans[-1][0], now)
    if decision.optout:
        truth.revoked.setdefault(hold.phone, now)


def check(world: World, truth: Truth, before: int) -> None:
    for sent in world.sent_since(before):
        revoked = truth.revoked.get(sent.phone)
        assert revoked is None or sent.at < revoked, f"sent after a revocation: {sent}"
        wrong = truth.wrong.get(sent.phone)
        assert wrong is None or sent.at < wrong, f"sent to a wrong number: {sent}"
        assert not truth.held_at(sent.phone, sent.at), f"sent to a number under review: {sent}"
    rows = world._read("SELECT phone, enrolled_at FROM enrollments")
    for phone, enrolled_at in rows:
        wrong = truth.wrong.get(str(phone))
        enrolled = parse_instant(str(enrolled_at))
        assert wrong is None or enrolled <= wrong, f"{phone} enrolled after a wrong number"


def simulate(d: Desired, world: World, start: datetime, events: list[Reply | Decision]) -> Truth:
    people = sorted({c.phone for g in d.groups.values() for c in g.contacts})
    truth = Truth({}, {}, {})
    pending = sorted(events, key=lambda e: e.at)
    now, end = start, start + timedelta(days=DAYS)
    while now < end:
        world.now = now
        while pending and start + pending[0].at <= now:
            event = pending.pop(0)
            if isinstance(event, Reply):
                receive(world, truth, event, people[event.target % len(people)], now)
            else:
                decide(world, truth, event, now)
        before = world.sent()
        plan = world.tick(d, now)
        check_plan(d, world, plan, before, now)
        check(world, truth, before)
        wake = [a.until for a in plan.actions if a.type == "defer" and a.until is not None]
        due = world.next_due_after(now)
        candidates = [w for w in [*wake, *([due] if due else [])] if w > now]
        if pending:
            candidates.append(start + pending[0].at)
        now = next_tick(start, min(candidates)) if candidates else end
    return truth


@settings(max_examples=20)
@given(
    contacts=st.lists(
        st.tuples(
            st.integers(0, len(ZONE_SETS) - 2),  # every contact has a zone: all can be sent to
            st.sampled_from(STATES),
            st.sampled_from(["Ana", "Bo"]),
        ),
        min_size=10,
        max_size=60,
    ),
    n_campaigns=st.integers(1, 3),
    start_day=st.integers(0, 364),
    events=st.lists(st.one_of(reply_st, reply_st, reply_st, decision_st), max_size=40),
)
def test_no_send_after_a_revocation_nor_to_a_held_or_wrong_number(
    contacts: list[tuple[int, str | None, str]],
    n_campaigns: int,
    start_day: int,
    events: list[Reply | Decision],
) -> None:
    d = build(contacts, n_campaigns, [30, 31], [0, 1], False)
    world = World(balance=100_000)
    start = datetime(2026, 1, 1, 14, tzinfo=ZoneInfo("UTC")) + timedelta(days=start_day)
    simulate(d, world, start, events)
    check_log(world)
