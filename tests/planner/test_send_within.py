"""sendWithin and requireConsent as properties over simulated months, on the world of
test_properties.py (a real state file, the real executor): random contacts with and
without consent records, steps with a sendWithin, and pauses, suspends, credit droughts
and opt-outs at random moments.

Checked on every message sent, independently of how the planner decides:
- with requireConsent, no message goes to a contact without consentSource and consentAt,
  and no such contact is enrolled;
- no message is stale: step n goes out at most sendWithin (plus the longest a quiet-hour
  window can hold a due message, SLACK) after it became due, where it became due waitDays
  after the previous step went out or was passed over, so a step sent after m steps were
  passed over is bounded by the last send before them (or the enrollment) plus the waits
  and windows of each;
- a step passed over (`expired`) is never sent afterwards.

The second property adds replies in many phrasings at random moments (the world of
tests/revocation/test_world.py, which checks at every tick that nothing is sent after a
clear revocation nor to a number under review) to consent required and sendWithin.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaignctl.core.consent import has_consent
from campaignctl.core.sending import Budget, CampaignRun, SendPlanner
from campaignctl.core.types import (
    Desired,
    Enrollment,
    QuietHours,
    Sender,
    Settings,
    Snapshot,
    Step,
)
from tests.planner.test_properties import (
    STATES,
    ZONE_SETS,
    build,
    check_log,
    events_of,
    inside_window,
    simulate,
)
from tests.planner.world import World, group
from tests.revocation.test_world import decision_st, reply_st
from tests.revocation.test_world import simulate as simulate_replies

# the longest a due message waits for an allowed moment: a Saturday evening in a state
# without Sundays (Rhode Island, Utah), then a Monday holiday
SLACK = timedelta(days=4)
# pauses, suspends and droughts; not rows moving between groups (a returning row starts
# its next step afresh from its return, which this bound does not model)
KINDS = ["pause", "unpause", "pause", "topup", "suspend", "unsuspend", "optout", "add_contact"]

contacts_st = st.lists(
    st.tuples(
        st.integers(0, len(ZONE_SETS) - 2),  # every contact has a zone
        st.sampled_from(STATES),
        st.sampled_from(["Ana", "Bo", "Zoë"]),
    ),
    min_size=10,
    max_size=80,
)
events_st = events_of(KINDS, 100, 20)


def _with_rules(d: Desired, within: timedelta, consent: list[bool], require: bool) -> Desired:
    """Every step gets `within`; contact i has a consent record when consent[i]."""
    templates = {
        name: replace(t, steps=tuple(replace(s, send_within=within) for s in t.steps))
        for name, t in d.templates.items()
    }
    groups = {}
    for name, g in d.groups.items():
        people = []
        for c in g.contacts:
            if consent[int(c.phone[-4:]) % len(consent)]:
                fields = {
                    **c.fields,
                    "consentSource": "sign-in",
                    "consentAt": "2026-01-01T00:00:00Z",
                }
                c = c._replace(fields=fields)
            people.append(c)
        groups[name] = group(name, people)
    return replace(
        d,
        templates=templates,
        groups=groups,
        settings=Settings(state_quiet_hours=True, require_consent=require),
    )


def check_send_within(d: Desired, world: World, within: timedelta, require: bool) -> None:
    steps = {name: d.templates[c.template].steps for name, c in d.campaigns.items()}
    expired = {
        (a.campaign, a.phone, a.step)
        for plan in world.plans
        for a in plan.actions
        if a.type == "skip" and a.reason == "expired"
    }
    enrolled_at = world.enrolled_at()
    consented = {c.phone for g in d.groups.values() for c in g.contacts if has_consent(c.fields)}
    last: dict[tuple[str, str], tuple[int, datetime]] = {}
    for sent in sorted(world.log, key=lambda s: s.at):
        key = (sent.campaign, sent.phone)
        assert (sent.campaign, sent.phone, sent.step) not in expired, sent
        if require:
            assert sent.phone in consented, f"{sent.phone} has no consent record"
        previous, anchor = last.get(key, (0, enrolled_at[key]))
        bound = anchor
        for n in range(previous + 1, sent.step + 1):
            bound += timedelta(days=steps[sent.campaign][n - 1].wait_days) + SLACK + within
        assert sent.at <= bound, f"stale: {sent} (after step {previous} at {anchor})"
        last[key] = (sent.step, sent.at)
    if require:
        assert all(p in consented for _, p in enrolled_at), "enrolled without consent"


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    contacts=contacts_st,
    n_campaigns=st.integers(1, 2),
    waits=st.lists(st.integers(30, 40), min_size=2, max_size=3),
    within_hours=st.sampled_from([6, 24, 72, 7 * 24]),
    consent=st.lists(st.booleans(), min_size=1, max_size=7),
    require=st.booleans(),
    start_day=st.integers(0, 364),
    credits=st.integers(0, 300),
    events=events_st,
)
def test_no_stale_send_and_none_without_consent_over_simulated_months(
    contacts, n_campaigns, waits, within_hours, consent, require, start_day, credits, events
) -> None:  # type: ignore[no-untyped-def]
    start = datetime(2026, 1, 1, 3, tzinfo=ZoneInfo("UTC")) + timedelta(days=start_day)
    within = timedelta(hours=within_hours)
    d = _with_rules(build(contacts, n_campaigns, waits, [0, 2], False), within, consent, require)
    world = World(balance=credits)
    d = simulate(d, world, start, 100, events)
    check_log(world)
    check_send_within(d, world, within, require)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    contacts=contacts_st,
    n_campaigns=st.integers(1, 2),
    within_hours=st.sampled_from([24, 72, 7 * 24]),
    consent=st.lists(st.booleans(), min_size=1, max_size=5),
    start_day=st.integers(0, 364),
    events=st.lists(st.one_of(reply_st, reply_st, decision_st), max_size=30),
)
def test_replies_at_random_moments_with_consent_required_and_send_within(
    contacts, n_campaigns, within_hours, consent, start_day, events
) -> None:  # type: ignore[no-untyped-def]
    start = datetime(2026, 1, 1, 14, tzinfo=ZoneInfo("UTC")) + timedelta(days=start_day)
    within = timedelta(hours=within_hours)
    d = _with_rules(build(contacts, n_campaigns, [30, 31], [0, 1], False), within, consent, True)
    world = World(balance=100_000)
    simulate_replies(d, world, start, events)
    check_log(world)
    check_send_within(d, world, within, True)


def first_allowed(at: datetime, zones: tuple[str, ...], quiet: QuietHours) -> datetime:
    """Independent: the first whole minute from `at` inside the window in every zone."""
    moment = at
    while not inside_window(moment, zones, quiet):
        moment += timedelta(minutes=1)
    return moment


@settings(max_examples=150, deadline=None)
@given(
    zones=st.sampled_from(ZONE_SETS[:-1]),
    due_minute=st.integers(0, 365 * 24 * 60),
    within_hours=st.sampled_from([1, 6, 24, 72, 7 * 24]),
    late_minutes=st.integers(0, 20 * 24 * 60),
)
def test_a_held_step_expires_exactly_send_within_after_it_became_due(
    zones: tuple[str, ...], due_minute: int, within_hours: int, late_minutes: int
) -> None:
    """The pure rule: a due step of a paused campaign is held (campaign_paused) until
    sendWithin after the first allowed moment at or after its due time; from then on it is
    passed over, `expired`, with that moment as `expired_at`."""
    due = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=due_minute)
    now = due + timedelta(minutes=late_minutes)
    within = timedelta(hours=within_hours)
    quiet = QuietHours()
    e = Enrollment("c", "+12125550100", 0, None, due, due, {}, zones, None)
    steps = (Step("Hello. Reply STOP to opt out.", 0, within),)
    run = CampaignRun("c", "paused", steps, Sender("+15125550100"), quiet)
    snapshot = Snapshot(0, {}, (), {}, {}, {}, {}, frozenset(), 100, None, {})
    planner = SendPlanner(
        snapshot, Settings(state_quiet_hours=False), frozenset(), now,
        Budget(100, timedelta(minutes=15), {}),
    )  # fmt: skip
    planner.consider(e, run)
    [action] = planner.actions
    expires = first_allowed(due, zones, quiet) + within
    if now >= expires:
        assert (action.type, action.reason, action.step) == ("skip", "expired", 1)
        assert action.type == "skip" and action.expired_at == expires
    else:
        assert (action.type, action.reason) == ("defer", "campaign_paused")
