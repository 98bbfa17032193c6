"""The next possible moment of an enrollment, and when a tick has read enough. Pure.

The state keeps, for each live enrollment, `next_at`: the earliest instant its next step can
go out as far as the planner knows, a lower bound never later than the truth. A tick reads
only the enrollments whose `next_at` has come, oldest first (store/due.py), and stops reading
a campaign as soon as it can send nothing more in this tick:

    enrolled_moments(...)   the `next_at` of each contact as it is enrolled (its window)
    lower_bound(defer)      the `next_at` a decision gives its enrollment (None: keep it)
    Spent(...).names        the campaigns that can send nothing more in this plan: the rest
                            of their queue waits for the pace, not looked at, not read
    later_tallies(...)      the enrollments due by their wait whose next moment is to come,
                            counted (not read) as the defers they wait in: a plan still
                            says why they wait (`quiet_hours 3`)

A defer for quiet hours waits until the window opens in every zone of the number (the
planner's `until`), one for the 30-day gap until 30 days after the last send: no later
tick can send before (a launched campaign's window only ever narrows), unless the step
expires first (sendWithin): then it waits until its expiry, when it is passed over and the
sequence goes on from that instant. The other reasons (pace, credits, a pause, a
suspension, a held reply) keep nothing: the enrollment stays due, and is read again when
its turn comes.

What ends an enrollment without sending (a number put on a do-not-call list, a consent
record removed while requireConsent is on) is decided when the enrollment is next read:
for one waiting for its window, when the window opens, with nothing sent either way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Protocol

from campaignctl.core.actions import Action, Defer, Reason
from campaignctl.core.sending import CampaignRun, SendPlanner
from campaignctl.core.types import Desired, Enrollment, Tally
from campaignctl.core.windows import next_allowed

# the defers whose `until` bounds the next moment from below for every later tick
BOUNDED = frozenset({"quiet_hours", "recent_outreach"})


class Placed(Protocol):
    """Where a number is, as its window depends on it: a contact, or its enrollment."""

    @property
    def zones(self) -> tuple[str, ...]: ...

    @property
    def us_state(self) -> str | None: ...


def enrolled_moments(
    desired: Desired, campaign: str, now: datetime
) -> Callable[[Placed], datetime]:
    """The next moment of each contact the campaign enrolls at `now`: when the window of its
    quiet hours opens (now, inside it). Kept with the enrollment as it is made, so a number
    enrolled at night is not read again before its morning (and the forecast orders the
    enrollments its first tick makes by it, as the state does). It depends only on the
    contact's zones and US state: a store asks once for each (a million contacts have a few
    hundred)."""
    spec = desired.campaigns.get(campaign)
    if spec is None:
        return lambda contact: now
    quiet, strict = spec.quiet_hours, desired.settings.state_quiet_hours

    def moment(contact: Placed) -> datetime:
        opens = next_allowed(now, contact.zones, quiet, contact.us_state, strict)
        return opens or now  # no window known: read when due, decided then

    return moment


def lower_bound(action: Action) -> datetime | None:
    """The `next_at` a decision gives its enrollment: the `until` of a defer for quiet hours
    or the 30-day gap, or the step's expiry (sendWithin) when that comes first: the step is
    passed over then, and the sequence goes on from the expiry; None when it leaves
    `next_at` as it is."""
    if action.type != "defer" or action.reason not in BOUNDED or action.until is None:
        return None
    if action.expires is not None and action.expires < action.until:
        return action.expires
    return action.until


class Spent:
    """The campaigns of one plan that can send nothing more in it: their sender's pace or
    daily limit is used, or this plan paused them for credits. Once spent a campaign stays
    spent (sends only add up). Its due enrollments of earlier plans that come after are
    deferred for that reason without being looked at (`defer`): a tick need not read them,
    they wait, oldest first, for the next ticks (and are counted, not read: `Tally`).

    A campaign that does not send at all (paused, held by an error, all sending suspended)
    is never spent: each of its due enrollments is decided as before (a defer that says why,
    or a skip). Nor is one with a step that can expire (sendWithin): a step past its expiry
    is passed over at the first plan after it wherever it waits in the queue, so each of its
    due enrollments is read and decided."""

    def __init__(
        self,
        runs: Mapping[str, CampaignRun],
        held: Mapping[str, str],
        sends: SendPlanner,
        suspended: bool,
    ) -> None:
        self.runs = runs  # the plan's own, as it holds campaigns
        self.held = held
        self.sends = sends
        self.suspended = suspended
        self.names: set[str] = set()
        # the campaigns read whole: a step of theirs may expire while it waits for the pace
        self.whole = {
            name for name, run in runs.items() if any(s.send_within is not None for s in run.steps)
        }
        self._seen = (-1, -1)  # (sends planned, campaigns paused) at the last update
        self.update()

    def update(self) -> None:
        """Mark the campaigns spent since the last call (only when something was spent)."""
        budget = self.sends.budget
        seen = (sum(budget.planned.values()), len(self.sends.paused))
        if seen == self._seen:
            return
        self._seen = seen
        for name, run in self.runs.items():
            if name in self.names or name in self.held or name in self.whole or self.suspended:
                continue
            if run.status != "active" and not run.credit_paused:
                continue
            if name in self.sends.paused or budget.pace_refusal(run.sender, self.sends.now):
                self.names.add(name)

    def reason(self, campaign: str) -> Reason:
        """Why a spent campaign's due enrollments wait: its pace, or its credits."""
        return "insufficient_credits" if campaign in self.sends.paused else "rate_limit"

    def defer(self, e: Enrollment) -> Defer | None:
        """The decision about a due enrollment of a spent campaign, not looked at: it waits
        for the pace (until the next tick, or UTC midnight for a daily limit), or for
        credits. None, as the planner decides, for one that this plan ends (its number left
        the group) or whose sequence has no next step."""
        step = e.steps_sent + 1
        if (e.campaign, e.phone) in self.sends.removed or step > len(self.runs[e.campaign].steps):
            return None
        if e.campaign in self.sends.paused:
            detail = f"the balance, {self.sends.budget.balance}, does not cover the next message"
            return Defer(e.campaign, e.phone, step, "insufficient_credits", None, detail)
        later = self.sends.budget.pace_refusal(self.runs[e.campaign].sender, self.sends.now)
        return Defer(e.campaign, e.phone, step, "rate_limit", later)


def later_tallies(
    counts: Mapping[tuple[str, str], int],
    runs: Mapping[str, CampaignRun],
    held: Mapping[str, str],
    suspended: bool,
) -> list[Tally]:
    """The enrollments due by their wait whose next moment is still to come, by (campaign,
    the rule that put it later), as the defers a plan that read them would give: config_error
    for a held campaign, suspended, campaign_paused, else that rule (quiet_hours,
    recent_outreach); none for a campaign that decides nothing (draft, completed, gone)."""
    tallies: dict[tuple[str, Reason], int] = {}
    for (name, why), count in counts.items():
        run = runs.get(name)
        reason: Reason
        if name in held:
            reason = "config_error"
        elif run is None or run.status in ("draft", "completed") or not count:
            continue
        elif suspended:
            reason = "suspended"
        elif run.status != "active" and not run.credit_paused:
            reason = "campaign_paused"
        else:
            reason = "recent_outreach" if why == "recent_outreach" else "quiet_hours"
        tallies[(name, reason)] = tallies.get((name, reason), 0) + count
    return [Tally(name, "defer", reason, n) for (name, reason), n in sorted(tallies.items())]
