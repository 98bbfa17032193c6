"""What the page shows, made from the state's counts (store/dashboard.py) with no I/O: each
campaign's funnel by step, its rates, its sends of each day, and the balance of each day.

The counts mean what `status` means (enrolled, live, done, ended by reason, sent, in flight,
credits), so the page and `status --format json` agree. The funnel puts each enrollment that
ended at the step it had reached: an enrollment ended after its second message (it replied,
opted out, its number was refused...) counts at step 2; one ended before any message (a
number on a do-not-call list) at step 0.

Rates are shares of the contacts that were sent at least one message (`messaged`):
reply rate and opt-out rate (opt-outs after a message of this campaign: a number that had
opted out before was never messaged). The delivery rate is the share of the messages sent
that the carrier reported delivered; none is shown while no delivery was reported (the
outbox provider reports none).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from campaignctl.store.dashboard import CampaignRow, DashboardFacts

DELIVERED = frozenset({"delivered", "read"})
UNDELIVERED = frozenset({"undelivered", "failed"})
IN_FLIGHT = frozenset({"pending", "unknown"})
REPLIED = frozenset({"replied", "wrong_number"})
OPTED_OUT = "opted_out"
DEFAULT_OPTOUT_THRESHOLD = 0.02


@dataclass
class StepRow:
    """One step of a campaign's funnel (step 0: before the first message)."""

    step: int
    sent: int = 0  # attempts recorded sent
    delivered: int = 0  # ... that the carrier reported delivered
    failed: int = 0  # attempts refused, and sent messages reported undelivered
    in_flight: int = 0
    replied: int = 0  # enrollments ended by a reply after this step
    opted_out: int = 0  # ... by an opt-out
    ended: dict[str, int] = field(default_factory=dict)  # ... for another reason


@dataclass(frozen=True)
class Rate:
    """A share, with what it is a share of; `value` None when there is nothing to share."""

    part: int
    whole: int

    @property
    def value(self) -> float | None:
        return self.part / self.whole if self.whole else None

    def text(self) -> str:
        value = self.value
        return "-" if value is None else f"{value:.1%}"


@dataclass(frozen=True)
class CampaignView:
    row: CampaignRow
    live: int
    done: int
    ended: dict[str, int]  # end reason -> enrollments
    sent: int
    in_flight: int
    credits: int
    messaged: int  # enrollments that were sent at least one message
    steps: list[StepRow]
    delivery: Rate | None  # None: no delivery reported yet
    replies: Rate
    optouts: Rate
    optout_alert: bool  # the opt-out rate passes the threshold
    sent_per_day: list[tuple[date, int]]

    @property
    def name(self) -> str:
        return self.row.name

    @property
    def enrolled(self) -> int:
        return self.live + self.done + sum(self.ended.values())


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _funnel(
    enrollments: Sequence[tuple[str, str, str | None, int, int]],
    attempts: Sequence[tuple[str, int, str, str | None, int, int]],
) -> dict[str, dict[int, StepRow]]:
    steps: dict[str, dict[int, StepRow]] = defaultdict(dict)

    def at(campaign: str, step: int) -> StepRow:
        return steps[campaign].setdefault(step, StepRow(step))

    for campaign, step, status, delivery, n, _ in attempts:
        row = at(campaign, step)
        if status == "sent":
            row.sent += n
            if delivery in DELIVERED:
                row.delivered += n
            elif delivery in UNDELIVERED:
                row.failed += n
        elif status == "failed":
            row.failed += n
        elif status in IN_FLIGHT:
            row.in_flight += n
    for campaign, status, reason, steps_sent, n in enrollments:
        if status != "ended":
            continue
        row = at(campaign, steps_sent)
        if reason in REPLIED:
            row.replied += n
        elif reason == OPTED_OUT:
            row.opted_out += n
        else:
            key = reason or "unknown"
            row.ended[key] = row.ended.get(key, 0) + n
    return steps


def campaign_views(
    facts: DashboardFacts,
    first: date,
    last: date,
    optout_threshold: float = DEFAULT_OPTOUT_THRESHOLD,
) -> list[CampaignView]:
    """Every campaign of the state, by name, as the page shows it."""
    funnel = _funnel(facts.enrollments, facts.attempts)
    days = days_between(first, last)
    views: list[CampaignView] = []
    for row in facts.campaigns:
        mine = [e for e in facts.enrollments if e[0] == row.name]
        tried = [a for a in facts.attempts if a[0] == row.name]
        ended: dict[str, int] = {}
        for _, status, reason, _, n in mine:
            if status == "ended":
                ended[reason or "unknown"] = ended.get(reason or "unknown", 0) + n
        steps = [funnel[row.name][k] for k in sorted(funnel.get(row.name, {}))]
        sent = sum(s.sent for s in steps)
        messaged = sum(n for _, _, _, steps_sent, n in mine if steps_sent >= 1)
        reported = sum(s.delivered for s in steps) + sum(
            n for _, _, status, d, n, _ in tried if status == "sent" and d in UNDELIVERED
        )
        optouts = Rate(sum(s.opted_out for s in steps if s.step >= 1), messaged)
        views.append(
            CampaignView(
                row=row,
                live=sum(n for _, status, _, _, n in mine if status == "live"),
                done=sum(n for _, status, _, _, n in mine if status == "done"),
                ended=dict(sorted(ended.items())),
                sent=sent,
                in_flight=sum(s.in_flight for s in steps),
                credits=sum(
                    c for _, _, status, _, _, c in tried if status == "sent" or status in IN_FLIGHT
                ),
                messaged=messaged,
                steps=steps,
                delivery=Rate(sum(s.delivered for s in steps), sent) if reported else None,
                replies=Rate(sum(s.replied for s in steps if s.step >= 1), messaged),
                optouts=optouts,
                optout_alert=(optouts.value or 0.0) > optout_threshold,
                sent_per_day=[(day, facts.sent_per_day.get((row.name, day), 0)) for day in days],
            )
        )
    return views


def sent_per_day(views: Sequence[CampaignView]) -> list[tuple[date, int]]:
    """The messages sent each day, all campaigns together."""
    if not views:
        return []
    totals: dict[date, int] = defaultdict(int)
    for view in views:
        for day, n in view.sent_per_day:
            totals[day] += n
    return sorted(totals.items())


def balance_per_day(
    balance: int, ledger_per_day: Mapping[date, int], days: Sequence[date]
) -> list[tuple[date, int]]:
    """The balance at the end of each day, from the balance now and each day's entries (a
    day's balance is the one after it, less what came in or went out on later days)."""
    result: list[tuple[date, int]] = []
    later = sum(amount for day, amount in ledger_per_day.items() if days and day > days[-1])
    running = balance - later
    for day in reversed(days):
        result.append((day, running))
        running -= ledger_per_day.get(day, 0)
    return result[::-1]


def burn_down(balance: int, per_day: Sequence[tuple[date, int, int]]) -> list[tuple[date, int]]:
    """The balance at the end of each forecast day, spending each day's credits, down to 0."""
    result: list[tuple[date, int]] = []
    running = balance
    for day, _, credits in per_day:
        running = max(running - credits, 0)
        result.append((day, running))
    return result


def mask_phone(phone: str) -> str:
    """A number with all but its country prefix and last four digits hidden."""
    if len(phone) <= 6:
        return "•" * len(phone)
    return phone[:2] + "•" * (len(phone) - 6) + phone[-4:]
