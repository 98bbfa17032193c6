"""Which due messages go out now, and for the rest, why not and until when. Pure.

Every rule of SPEC section 2 that concerns one message is decided here, in this order:
skips that end an enrollment (do-not-call, opt-out, a wrong number, no time zone, a blank
field, no consent record where one is required), then a step past its sendWithin (passed
over, `expired`: the sequence goes on), then reasons that hold messages (a reply held for
review, suspended, campaign paused), then the contact's own timing (30 days since any
message, quiet hours), then the account (pace, credits).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from campaignctl.core.actions import Action, Defer, Pause, Resume, Send, Skip
from campaignctl.core.consent import NO_CONSENT, has_consent
from campaignctl.core.expiry import expired_detail, expiry
from campaignctl.core.segments import count_segments
from campaignctl.core.templates import (
    MissingField,
    TemplateProblem,
    first_blank,
    render,
    required_names,
)
from campaignctl.core.types import (
    MIN_GAP,
    CampaignStatus,
    Enrollment,
    QuietHours,
    Reason,
    Sender,
    Settings,
    Snapshot,
    Step,
)
from campaignctl.core.windows import next_allowed, window_closes

HELD = "a reply is held for review: nothing is sent until `campaignctl replies review` decides"


@dataclass(frozen=True)
class CampaignRun:
    """What the send rules need to know about one campaign for this plan."""

    name: str
    status: CampaignStatus  # after this plan's status changes
    steps: tuple[Step, ...]
    sender: Sender
    quiet_hours: QuietHours
    credit_paused: bool = False  # paused for credits; resumes when the balance covers it


@dataclass
class Budget:
    """What this plan may still spend: credits, and each sender's pace."""

    balance: int
    interval: timedelta
    sent_today: Mapping[str, int]
    planned: dict[str, int] = field(default_factory=dict)  # sender key -> sends in this plan

    def pace_refusal(self, sender: Sender, now: datetime) -> datetime | None:
        """None when the sender may take one more message now; else when it may."""
        used = self.planned.get(sender.key, 0)
        per_tick = max(1, int(sender.messages_per_second * self.interval.total_seconds()))
        if used >= per_tick:
            return now + self.interval
        today = self.sent_today.get(sender.key, 0)
        if sender.daily_limit is not None and today + used >= sender.daily_limit:
            midnight = datetime(now.year, now.month, now.day, tzinfo=UTC)
            return midnight + timedelta(days=1)
        return None


