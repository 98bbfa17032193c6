"""The order of a tick, as a property of the pure planner: given the due enrollments oldest
first (numbers in quiet hours mixed in), each sender's pace goes to the first numbers inside
their window, none of them waits behind a number still in quiet hours, and once a sender's
pace is used the rest of its campaigns' queue waits for it without being looked at (a tick
need not read it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from campaignctl.core.planner import Planning
from campaignctl.core.types import Enrollment, Plan, Settings, Snapshot
from campaignctl.core.windows import is_allowed
from tests.planner.world import campaign, contact, desired, group, template

ZONES = [
    ("America/New_York",),
    ("America/Chicago",),
    ("America/Los_Angeles",),
    ("Pacific/Honolulu",),
    ("Asia/Tokyo",),
]
SENDERS = ["+15125550100", "+15125550101"]
START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
TICK = timedelta(minutes=15)  # the reconcile interval: a sender's pace is renewed each tick


def _enrollment(
    index: int, zones: tuple[str, ...], campaign_name: str, due: datetime
) -> Enrollment:
    return Enrollment(
        campaign=campaign_name,
        phone=f"+1212555{index:04d}",
        steps_sent=0,
        last_sent_at=None,
        next_due_at=due,
        enrolled_at=due,
        fields={"first_name": "Ana"},
        zones=zones,
        us_state=None,
    )


EMPTY = Snapshot(
    serial=0,
    campaigns={},
    due=(),
    enrolled={},
    live={},
    live_owner={},
    last_sent={},
    opted_out=frozenset(),
    balance=1000,
    suspended=None,
    sent_today={},
)

queue = st.lists(
    st.tuples(st.sampled_from(ZONES), st.integers(0, 2)), min_size=1, max_size=60
)  # (zones, which campaign) of each due enrollment, oldest first


@settings(max_examples=150, deadline=None)
@given(
    queue=queue,
    hour=st.integers(0, 23),
    paces=st.tuples(st.integers(1, 6), st.integers(1, 6)),
)
def test_the_pace_goes_to_the_oldest_numbers_inside_their_window(
    queue: list[tuple[tuple[str, ...], int]], hour: int, paces: tuple[int, int]
) -> None:
    now = START + timedelta(hours=hour)
    # campaigns 0 and 1 share the first sender, campaign 2 has the second
    names = ["c0", "c1", "c2"]
    sender_of = {"c0": SENDERS[0], "c1": SENDERS[0], "c2": SENDERS[1]}
    pace_of = {SENDERS[0]: paces[0], SENDERS[1]: paces[1]}
    body = template("t", ["Hi {{ first_name }}, reply STOP to opt out."], [0])
    people = group("g", [contact("+12125550100", ZONES[0], first_name="Ana")])
    wanted = desired(
        [
            campaign(n, "t", "g", sender=sender_of[n], mps=pace_of[sender_of[n]] / 900)
            for n in names
        ],
        [body],
        [people],
        settings=Settings(),
    )
    planning = Planning(wanted, EMPTY, now)  # the campaigns launch in this plan
    enrollments = [
        _enrollment(i, zones, names[which], now - timedelta(minutes=len(queue) - i))
        for i, (zones, which) in enumerate(queue)
    ]
    plan: Plan = planning.result(planning.due((e, False) for e in enrollments).actions)

    decided = {(a.campaign, a.phone): a for a in plan.actions if a.phone is not None}
    for sender in SENDERS:
        mine = [e for e in enrollments if sender_of[e.campaign] == sender]
        open_now = [
            e for e in mine if is_allowed(now, e.zones, wanted.campaigns[e.campaign].quiet_hours,
                                          None, True)
        ]  # fmt: skip
        first = open_now[: pace_of[sender]]
        sent = [e for e in mine if decided[(e.campaign, e.phone)].type == "send"]
        assert sent == first  # the oldest inside their window, none behind one in quiet hours
        used = mine.index(first[-1]) + 1 if len(first) == pace_of[sender] else len(mine)
        for e in mine[:used]:  # up to the pace: each number's own window decides
            action = decided[(e.campaign, e.phone)]
            if e not in open_now:
                assert (action.type, action.reason) == ("defer", "quiet_hours")
                assert action.until is not None and action.until > now
        for e in mine[used:]:  # once the pace is used, the rest is not looked at: it waits
            action = decided[(e.campaign, e.phone)]
            assert (action.type, action.reason, action.until) == ("defer", "rate_limit", now + TICK)
