"""The forecast's simulation: the pure planner (core.planner.Planning) run forward tick by
tick on a state held in memory, which each tick's decisions advance as the executor would
record them (steps sent, last sends, next due instants, credits debited, pauses, resumes,
completions). Nothing is read or written but that memory.

Ticks fall on the reconcile interval's grid from the first instant, as the controller ticks,
but only those at which something can change are simulated: the next instant an enrollment
becomes due, a deferred message's `until` (a window opening, a 30-day gap ending, the next
tick or UTC midnight for a sender at its pace or daily limit). A tick skipped is one at
which the planner would decide only the defers it decided before.

The same reasoning keeps each tick small: a due enrollment deferred until a later instant
(quiet hours, the 30-day gap) is put aside until then, and once a sender has handed over all
a tick allows, its other due enrollments are not asked about (each would be deferred for the
pace). Every message that can go out is still considered, in the planner's order (oldest
due first), by the planner itself.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from campaignctl.app.executor import next_wait
from campaignctl.core.actions import Action
from campaignctl.core.enrollment import Owners
from campaignctl.core.lifecycle import AUTO_COMPLETED, CREDIT_PAUSE, launch_record
from campaignctl.core.planner import Planning, Stage
from campaignctl.core.sending import Budget
from campaignctl.core.types import (
    CampaignState,
    Desired,
    Enrollment,
    Sender,
    Snapshot,
    Step,
)
from campaignctl.core.windows import SEARCH_HORIZON

# (next due, row id, enrollment): the planner's order of due enrollments is the state's,
# next due then row id (rows are made in the order enrollments are)
Entry = tuple[datetime, int, Enrollment]

WAIT_REASONS = frozenset({"quiet_hours", "recent_outreach"})  # held until a known instant
NEVER_REASONS = frozenset({"campaign_paused", "suspended"})  # nothing in the forecast lifts


@dataclass
class Simulation:
    """The state in memory, and the ticks that advance it. `run()` simulates from `start`
    until `end`; `totals` and `runs_out` are the result."""

    desired: Desired
    snapshot: Snapshot  # the state now; `due` holds every live enrollment, oldest due first
    rows: dict[tuple[str, str], int]  # (campaign, phone) -> row id of each live enrollment
    sent_today: dict[str, int]  # sender key -> messages handed over on the first tick's day
    start: datetime
    end: datetime
    # (day, campaign) -> [messages, credits] that went out
    totals: dict[tuple[date, str], list[int]] = field(default_factory=dict)
    runs_out: date | None = None  # the first day a due message found the balance short
    ticks: int = 0  # ticks simulated

    def __post_init__(self) -> None:
        self.interval = self.desired.settings.reconcile_interval
        self.campaigns: dict[str, CampaignState] = dict(self.snapshot.campaigns)
        self.live = {name: state.live_enrollments for name, state in self.campaigns.items()}
        self.routes: dict[str, tuple[Sender, tuple[Step, ...]]] = {}  # campaign -> its sends
        self.balance = self.snapshot.balance
        self.last_sent: dict[str, datetime] = dict(self.snapshot.last_sent)
        self.day = self.start.date()
        self.serial = self.snapshot.serial
        self.next_row = itertools.count(max(self.rows.values(), default=0) + 1)
        self.pending: list[Entry] = []  # not due yet, by next due
        self.held: list[tuple[datetime, int, Entry]] = []  # due, deferred until an instant
        self.ready: dict[Sender, list[Entry]] = {}  # due, by sender, oldest first
        self.ended: set[tuple[str, str]] = set()
        self.fresh: set[int] = set()  # the rows of the enrollments the first tick makes
        for enrollment in self.snapshot.due:
            if self._may_send(enrollment.campaign):
                row = self.rows.get((enrollment.campaign, enrollment.phone))
                self._queue(enrollment, next(self.next_row) if row is None else row)

    # ------------------------------------------------------------------ the loop

    def run(self) -> None:
        at: datetime | None = self.start
        first = True
        while at is not None and at < self.end:
            wakes = self._tick(at, first)
            first = False
            self.ticks += 1
            if self.runs_out is not None and self.balance < self._cheapest():
                return  # the balance pays for nothing more: nothing else goes out
            at = self._next(at, wakes)

    def _next(self, at: datetime, wakes: list[datetime]) -> datetime | None:
        """The next tick of the grid at which anything can change."""
        if self.pending:
            wakes.append(self.pending[0][0])
        if self.held:
            wakes.append(self.held[0][0])
        if not wakes:
            return None
        steps = max(1, math.ceil((min(wakes) - self.start) / self.interval))
        return max(self.start + steps * self.interval, at + self.interval)

    def _tick(self, at: datetime, first: bool) -> list[datetime]:
        """One tick at `at`: plan with the real planner, record what it decided."""
        if at.date() != self.day:
            self.day = at.date()
            self.sent_today = {}
        self._release(at)
        planning = Planning(self.desired, self._snapshot(first), at)
        self._record(at, planning.lifecycle().actions)
        if first:
            for stage in self._syncs(planning):
                self._record(at, stage.actions)
                for enrollment in stage.new:
                    row = next(self.next_row)  # numbered as the state numbers its rows
                    if self._may_send(enrollment.campaign):
                        self._queue(enrollment, row)
                        self.fresh.add(row)
            for campaign, digest in planning.result([]).group_digests.items():
                self._campaign(campaign, group_digest=digest)
            self._release(at)
        wakes = self._due(planning, at)
        self._record(at, planning.finish().actions)
        self.serial += 1
        return wakes

    def _snapshot(self, first: bool) -> Snapshot:
        """What the planner reads at this tick: the state in memory (the groups' facts only
        on the first tick, the only one that syncs; the due enrollments are handed over
        one by one)."""
        base = self.snapshot
        campaigns = {
            name: replace(state, live_enrollments=self.live.get(name, 0))
            for name, state in self.campaigns.items()
        }
        return replace(
            base,
            serial=self.serial,
            campaigns=campaigns,
            due=(),
            enrolled=base.enrolled if first else {},
            live=base.live if first else {},
            live_owner=base.live_owner if first else {},
            last_sent=self.last_sent,
            balance=self.balance,
            sent_today=dict(self.sent_today),
        )

    def _syncs(self, planning: Planning) -> Iterator[Stage]:
        """The first tick's syncs of the groups that changed, as `core.planner.stages`
        runs them (the due enrollments come after, from `_due`)."""
        snapshot = self.snapshot
        owners = Owners(dict(snapshot.live_owner))
        for name in planning.to_sync():
            group = planning.group_of(name)
            if group is None or not group.loaded:
                continue
            enrolled = snapshot.enrolled.get(name, frozenset())
            yield planning.sync(name, group.contacts, group.invalid, enrolled, owners)
            present = {contact.phone for contact in group.contacts}
            gone = sorted(snapshot.live.get(name, frozenset()) - present)
            yield planning.remove(name, gone, owners)
            planning.synced(name)

    # ------------------------------------------------------------------ the due stage

    def _due(self, planning: Planning, at: datetime) -> list[datetime]:
        """Hand the planner the due enrollments, oldest first across senders, each sender's
        only while it may still send in this tick. Returns the instants the ones left wait
        for."""
        pace = Budget(balance=0, interval=self.interval, sent_today=dict(self.sent_today))
        planned = pace.planned
        senders = list(self.ready)
        heaps = list(self.ready.values())
        checked = [-1] * len(senders)  # the sender key's sends when last asked about its pace
        heads = [(heap[0][:2], n) for n, heap in enumerate(heaps) if heap]
        heapq.heapify(heads)
        wakes: list[datetime] = []
        kept: list[tuple[int, Entry]] = []
        day = at.date()
        while heads:
            n = heapq.heappop(heads)[1]
            sender, heap = senders[n], heaps[n]
            used = planned.get(sender.key, 0)
            if used != checked[n]:  # a send since: may it take one more?
                later = pace.pace_refusal(sender, at)
                if later is not None:
                    wakes.append(later)  # the rest of this sender's queue waits for its pace
                    continue
                checked[n] = used
            entry = heapq.heappop(heap)
            enrollment = entry[2]
            if not self.ended or (enrollment.campaign, enrollment.phone) not in self.ended:
                planning.consider(enrollment, new=entry[1] in self.fresh)
                actions = planning.take_sends()
                if len(actions) == 1 and actions[0].type == "send":  # the usual answers first
                    self._sent(day, at, entry, actions[0].step, actions[0].credits)
                    planned[sender.key] = used + 1
                elif (
                    len(actions) == 1
                    and actions[0].type == "defer"
                    and (actions[0].reason in WAIT_REASONS)
                ):
                    until = actions[0].until or at + SEARCH_HORIZON
                    heapq.heappush(self.held, (until, entry[1], entry))
                else:
                    if self._decided(at, entry, actions, wakes):
                        kept.append((n, entry))
                    sent = sum(1 for action in actions if action.type == "send")
                    planned[sender.key] = used + sent
            if heap:
                heapq.heappush(heads, (heap[0][:2], n))
        for n, entry in kept:
            heapq.heappush(heaps[n], entry)
        for key, count in planned.items():
            self.sent_today[key] = self.sent_today.get(key, 0) + count
        return wakes

    def _decided(
        self, at: datetime, entry: Entry, actions: list[Action], wakes: list[datetime]
    ) -> bool:
        """Record what the planner decided about one due enrollment; True when it stays
        due and is asked about again at the next tick (sends are counted by the caller
        only then)."""
        stays = False
        for action in actions:
            if action.type == "defer":
                if action.reason in WAIT_REASONS:
                    until = action.until or at + SEARCH_HORIZON
                    heapq.heappush(self.held, (until, entry[1], entry))
                elif action.reason not in NEVER_REASONS:
                    stays = True  # pace or credits: asked about again at the next tick
                    if action.until is not None:
                        wakes.append(action.until)
        self._record(at, actions, entry)
        return stays

    # ------------------------------------------------------------------ recording

    def _record(self, at: datetime, actions: Iterable[Action], entry: Entry | None = None) -> None:
        """Advance the state as the executor records these actions."""
        for action in actions:
            name = action.campaign
            if action.type == "campaign_status":
                self._campaign(name, status=action.to_status, reason=None)
                if action.from_status == "draft":
                    spec = self.desired.campaigns[name]
                    launch = launch_record(spec, self.desired.templates[spec.template])
                    self._campaign(name, launch=launch)
            elif action.type == "enroll":
                self.live[name] = self.live.get(name, 0) + 1
            elif action.type == "end":
                self.ended.add((name, action.phone))
                self._done(name)
            elif action.type == "skip" and action.step is not None:
                self._done(name)  # a due step refused ends the enrollment
            elif action.type == "pause":
                self._campaign(name, status="paused", reason=CREDIT_PAUSE)
                self.runs_out = self.runs_out or at.date()
            elif action.type == "resume":
                self._campaign(name, status="active", reason=None)
            elif action.type == "complete":
                self._campaign(name, status="completed", reason=AUTO_COMPLETED)
            elif action.type == "defer" and action.reason == "insufficient_credits":
                self.runs_out = self.runs_out or at.date()
            elif action.type == "send" and entry is not None:
                self._sent(at.date(), at, entry, action.step, action.credits)

    def _sent(self, day: date, at: datetime, entry: Entry, step: int, credits: int) -> None:
        """A step went out: debited, counted, and the enrollment waits for its next."""
        enrollment = entry[2]
        self.balance -= credits
        totals = self.totals.get((day, enrollment.campaign))
        if totals is None:
            self.totals[(day, enrollment.campaign)] = [1, credits]
        else:
            totals[0] += 1
            totals[1] += credits
        self.last_sent[enrollment.phone] = at
        wait = next_wait(self._route(enrollment.campaign)[1], step)
        if wait is None:
            self._done(enrollment.campaign)  # the sequence is done
            return
        due = at + timedelta(days=wait)
        moved = enrollment._replace(steps_sent=step, last_sent_at=at, next_due_at=due)
        heapq.heappush(self.pending, (due, entry[1], moved))

    def _campaign(self, name: str, **changes: Any) -> None:
        """Change what the state holds of a campaign (made as the executor makes it)."""
        state = self.campaigns.get(name) or CampaignState(name, "draft", None, None, None, 0)
        self.campaigns[name] = replace(state, **changes)
        self.routes.pop(name, None)

    def _done(self, name: str) -> None:
        """One enrollment of the campaign is no longer live."""
        self.live[name] = max(0, self.live.get(name, 0) - 1)

    # ------------------------------------------------------------------ queues

    def _queue(self, enrollment: Enrollment, row: int) -> None:
        """Queue a live enrollment until it is due."""
        heapq.heappush(self.pending, (enrollment.next_due_at, row, enrollment))

    def _release(self, at: datetime) -> None:
        """Make ready what is due at `at` and what was held until then."""
        while self.pending and self.pending[0][0] <= at:
            self._ready(heapq.heappop(self.pending))
        while self.held and self.held[0][0] <= at:
            until, row, entry = heapq.heappop(self.held)
            self._ready((until, row, entry[2]))  # ordered by its next moment, as a tick reads

    def _ready(self, entry: Entry) -> None:
        heapq.heappush(self.ready.setdefault(self._route(entry[2].campaign)[0], []), entry)

    def _may_send(self, campaign: str) -> bool:
        """Whether the campaign's enrollments can be sent to in the forecast: in the files,
        active there, and not completed (the planner decides nothing else about them)."""
        spec = self.desired.campaigns.get(campaign)
        state = self.campaigns.get(campaign)
        return (
            spec is not None
            and spec.status == "active"
            and (state is None or state.status != "completed")
        )

    def _route(self, campaign: str) -> tuple[Sender, tuple[Step, ...]]:
        """The sender and the steps the campaign sends with: those it launched with, else
        those of the files (as the executor reads them)."""
        route = self.routes.get(campaign)
        if route is None:
            state = self.campaigns.get(campaign)
            if state is not None and state.launch is not None:
                route = state.launch.sender, state.launch.steps
            else:
                spec = self.desired.campaigns[campaign]
                template = self.desired.templates.get(spec.template)
                route = spec.sender, template.steps if template else ()
            self.routes[campaign] = route
        return route

    def _cheapest(self) -> int:
        """The least a message can cost: one segment."""
        return self.desired.settings.credits_per_segment


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