@dataclass
class SendPlanner:
    snapshot: Snapshot
    settings: Settings
    dnc: frozenset[str]
    now: datetime
    budget: Budget
    last_sent: dict[str, datetime] = field(default_factory=dict)  # sends in this plan
    # the last message to each number before this plan, for the numbers being considered:
    # the snapshot's, or those of the batch a streamed apply is considering
    sent_before: Mapping[str, datetime] | None = None
    removed: set[tuple[str, str]] = field(default_factory=set)  # (campaign, phone) ended now
    # (campaign, phone) whose step this plan passed over (expired): the next step is decided
    # by the next plan, as `plan` shows it, even when a streamed apply reads it due again
    passed: set[tuple[str, str]] = field(default_factory=set)
    paused: set[str] = field(default_factory=set)  # campaigns paused for credits by this plan
    resumed: set[str] = field(default_factory=set)
    actions: list[Action] = field(default_factory=list)

    def _defer(
        self,
        e: Enrollment,
        step: int,
        reason: Reason,
        until: datetime | None,
        detail: str | None = None,
        expires: datetime | None = None,
    ) -> None:
        self.actions.append(Defer(e.campaign, e.phone, step, reason, until, detail, expires))

    def _skip(self, e: Enrollment, step: int, reason: Reason, detail: str) -> None:
        self.actions.append(Skip(e.campaign, e.phone, reason, detail, step))

    def consider(self, e: Enrollment, run: CampaignRun) -> None:
        step = e.steps_sent + 1
        if step > len(run.steps):
            return
        if (e.campaign, e.phone) in self.removed or (e.campaign, e.phone) in self.passed:
            return  # removed from the group (the sync ends it), or decided already
        if e.phone in self.dnc:
            return self._skip(e, step, "dnc", "on a do-not-call list")
        if e.phone in self.snapshot.opted_out:
            return self._skip(e, step, "opted_out", "opted out")
        if e.phone in self.snapshot.wrong_numbers:
            return self._skip(e, step, "wrong_number", "its owner said it is a wrong number")
        if not e.zones:
            return self._skip(e, step, "unknown_timezone", "no usable time zone")
        template = run.steps[step - 1].body
        try:
            # the fields render would find missing, without rendering: most due messages wait
            missing = first_blank(required_names(template), e.fields)
        except TemplateProblem as exc:
            return self._skip(e, step, "missing_field", f"template cannot render: {exc}")
        if missing is not None:
            return self._skip(e, step, "missing_field", f"field {missing!r} is empty")
        if self.settings.require_consent and not has_consent(e.fields):
            return self._skip(e, step, "no_consent", NO_CONSENT)
        this = run.steps[step - 1]
        expires = expiry(e, this, run.quiet_hours, self.settings.state_quiet_hours)
        if expires is not None and self.now >= expires:
            detail = expired_detail(this, expires)
            self.passed.add((e.campaign, e.phone))
            self.actions.append(Skip(e.campaign, e.phone, "expired", detail, step, expires))
            return None
        if e.phone in self.snapshot.held:
            return self._defer(e, step, "replied", None, HELD)
        if self.snapshot.suspended is not None:
            return self._defer(e, step, "suspended", None, self.snapshot.suspended)
        if run.status != "active" and not run.credit_paused:
            return self._defer(e, step, "campaign_paused", None, f"campaign is {run.status}")
        before = self.snapshot.last_sent if self.sent_before is None else self.sent_before
        last = self.last_sent.get(e.phone) or before.get(e.phone)
        if last is not None and self.now < last + MIN_GAP:
            return self._defer(
                e,
                step,
                "recent_outreach",
                last + MIN_GAP,
                "a message went to this number less than 30 days ago",
                expires,
            )
        strict = self.settings.state_quiet_hours
        opens = next_allowed(self.now, e.zones, run.quiet_hours, e.us_state, strict)
        if opens != self.now:
            return self._defer(
                e,
                step,
                "quiet_hours",
                opens,
                None if opens else "no allowed hour in the next 14 days",
                expires,
            )
        later = self.budget.pace_refusal(run.sender, self.now)
        if later is not None:
            return self._defer(e, step, "rate_limit", later)
        try:
            body = render(template, e.fields)
        except (MissingField, TemplateProblem) as exc:  # checked above: cannot happen
            return self._skip(e, step, "missing_field", f"template cannot render: {exc}")
        segments = count_segments(body).segments
        cost = segments * self.settings.credits_per_segment
        if run.name in self.paused or cost > self.budget.balance:
            return self._out_of_credits(e, step, run, cost)
        if run.credit_paused and run.name not in self.resumed:
            self.resumed.add(run.name)
            self.actions.append(Resume(run.name, "the balance covers the next message"))
        self.budget.balance -= cost
        self.budget.planned[run.sender.key] = self.budget.planned.get(run.sender.key, 0) + 1
        self.last_sent[e.phone] = self.now
        closes = window_closes(self.now, e.zones, run.quiet_hours, e.us_state, strict)
        self.actions.append(
            Send(
                campaign=e.campaign,
                phone=e.phone,
                step=step,
                body=body,
                segments=segments,
                credits=cost,
                valid_until=closes,
            )
        )

    def _out_of_credits(self, e: Enrollment, step: int, run: CampaignRun, cost: int) -> None:
        if run.name not in self.paused and not (run.credit_paused and run.name not in self.resumed):
            self.actions.append(
                Pause(run.name, f"next message costs {cost}, balance is {self.budget.balance}")
            )
        self.paused.add(run.name)
        self._defer(
            e, step, "insufficient_credits", None, f"costs {cost}, balance is {self.budget.balance}"
        )
