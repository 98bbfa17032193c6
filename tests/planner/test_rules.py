"""Each sending rule and lifecycle transition of the planner, by example."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from campaignctl.core.planner import plan as make_plan
from campaignctl.core.types import GroupSpec, InvalidContact, Settings, Step
from campaignctl.errors import PlanError
from tests.planner.world import (
    HERE,
    World,
    at,
    campaign,
    contact,
    desired,
    group,
    template,
)

NY = ("America/New_York",)
LA = ("America/Los_Angeles",)
NOON_NY = at("2026-03-02T17:00:00Z")  # 12:00 in New York, 09:00 in Los Angeles

TWO_STEPS = template(
    "t", ["Hi {{ first_name }}! Reply STOP to opt out.", "Still looking?"], [0, 30]
)


def one(**kw):  # type: ignore[no-untyped-def]
    people = kw.pop("people", [contact("+12125550100", NY, "NY", first_name="Ana")])
    return desired([campaign("c", "t", "g", **kw)], [TWO_STEPS], [group("g", people)])


def types(plan):  # type: ignore[no-untyped-def]
    return [(a.type, a.phone, a.reason) for a in plan.actions]


def test_launch_enrolls_and_sends_step_one_at_once() -> None:
    world = World(balance=10)
    plan = world.tick(one(), NOON_NY)
    assert [a.type for a in plan.actions] == ["campaign_status", "enroll", "send"]
    send = plan.actions[-1]
    assert send.body == "Hi Ana! Reply STOP to opt out." and send.step == 1
    assert send.segments == 1 and send.credits == 1
    assert world.balance == 9
    # nothing more is due for 30 days: the next plan is empty
    assert world.tick(one(), NOON_NY + timedelta(minutes=15)).actions == ()


def test_quiet_hours_defer_until_the_window_opens() -> None:
    world = World(balance=10)
    night = at("2026-03-02T03:00:00Z")  # 22:00 in New York (EST)
    plan = world.tick(one(), night)
    defer = [a for a in plan.actions if a.type == "defer"]
    assert defer and defer[0].reason == "quiet_hours"
    assert defer[0].until == at("2026-03-02T13:00:00Z")  # 08:00 EST
    assert not [a for a in plan.actions if a.type == "send"]
    assert not plan.has_changes or any(a.type == "enroll" for a in plan.actions)


def test_split_zone_number_waits_for_every_zone() -> None:
    people = [
        contact("+12085550100", ("America/Boise", "America/Los_Angeles"), "ID", first_name="Bo")
    ]
    world = World(balance=10)
    # 15:30 UTC: 08:30 in Boise (MST), 07:30 in Los Angeles (PST)
    plan = world.tick(one(people=people), at("2026-03-02T15:30:00Z"))
    (defer,) = [a for a in plan.actions if a.type == "defer"]
    assert defer.until == at("2026-03-02T16:00:00Z")


def test_dnc_and_opted_out_numbers_are_never_enrolled() -> None:
    people = [
        contact("+12125550100", NY, first_name="A"),
        contact("+12125550101", NY, first_name="B"),
        contact("+12125550102", NY, first_name="C"),
    ]
    d = replace(one(people=people), dnc=frozenset({"+12125550100"}))
    world = World(balance=10, opted_out={"+12125550101"})
    plan = world.tick(d, NOON_NY)
    assert ("skip", "+12125550100", "dnc") in types(plan)
    assert ("skip", "+12125550101", "opted_out") in types(plan)
    assert [a.phone for a in plan.actions if a.type == "send"] == ["+12125550102"]


def test_dnc_added_later_ends_the_enrollment_at_the_next_step() -> None:
    world = World(balance=10)
    d = one()
    world.tick(d, NOON_NY)
    later = NOON_NY + timedelta(days=31)
    plan = world.tick(replace(d, dnc=frozenset({"+12125550100"})), later)
    assert types(plan) == [("skip", "+12125550100", "dnc")]
    assert world.ended[("c", "+12125550100")] == "dnc"


def test_a_number_is_in_one_campaign_at_a_time() -> None:
    ana = contact("+12125550100", NY, first_name="Ana")
    d = desired(
        [campaign("a", "t", "g1"), campaign("b", "t", "g2", sender="+15125550101")],
        [TWO_STEPS],
        [group("g1", [ana]), group("g2", [ana])],
    )
    plan = World(balance=10).tick(d, NOON_NY)
    assert ("enroll", ana.phone, None) in [
        (a.type, a.phone, a.reason) for a in plan.actions if a.campaign == "a"
    ]
    assert [(a.type, a.reason) for a in plan.actions if a.campaign == "b" and a.phone] == [
        ("skip", "already_enrolled")
    ]


def test_thirty_days_between_messages_across_campaigns() -> None:
    ana = contact("+12125550100", NY, first_name="Ana")
    world = World(balance=10)
    d1 = desired([campaign("a", "t", "g1")], [TWO_STEPS], [group("g1", [ana])])
    world.tick(d1, NOON_NY)
    # campaign a ends for Ana (removed from its group); campaign b wants her ten days later
    d2 = desired(
        [campaign("a", "t", "g1"), campaign("b", "t", "g2")],
        [TWO_STEPS],
        [group("g1", []), group("g2", [ana])],
    )
    plan = world.tick(d2, NOON_NY + timedelta(days=10))
    assert ("end", ana.phone, "removed") in types(plan)
    (defer,) = [a for a in plan.actions if a.type == "defer"]
    assert defer.reason == "recent_outreach" and defer.until == NOON_NY + timedelta(days=30)


def test_follow_up_waits_from_the_actual_send() -> None:
    world = World(balance=10)
    night = at("2026-03-02T03:00:00Z")
    world.tick(one(), night)  # deferred: quiet hours
    world.tick(one(), at("2026-03-02T13:00:00Z"))  # sent at 08:00 EST
    first = world.log[0].at
    assert world.tick(one(), first + timedelta(days=30) - timedelta(minutes=15)).actions == ()
    plan = world.tick(one(), first + timedelta(days=30))
    assert [a.step for a in plan.actions if a.type == "send"] == [2]


def test_credits_pause_and_resume() -> None:
    people = [contact(f"+1212555010{i}", NY, first_name="A") for i in range(3)]
    world = World(balance=2)
    d = one(people=people)
    plan = world.tick(d, NOON_NY)
    assert sum(a.type == "send" for a in plan.actions) == 2
    assert ("pause", None, "insufficient_credits") in types(plan)
    assert world.campaigns["c"].status == "paused"
    assert world.balance == 0
    # still short: no new pause action, the message waits
    plan = world.tick(d, NOON_NY + timedelta(minutes=15))
    assert [a.type for a in plan.actions] == ["defer"]
    world.balance = 5
    plan = world.tick(d, NOON_NY + timedelta(minutes=30))
    assert [a.type for a in plan.actions] == ["resume", "send"]
    assert world.campaigns["c"].status == "active"


def test_pace_per_tick_and_daily_limit() -> None:
    people = [contact(f"+121255501{i:02d}", NY, first_name="A") for i in range(20)]
    d = one(people=people, mps=0.005, daily=6)  # 0.005/s x 900 s = 4 per tick
    world = World(balance=100)
    plan = world.tick(d, NOON_NY)
    assert sum(a.type == "send" for a in plan.actions) == 4
    rate = [a for a in plan.actions if a.reason == "rate_limit"]
    assert len(rate) == 16 and rate[0].until == NOON_NY + timedelta(minutes=15)
    plan = world.tick(d, NOON_NY + timedelta(minutes=15))
    assert sum(a.type == "send" for a in plan.actions) == 2  # daily limit 6 reached
    assert {a.until for a in plan.actions if a.reason == "rate_limit"} == {
        at("2026-03-03T00:00:00Z")
    }


def test_suspend_and_pause_send_nothing() -> None:
    world = World(balance=10, suspended="incident 42")
    plan = world.tick(one(), NOON_NY)
    assert [a.reason for a in plan.actions if a.type == "defer"] == ["suspended"]
    world.suspended = None
    paused = one(status="paused")
    plan = make_plan(paused, world.snapshot(paused, NOON_NY), NOON_NY)
    status, defer = plan.actions
    assert status.type == "campaign_status"
    assert (status.from_status, status.to_status) == ("active", "paused")
    assert (defer.type, defer.reason) == ("defer", "campaign_paused")


def test_draft_sends_nothing_and_is_not_enrolled() -> None:
    plan = World(balance=10).tick(one(status="draft"), NOON_NY)
    assert plan.actions == ()


def test_removed_contact_gets_no_further_message() -> None:
    people = [
        contact("+12125550100", NY, first_name="A"),
        contact("+12125550101", NY, first_name="B"),
    ]
    world = World(balance=10)
    world.tick(one(people=people), NOON_NY)
    plan = world.tick(one(people=people[:1]), NOON_NY + timedelta(days=31))
    assert ("end", "+12125550101", "removed") in types(plan)
    assert [a.phone for a in plan.actions if a.type == "send"] == ["+12125550100"]


def test_missing_field_unknown_timezone_invalid_phone() -> None:
    people = [
        contact("+12125550100", NY, first_name=""),
        contact("+18005550100", ()),
        contact("+12125550102", NY, first_name="Cy"),
    ]
    g = group("g", people)
    g = GroupSpec(
        g.name,
        HERE,
        g.digest,
        g.contacts,
        (InvalidContact("555-01", "too short", HERE),),
        g.field_names,
    )
    d = desired([campaign("c", "t", "g")], [TWO_STEPS], [g])
    plan = World(balance=10).tick(d, NOON_NY)
    got = types(plan)
    assert ("skip", "+12125550100", "missing_field") in got
    assert ("skip", "+18005550100", "unknown_timezone") in got
    assert ("skip", "555-01", "invalid_phone") in got
    assert [a.phone for a in plan.actions if a.type == "send"] == ["+12125550102"]


def test_stays_active_when_every_enrollment_ended() -> None:
    world = World(balance=10)
    d = desired(
        [campaign("c", "t", "g")],
        [template("t", ["Hello, reply STOP to opt out"], [0])],
        [group("g", [contact("+12125550100", NY)])],
    )
    world.tick(d, NOON_NY)
    assert world.tick(d, NOON_NY + timedelta(minutes=15)).actions == ()
    assert world.campaigns["c"].status == "active"


def test_completes_when_every_enrollment_ended_if_asked() -> None:
    world = World(balance=10)
    d = desired(
        [replace(campaign("c", "t", "g"), complete_when="allEnded")],
        [template("t", ["Hello, reply STOP to opt out"], [0])],
        [group("g", [contact("+12125550100", NY)])],
    )
    world.tick(d, NOON_NY)
    plan = world.tick(d, NOON_NY + timedelta(minutes=15))
    assert [a.type for a in plan.actions] == ["complete"]
    assert world.tick(d, NOON_NY + timedelta(minutes=30)).actions == ()
    assert any("is completed" in n for n in world.tick(d, NOON_NY + timedelta(hours=1)).notes)


def test_live_campaign_cannot_be_edited() -> None:
    world = World(balance=10)
    world.tick(one(), NOON_NY)
    edited = one(sender="+15125550199")
    with pytest.raises(
        PlanError, match=r'spec.sender.from cannot change once launched \(was "\+15125550100"'
    ):
        make_plan(edited, world.snapshot(edited, NOON_NY), NOON_NY)
    reworded = replace(one(), templates={"t": template("t", ["Hi!", "Still looking?"], [0, 30])})
    with pytest.raises(PlanError, match=r"spec.steps\[0\].body cannot change"):
        make_plan(reworded, world.snapshot(reworded, NOON_NY), NOON_NY)
    # status, labels and description may change
    relabelled = replace(
        one(), campaigns={"c": replace(one().campaigns["c"], labels={"team": "x"})}
    )
    make_plan(relabelled, world.snapshot(relabelled, NOON_NY), NOON_NY)


def test_empty_config_is_refused_unless_allowed() -> None:
    world = World(balance=10)
    world.tick(one(), NOON_NY)
    empty = desired([], [], [])
    with pytest.raises(PlanError, match="no campaigns but the state has 1 live"):
        make_plan(empty, world.snapshot(empty, NOON_NY), NOON_NY)
    plan = make_plan(empty, world.snapshot(empty, NOON_NY), NOON_NY, allow_empty=True)
    assert any("not in the configuration" in n for n in plan.notes)


def test_summary_and_changes() -> None:
    plan = World(balance=10).tick(one(), NOON_NY)
    assert plan.summary() == {"campaign_status": 1, "enroll": 1, "send": 1, "credits": 1}
    assert plan.has_changes
    assert plan.expires_at == NOON_NY + Settings().reconcile_interval


def test_waitdays_counted_per_step() -> None:
    t = template("t", ["One. Reply STOP to opt out.", "Two", "Three"], [0, 30, 45])
    d = desired([campaign("c", "t", "g")], [t], [group("g", [contact("+12125550100", NY)])])
    world = World(balance=10)
    world.tick(d, NOON_NY)
    world.tick(d, NOON_NY + timedelta(days=30))
    assert world.tick(d, NOON_NY + timedelta(days=74)).actions == ()
    plan = world.tick(d, NOON_NY + timedelta(days=75))
    assert [a.step for a in plan.actions if a.type == "send"] == [3]
    assert Step("x", 0).wait_days == 0
