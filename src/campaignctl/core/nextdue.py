"""The next possible moment of an enrollment, and when a tick has read enough. Pure.

The state keeps, for each live enrollment, `next_at`: the earliest instant its next step can
go out as far as the planner knows, a lower bound never later than the truth. A tick reads
only the enrollments whose `next_at` has come, oldest first (store/due.py), and stops reading
a campaign as soon as it can send nothing more in this tick:

    enrolled_moments(...)   the `next_at` of each contact as it is enrolled (its window)
    lower_bound(defer)      the `next_at` a decision gives its enrollment (None: keep it)
    Spent(...).names        the campaigns that can send nothing more in this plan: the rest
                            of their queue waits for the pace, not looked at, not read

A defer for quiet hours waits until the window opens in every zone of the number (the
planner's `until`), one for the 30-day gap until 30 days after the last send: no later
tick can send before (a launched campaign's window only ever narrows). The other reasons
(pace, credits, a pause, a suspension, a held reply) keep nothing: the enrollment stays
due, and is read again when its turn comes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from campaignctl.core.actions import Action, Defer, Reason, until_of
from campaignctl.core.sending import CampaignRun, SendPlanner
from campaignctl.core.types import Contact, Desired, Enrollment
from campaignctl.core.windows import next_allowed

# the defers whose `until` bounds the next moment from below for every later tick
BOUNDED = frozenset({"quiet_hours", "recent_outreach"})


def enrolled_moments(
    desired: Desired, campaign: str, now: datetime
) -> Callable[[Contact], datetime]:
    """The next moment of each contact the campaign enrolls at `now`: when the window of its
    quiet hours opens (now, inside it). Kept with the enrollment as it is made, so a number
    enrolled at night is not read again before its morning (memoised per zones and state:
    a million contacts have a few hundred)."""
    spec = desired.campaigns.get(campaign)
    if spec is None:
        return lambda contact: now
    quiet, strict = spec.quiet_hours, desired.settings.state_quiet_hours
    memo: dict[tuple[tuple[str, ...], str | None], datetime] = {}

    def moment(contact: Contact) -> datetime:
        key = (contact.zones, contact.us_state)
        found = memo.get(key)
        if found is None:
            opens = next_allowed(now, contact.zones, quiet, contact.us_state, strict)
            found = memo[key] = opens or now  # no window known: read when due, decided then
        return found

    return moment


def lower_bound(action: Action) -> datetime | None:
    """The `next_at` a decision gives its enrollment: the `until` of a defer for quiet hours
    or the 30-day gap; None when it leaves `next_at` as it is."""
    return until_of(action) if action.reason in BOUNDED else None


class Spent:
    """The campaigns of one plan that can send nothing more in it: their sender's pace or
    daily limit is used, or this plan paused them for credits. Once spent a campaign stays
    spent (sends only add up). Its due enrollments of earlier plans that come after are
    deferred for that reason without being looked at (`defer`): a tick need not read them,
    they wait, oldest first, for the next ticks (and are counted, not read: `Tally`).

    A campaign that does not send at all (paused, held by an error, all sending suspended)
    is never spent: each of its due enrollments is decided as before (a defer that says why,
    or a skip)."""

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
            if name in self.names or name in self.held or self.suspended:
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
