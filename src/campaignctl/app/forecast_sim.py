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
pace). Once the planner finds the window of a campaign closed for some zones (and US state)
at a tick, the other enrollments of that campaign with the same zones and state are put
aside until it opens without asking again: the planner would find the same window closed,
since it depends on nothing else, and what it would decide before looking at the window
(a skip for a number on a do-not-call list, say) is decided when it opens instead, with
nothing sent either way (but for a step that may expire first: the planner is asked). At
night that is most of a large queue. Every message that can go
out is still considered, in the planner's order (oldest due first), by the planner itself.

Between ticks an enrollment waits in compact form: one integer that orders it as the state
does (its next moment in microseconds, then its row id: the state's `next_at`, its wait or
the instant a defer put it aside until, core/nextdue.py) beside the enrollment itself,
in a heap per sender once due; those put aside wait in one list per instant they wait for
(a window opening holds thousands until the same instant). Integers compare in a few
nanoseconds where instants with a time zone take far longer, and a queue of 100,000 is
compared millions of times over a forecast.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from campaignctl.app.executor import next_wait
from campaignctl.core.actions import Action
from campaignctl.core.enrollment import Owners
from campaignctl.core.lifecycle import AUTO_COMPLETED, CREDIT_PAUSE, launch_record
from campaignctl.core.nextdue import enrolled_moments, lower_bound
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
from campaignctl.errors import Cancelled

# (order key, enrollment): the planner's order of due enrollments is the state's, next due
# then row id (rows are made in the order enrollments are); `order_key` makes it one integer
Entry = tuple[int, Enrollment]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
ROW_BITS = 42  # room for the row ids of any state
ROW_MASK = (1 << ROW_BITS) - 1


def micros(at: datetime) -> int:
    """An instant as whole microseconds since 1970 (exact: instants are stored to the
    microsecond)."""
    return (at - EPOCH) // MICROSECOND


def instant(value: int) -> datetime:
    """The instant of `micros`."""
    return EPOCH + value * MICROSECOND


def order_key(due: datetime, row: int) -> int:
    """One integer that sorts as (due, row) does."""
    return micros(due) << ROW_BITS | row


WAIT_REASONS = frozenset({"quiet_hours", "recent_outreach"})  # held until a known instant
NEVER_REASONS = frozenset({"campaign_paused", "suspended"})  # nothing in the forecast lifts


@dataclass
class Simulation:
    """The state in memory, and the ticks that advance it. `run()` simulates from `start`
    until `end`; `totals` and `runs_out` are the result."""

    desired: Desired
    snapshot: Snapshot  # the state now (its `due` is not read: the next field holds them)
    due: Sequence[tuple[int, Enrollment]]  # (row id, enrollment), oldest due first
    sent_today: dict[str, int]  # sender key -> messages handed over on the first tick's day
    start: datetime
    end: datetime
    # (day, campaign) -> [messages, credits] that went out
    totals: dict[tuple[date, str], list[int]] = field(default_factory=dict)
    runs_out: date | None = None  # the first day a due message found the balance short
    ticks: int = 0  # ticks simulated
    # row id -> the next moment of an enrollment a tick reads only after its wait (deferred
    # to a window, the 30-day gap: `enrollments.next_at`); the others: their wait
    moments: Mapping[int, datetime] = field(default_factory=dict)
    # asked before each tick: True gives the simulation up (Cancelled)
    stopped: Callable[[], bool] = field(default=lambda: False)

    def __post_init__(self) -> None:
        self.interval = self.desired.settings.reconcile_interval
        self.campaigns: dict[str, CampaignState] = dict(self.snapshot.campaigns)
        self.live = {name: state.live_enrollments for name, state in self.campaigns.items()}
        self.routes: dict[str, tuple[Sender, tuple[Step, ...]]] = {}  # campaign -> its sends
        self.waits: dict[str, list[timedelta | None]] = {}  # campaign -> wait after step n
        self.balance = self.snapshot.balance
        self.last_sent: dict[str, datetime] = dict(self.snapshot.last_sent)
        self.day = self.start.date()
        self.serial = self.snapshot.serial
        self.next_row = itertools.count(max((row for row, _ in self.due), default=0) + 1)
        self.start_us = micros(self.start)
        self.interval_us = self.interval // MICROSECOND
        self.pending: list[Entry] = []  # not due yet: a heap by order key (next due first)
        # due, deferred until an instant: the entries waiting for each instant (micros), and
        # a heap of those instants
        self.held: dict[int, list[Entry]] = {}
        self.held_at: list[int] = []
        self.ready: dict[Sender, list[Entry]] = {}  # due, by sender: heaps, oldest first
        self.ended: set[tuple[str, str]] = set()
        self.fresh: set[int] = set()  # the rows of the enrollments the first tick makes
        may_send = {name: self._may_send(name) for name in {e.campaign for _, e in self.due}}
        moments = self.moments
        self.pending = [
            (order_key(moments.get(row, enrollment.next_due_at), row), enrollment)
            for row, enrollment in self.due
            if may_send[enrollment.campaign]
        ]
        heapq.heapify(self.pending)  # read oldest due first: a heap already, checked in one pass

    # ------------------------------------------------------------------ the loop

    def run(self) -> None:
        at: datetime | None = self.start
        first = True
        while at is not None and at < self.end:
            if self.stopped():
                raise Cancelled(f"the forecast was stopped after {self.ticks:,} ticks")
            wakes = self._tick(at, first)
            first = False
            self.ticks += 1
            if self.runs_out is not None and self.balance < self._cheapest():
                return  # the balance pays for nothing more: nothing else goes out
            at = self._next(at, wakes)

    def _next(self, at: datetime, wakes: list[datetime]) -> datetime | None:
        """The next tick of the grid at which anything can change."""
        soon = [micros(wake) for wake in wakes]
        if self.pending:
            soon.append(self.pending[0][0] >> ROW_BITS)
        if self.held_at:
            soon.append(self.held_at[0])
        if not soon:
            return None
        steps = max(1, -(-(min(soon) - self.start_us) // self.interval_us))  # rounded up
        return max(instant(self.start_us + steps * self.interval_us), at + self.interval)

    def _tick(self, at: datetime, first: bool) -> list[datetime]:
        """One tick at `at`: plan with the real planner, record what it decided."""
        if at.date() != self.day:
            self.day = at.date()
            self.sent_today = {}
        self._release(at)
        planning = Planning(self.desired, self._snapshot(first), at)
        self._record(at, planning.lifecycle().actions)
        if first:
            # the next moment the state keeps with each new enrollment (its window opening):
            # it orders them, as there; it depends on the campaign, zones and US state only
            moments: dict[tuple[str, tuple[str, ...], str | None], datetime] = {}
            for stage in self._syncs(planning):
                self._record(at, stage.actions)
                for enrollment in stage.new:
                    row = next(self.next_row)  # numbered as the state numbers its rows
                    if self._may_send(enrollment.campaign):
                        where = (enrollment.campaign, enrollment.zones, enrollment.us_state)
                        moment = moments.get(where)
                        if moment is None:
                            opens = enrolled_moments(self.desired, enrollment.campaign, at)
                            moment = moments[where] = opens(enrollment)
                        self._queue(enrollment, row, moment)
                        self.fresh.add(row)
            for campaign, digest in planning.result([]).group_digests.items():
                self._campaign(campaign, group_digest=digest)
            self._release(at)
        wakes = self._due(planning, at, first)
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

    def _due(self, planning: Planning, at: datetime, first: bool) -> list[datetime]:
        """Hand the planner the due enrollments, oldest first across senders, each sender's
        only while it may still send in this tick. Returns the instants the ones left wait
        for."""
        pace = Budget(balance=0, interval=self.interval, sent_today=dict(self.sent_today))
        planned = pace.planned
        senders = list(self.ready)
        keys = [sender.key for sender in senders]
        heaps = list(self.ready.values())
        checked = [-1] * len(senders)  # the sender key's sends when last asked about its pace
        heads = [(heap[0][0], n) for n, heap in enumerate(heaps) if heap]
        heapq.heapify(heads)
        wakes: list[datetime] = []
        kept: list[tuple[int, Entry]] = []
        day = at.date()
        # (campaign, zones, state) -> the instant its window opens, for windows found closed
        # at this tick (none at the first, whose syncs may end what is due)
        closed: dict[tuple[str, tuple[str, ...], str | None], datetime] = {}
        shut = not first
        while heads:
            n = heapq.heappop(heads)[1]
            key, heap = keys[n], heaps[n]
            used = planned.get(key, 0)
            if used != checked[n]:  # a send since: may it take one more?
                later = pace.pace_refusal(senders[n], at)
                if later is not None:
                    wakes.append(later)  # the rest of this sender's queue waits for its pace
                    continue
                checked[n] = used
            entry = heapq.heappop(heap)
            enrollment = entry[1]
            opens = (
                closed.get((enrollment.campaign, enrollment.zones, enrollment.us_state))
                if closed
                else None
            )
            if opens is not None and not self._expires(enrollment):
                self._hold(opens, entry)  # as the window of the same zones found closed
            elif not self.ended or (enrollment.campaign, enrollment.phone) not in self.ended:
                planning.consider(enrollment, new=entry[0] & ROW_MASK in self.fresh)
                actions = planning.take_sends()
                if len(actions) == 1 and actions[0].type == "send":  # the usual answers first
                    self._sent(day, at, entry, actions[0].step, actions[0].credits)
                    planned[key] = used + 1
                elif (
                    len(actions) == 1
                    and actions[0].type == "defer"
                    and (actions[0].reason in WAIT_REASONS)
                ):
                    window = actions[0].until or at + SEARCH_HORIZON
                    self._hold(lower_bound(actions[0]) or window, entry)  # or its expiry
                    if shut and actions[0].reason == "quiet_hours":
                        where = (enrollment.campaign, enrollment.zones, enrollment.us_state)
                        closed[where] = window
                else:
                    if self._decided(at, entry, actions, wakes):
                        kept.append((n, entry))
                    sent = sum(1 for action in actions if action.type == "send")
                    planned[key] = used + sent
            if heap:
                heapq.heappush(heads, (heap[0][0], n))
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
                    self._hold(lower_bound(action) or at + SEARCH_HORIZON, entry)
                elif action.reason not in NEVER_REASONS:
                    stays = True  # pace or credits: asked about again at the next tick
                    if action.until is not None:
                        wakes.append(action.until)
                    elif action.reason == "insufficient_credits":
                        # every tick while the balance pays for less than the head of the
                        # queue: a window closing at a tick puts the numbers it holds back
                        # behind those it does not, and a cheaper message may come first
                        wakes.append(at + self.interval)
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
            elif action.type == "skip" and action.reason == "expired" and entry is not None:
                self._passed(entry, action.step, action.expired_at or at)
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
        enrollment = entry[1]
        self.balance -= credits
        totals = self.totals.get((day, enrollment.campaign))
        if totals is None:
            self.totals[(day, enrollment.campaign)] = [1, credits]
        else:
            totals[0] += 1
            totals[1] += credits
        self.last_sent[enrollment.phone] = at
        self._next_step(entry, step, at, last_sent_at=at)

    def _passed(self, entry: Entry, step: int | None, expired_at: datetime) -> None:
        """A step expired (`sendWithin`): nothing sent, and the next waits from the expiry."""
        self._next_step(entry, step or entry[1].steps_sent + 1, expired_at)

    def _next_step(
        self, entry: Entry, step: int, since: datetime, last_sent_at: datetime | None = None
    ) -> None:
        """Step `step` is behind the enrollment: it waits for the next, or is done."""
        enrollment = entry[1]
        wait = self._waits(enrollment.campaign)[step]
        if wait is None:
            self._done(enrollment.campaign)  # the sequence is done
            return
        due = since + wait
        moved = enrollment._replace(
            steps_sent=step,
            last_sent_at=last_sent_at or enrollment.last_sent_at,
            next_due_at=due,
        )
        heapq.heappush(self.pending, (micros(due) << ROW_BITS | entry[0] & ROW_MASK, moved))

    def _campaign(self, name: str, **changes: Any) -> None:
        """Change what the state holds of a campaign (made as the executor makes it)."""
        state = self.campaigns.get(name) or CampaignState(name, "draft", None, None, None, 0)
        self.campaigns[name] = replace(state, **changes)
        self.routes.pop(name, None)
        self.waits.pop(name, None)

    def _done(self, name: str) -> None:
        """One enrollment of the campaign is no longer live."""
        self.live[name] = max(0, self.live.get(name, 0) - 1)

    # ------------------------------------------------------------------ queues

    def _queue(self, enrollment: Enrollment, row: int, moment: datetime) -> None:
        """Queue a live enrollment until its next moment."""
        heapq.heappush(self.pending, (order_key(moment, row), enrollment))

    def _hold(self, until: datetime, entry: Entry) -> None:
        """Put a due enrollment aside until `until`, its next moment: then it is ordered by
        that moment, as the state orders it (`enrollments.next_at`, store/due.py)."""
        at = micros(until)
        entry = (at << ROW_BITS | entry[0] & ROW_MASK, entry[1])
        waiting = self.held.get(at)
        if waiting is None:
            self.held[at] = [entry]
            heapq.heappush(self.held_at, at)
        else:
            waiting.append(entry)

    def _expires(self, enrollment: Enrollment) -> bool:
        """Whether the enrollment's next step can expire (sendWithin): it may be passed over
        before its window opens, so the planner is asked about it."""
        steps = self._route(enrollment.campaign)[1]
        return enrollment.steps_sent < len(steps) and (
            steps[enrollment.steps_sent].send_within is not None
        )

    def _release(self, at: datetime) -> None:
        """Make ready what is due at `at` and what was held until then."""
        now = micros(at)
        limit = (now + 1) << ROW_BITS  # every key due at `now` or before is below it
        batches: dict[str, list[Entry]] = {}
        pending = self.pending
        while pending and pending[0][0] < limit:
            entry = heapq.heappop(pending)
            batches.setdefault(entry[1].campaign, []).append(entry)
        while self.held_at and self.held_at[0] <= now:
            for entry in self.held.pop(heapq.heappop(self.held_at)):
                batches.setdefault(entry[1].campaign, []).append(entry)
        for campaign, batch in batches.items():
            heap = self.ready.setdefault(self._route(campaign)[0], [])
            if len(batch) > len(heap) // 8:  # many at once: one pass orders them all
                heap.extend(batch)
                heapq.heapify(heap)
            else:
                for entry in batch:
                    heapq.heappush(heap, entry)

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

    def _waits(self, campaign: str) -> list[timedelta | None]:
        """The wait after each step of the campaign's sequence (index: the step sent; None
        after the last), as the executor works it out (`next_wait`)."""
        waits = self.waits.get(campaign)
        if waits is None:
            steps = self._route(campaign)[1]
            days = [next_wait(steps, step) for step in range(len(steps) + 1)]
            waits = [None if d is None else timedelta(days=d) for d in days]
            self.waits[campaign] = waits
        return waits

    def _cheapest(self) -> int:
        """The least a message can cost: one segment."""
        return self.desired.settings.credits_per_segment


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
