"""The one executor: carries out decided actions through the store and the provider, for a
fresh apply (a stage at a time, as the planner decides them) and for a saved plan alike.

It records before it acts (an intent before each call to the provider), checks each send
against the real clock at the moment of the call, and keeps what was really done: a send
that did not go out is not reported as sent, and its step stays due.

Each sender's messages are handed over concurrently, up to its pool (app.handover): the
store is written on the executor's thread only, a round at a time: one transaction records
the outcomes of the calls back and the intents of the calls about to start, then those
calls start (a round is what the pools have room for, up to ROUND calls inline to a local
provider, and to a remote one made inline as many as came back within INLINE_SECONDS at the
pace of the last ones: one call a round from a provider across the internet, many from a
server on this host; the state is checked just before each call, as ever, and a transaction
is most of what a message costs the engine); a stop (the provider down, credentials refused,
the lease in doubt, asked to) lets the calls in flight come back and be recorded, and starts
no other.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import groupby

from campaignctl.app.handover import (
    LOCAL_PROVIDERS,
    NOT_HANDED_OVER,
    Answer,
    Call,
    Flight,
    gathered,
    pool_size,
)
from campaignctl.app.joining import contacts_for, keep_waiting
from campaignctl.clock import Clock
from campaignctl.core.actions import Action, ActionType, Defer, Reason, Send
from campaignctl.core.lifecycle import AUTO_COMPLETED, launch_record
from campaignctl.core.nextdue import enrolled_moments
from campaignctl.core.planner import ORDER
from campaignctl.core.types import Contact, Desired, Relaunch, Sender, Snapshot, Step, Tally
from campaignctl.core.windows import seconds_left
from campaignctl.providers.base import Outcome, OutgoingMessage, Provider
from campaignctl.store import SendBlocked
from campaignctl.store.protocols import ApplyWriter
from campaignctl.store.records import Intent, Landed

log = logging.getLogger("campaignctl.engine")

BATCH = 50_000  # contacts, or due enrollments, decided and written at a time
LISTED = 10_000  # actions an apply lists in its report; the rest of the bulk kinds are counted
BULK = frozenset({"enroll", "defer", "skip", "end"})  # kinds that can number in the millions
# kinds with nothing to carry out one at a time (done together, or only recorded)
NOTHING_MORE = frozenset({"enroll", "end", "defer"})
UNCLEAR_IN_A_ROW = 3  # answers of unknown outcome in a row after which sending stops
# calls at most whose intents are recorded in one transaction, with the outcomes of the
# calls back before them: a transaction is most of the engine's own cost of a message (a
# durable commit each on PostgreSQL)
ROUND = 64
# seconds of calls made inline to a remote provider (a pool of one) whose intents a round
# records together: the calls of a round a crash may leave recorded but not made (settled
# by look-up, as calls in flight are) and that a stop waits for are bounded by it
INLINE_SECONDS = 0.1

# why the state refused a send between plan and call, as the rule that holds the step
BLOCKED_REASONS: Mapping[str, Reason] = {
    "suspended": "suspended",
    "opted_out": "opted_out",
    "insufficient_credits": "insufficient_credits",
    "held": "replied",  # a reply held the number for review
}


@dataclass(frozen=True)
class ApplyOptions:
    """How an apply runs, beyond what it applies."""

    holder: str | None = None  # who holds the lease (default: this process)
    wait_seconds: float = 30.0  # for another apply or controller to finish
    # how long the lease outlives a holder that stopped renewing it: a controller's own
    # (--lease-ttl), so that its ticks never push the expiry further than it does
    lease_ttl: float = 60.0
    allow_empty: bool = False  # apply a configuration without campaigns over live ones
    batch: int = BATCH
    should_stop: Callable[[], bool] = lambda: False  # asked to stop (a signal): checked often
    progress: Callable[[int, int], None] | None = None  # (sent, total; 0: not known ahead)
    importing: Callable[[str, int, int], None] | None = None  # (campaign, read, enrolled)


class Report:
    """The actions an apply carried out: the first LISTED one by one, the rest counted."""

    def __init__(self) -> None:
        self.listed: list[Action] = []
        self.counted: Counter[tuple[str, ActionType, Reason | None]] = Counter()

    def add(self, actions: Iterable[Action]) -> None:
        for action in actions:
            if action.type in BULK and len(self.listed) >= LISTED:
                self.counted[(action.campaign, action.type, action.reason)] += 1
            else:
                self.listed.append(action)

    def tallies(self) -> tuple[Tally, ...]:
        return tuple(
            Tally(campaign, kind, reason, count)
            for (campaign, kind, reason), count in sorted(
                self.counted.items(), key=lambda item: (item[0][0], item[0][1], item[0][2] or "")
            )
        )


@dataclass
class ApplyReport:
    counts: dict[str, int] = field(default_factory=dict)  # actions carried out, by kind
    outcomes: dict[str, int] = field(default_factory=dict)  # the provider's answers
    stopped: str | None = None  # why sending stopped early, if it did
    sent: int = 0  # messages the provider took (sent, or of unknown outcome)
    debited: int = 0  # credits those cost

    def count(self, table: dict[str, int], key: str) -> None:
        table[key] = table.get(key, 0) + 1


def next_wait(steps: tuple[Step, ...], step: int) -> int | None:
    """Days to wait after `step` is sent before the next one; None after the last step."""
    return steps[step].wait_days if step < len(steps) else None


class Executor:
    """Carries out actions decided on `desired` and `snapshot`, keeping what was done."""

    def __init__(
        self,
        store: ApplyWriter,
        provider: Provider,
        desired: Desired,
        snapshot: Snapshot,
        clock: Clock,
        options: ApplyOptions,
        heartbeat: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.provider = provider
        self.desired = desired
        self.snapshot = snapshot
        self.clock = clock
        self.options = options
        self.heartbeat = heartbeat
        self.done = Report()
        self.report = ApplyReport()
        self.enrolled = 0
        self.total = 0  # sends expected, for progress (0: not known ahead)
        self._unclear = 0  # unknown outcomes in a row
        self._halt = threading.Event()  # set once sending stopped: no call starts after it
        self._landed: list[Landed] = []  # outcomes judged, not recorded yet
        self._failures: list[BaseException] = []  # what calls raised
        self._inline_seconds: float | None = None  # how long an inline remote call takes

    @property
    def stopped(self) -> bool:
        return self.report.stopped is not None

    def carry_out(
        self,
        actions: Sequence[Action],
        *,
        joining: Sequence[Contact] | None = None,
        fresh: bool = False,
    ) -> list[Action]:
        """Carry out and record actions, in the order of their kinds; returns what was done.
        `joining`: the contacts the enrollments and refusals among them are about (else found
        in the desired state's groups, or among the snapshot's waiters). `fresh`: about enrollments made by this apply (nothing was decided
        about them before). The ends of enrollments go to the state together."""
        now = self.clock.now()
        done: list[Action] = []
        for kind, same in groupby(sorted(actions, key=lambda a: ORDER[a.type]), lambda a: a.type):
            batch = list(same)
            if kind == "enroll":
                self._enroll(batch, joining, now)
            elif kind == "end":
                self._end(batch, now)
            elif kind == "skip":
                keep_waiting(self.store, self.desired, self.snapshot, batch, joining, now)
            elif kind == "send":
                done.extend(self._send_all([a for a in batch if a.type == "send"]))
                continue
            if kind not in NOTHING_MORE:
                for action in batch:
                    self._simple(action, self.clock.now())
            done.extend(batch)
        self.store.record_decisions(done, now, fresh=fresh)
        self.done.add(done)
        return done

    def record_edits(
        self, relaunches: Mapping[str, Relaunch], holds: Mapping[str, str | None]
    ) -> None:
        """Record the accepted edits of launched campaigns, before anything is sent (the
        sends and their next waits follow the new record), and the configuration errors
        that hold campaigns (None: lifted)."""
        campaigns = dict(self.snapshot.campaigns)
        for name, relaunch in relaunches.items():
            self.store.relaunch(name, relaunch.record, relaunch.previous)
            campaigns[name] = replace(campaigns[name], launch=relaunch.record)
        self.snapshot = replace(self.snapshot, campaigns=campaigns)
        for name, error in holds.items():
            self.store.set_config_error(name, error, self.clock.now())

    # ------------------------------------------------------------------ one kind at a time

    def _enroll(
        self, actions: Sequence[Action], joining: Sequence[Contact] | None, now: datetime
    ) -> None:
        wanted: dict[str, set[str]] = {}
        for action in actions:
            if action.type == "enroll":
                wanted.setdefault(action.campaign, set()).add(action.phone)
        for campaign, phones in wanted.items():
            contacts = contacts_for(self.desired, self.snapshot, campaign, phones, joining)
            moment = enrolled_moments(self.desired, campaign, now)  # when its window opens
            inserted = self.store.enroll_many(campaign, contacts, now, moment)
            # a returning number's enrollment lives again; the numbers wait no more
            returns_at = now + self.desired.settings.reconcile_interval
            back = self.store.joined(
                campaign, contacts, returns_at, revive=inserted < len(contacts)
            )
            self.enrolled += inserted + back

    def _end(self, actions: Sequence[Action], now: datetime) -> None:
        """End enrollments together: a transaction per campaign and reason."""
        ends: dict[tuple[str, Reason], list[str]] = {}
        for action in actions:
            if action.type == "end":
                ends.setdefault((action.campaign, action.reason), []).append(action.phone)
        for (campaign, reason), phones in ends.items():
            self.store.end_enrollments(campaign, phones, reason, now)

    def _simple(self, action: Action, now: datetime) -> None:
        store = self.store
        if action.type == "campaign_status":
            launch = None
            if action.from_status == "draft":
                spec = self.desired.campaigns[action.campaign]
                launch = launch_record(spec, self.desired.templates[spec.template])
                store.ensure_campaign(action.campaign, now)
            store.set_campaign_status(action.campaign, action.to_status, None, now, launch)
        elif action.type == "pause":
            store.set_campaign_status(action.campaign, "paused", "insufficient_credits", now)
        elif action.type == "resume":
            store.set_campaign_status(action.campaign, "active", None, now)
        elif action.type == "complete":
            store.set_campaign_status(action.campaign, "completed", AUTO_COMPLETED, now)
        elif action.type == "skip" and action.step is not None and action.phone is not None:
            if action.reason == "expired":  # passed over: the sequence goes on from its expiry
                wait = next_wait(self._steps(action.campaign), action.step)
                at = action.expired_at or now
                store.pass_over(action.campaign, action.phone, action.step, at, wait, now)
                return
            # a due step refused: the enrollment ends (a skip without a step refused to enroll)
            store.end_enrollment(action.campaign, action.phone, action.reason, now)

    def _steps(self, campaign: str) -> tuple[Step, ...]:
        state = self.snapshot.campaigns.get(campaign)
        if state is not None and state.launch is not None:
            return state.launch.steps
        spec = self.desired.campaigns[campaign]
        return self.desired.templates[spec.template].steps

    def _sender(self, campaign: str) -> Sender:
        state = self.snapshot.campaigns.get(campaign)
        if state is not None and state.launch is not None:
            return state.launch.sender
        return self.desired.campaigns[campaign].sender

    # ------------------------------------------------------------------ sends

    def _send_all(self, actions: Sequence[Send]) -> list[Action]:
        """Hand the messages over, each sender's calls concurrently up to its pool size (see
        app.handover), every store write on this thread: before each round of calls, one
        transaction records the outcomes of the calls back and the intents of the calls
        about to start (`_round`). Returns what was done, in the order of `actions`; a stop
        lets the calls in flight come back and be recorded, and hands nothing more over."""
        results: list[Action | None] = [None] * len(actions)
        flight: Flight[Call] = Flight()
        try:
            at = 0
            while at < len(actions) and not self._stopping():
                round_ = self._round(actions, at, flight, results)
                if self._stopping():  # a call back meanwhile stopped sending
                    break
                for call, size in self._intents(round_, at, results):
                    self._hand_over(call, size, flight, results)
                at += len(round_)
            for call, answer in flight.drain():
                self._judge(call, answer, results)
            self._record_landed()
        except BaseException:
            self._halt.set()  # the calls not yet made are not made
            with contextlib.suppress(Exception):  # record what comes back, while we can
                for call, answer in flight.drain():
                    self._judge(call, answer, results)
                self._record_landed(raising=False)
            raise
        finally:
            flight.close()
        return [result for result in results if result is not None]

    def _stopping(self) -> bool:
        """Whether sending stopped (or was asked to): no call starts after it. A call whose
        answer stops sending (`_stop_reason`) stops it at once, before it is judged."""
        if self.stopped or self._failures or self._halt.is_set():
            return True
        if self.options.should_stop():
            self.report.stopped = "asked to stop"
            return True
        return False

    def _round(
        self, actions: Sequence[Send], at: int, flight: Flight[Call], results: list[Action | None]
    ) -> Sequence[Send]:
        """The messages from the `at`th on whose calls can start now, up to ROUND: those
        whose sender's pool has room (for the first, waiting for calls to come back when it
        has none, until a quarter of the pool is free: `gathered`), those of senders called
        inline when the provider is local (it answers at once); calls made inline to a
        remote provider make a round of their own, as many as `_inline_room`."""
        local = self.provider.name in LOCAL_PROVIDERS
        room = self._inline_room()
        taken: Counter[str] = Counter()
        inline = 0  # calls of this round made inline to a remote provider
        end = at
        while end < len(actions) and end - at < ROUND:
            action = actions[end]
            sender = self._sender(action.campaign)
            size = self._pool_size(action.campaign, sender)
            if size == 1 and not local:
                if end - at > inline or inline >= room:  # after other calls, or full
                    break
                inline += 1
                end += 1
                continue
            if inline:
                break
            if size > 1 and flight.flying(sender.key) + taken[sender.key] >= size:
                if end > at:
                    break
                # room for a round of several calls, not one: a transaction each call would
                # be most of what the engine spends on a message
                room = min(gathered(size), len(actions) - at)
                while flight.flying(sender.key) > size - room:
                    for call, answer in flight.landed():
                        self._judge(call, answer, results)
            taken[sender.key] += 1
            end += 1
        return actions[at:end]

    def _inline_room(self) -> int:
        """How many calls made inline to a remote provider a round holds: those that come
        back within INLINE_SECONDS at the pace of the last ones (one until a call has been
        timed), up to ROUND. Twilio across the internet (100-300 ms) gets a round a call;
        a server on this host answering in a few milliseconds shares a transaction among
        dozens."""
        if self._inline_seconds is None:
            return 1
        return max(1, min(ROUND, int(INLINE_SECONDS / max(self._inline_seconds, 1e-6))))

    def _pool_size(self, campaign: str, sender: Sender) -> int:
        """The sender's calls at once; `concurrency` is read from the files (a launch
        record does not keep it: it changes no rule)."""
        spec = self.desired.campaigns.get(campaign)
        if spec is not None and spec.sender.concurrency is not None:
            sender = replace(sender, concurrency=spec.sender.concurrency)
        return pool_size(sender, self.provider.name)

    def _intents(
        self, actions: Sequence[Send], start: int, results: list[Action | None]
    ) -> list[tuple[Call, int]]:
        """Record, in one transaction, the outcomes judged since the last one and the
        intents of these messages (the `start`th on): their calls, each with its sender's
        pool size. One not attempted gets its result now: a defer (the window closed, or
        the state refused the send) or none (nothing of its step is due any more)."""
        now = self.clock.now()
        going: list[tuple[int, Send, Sender]] = []
        for index, action in enumerate(actions, start):
            if _closed(seconds_left(action.valid_until, now)):
                results[index] = self._too_late(action)
            else:
                going.append((index, action, self._sender(action.campaign)))
        intents = [
            Intent(a.campaign, a.phone, a.step, a.body, a.segments, a.credits, sender.key,
                   self.provider.name, now)
            for _, a, sender in going
        ]  # fmt: skip
        recorded = self._record(intents)
        calls: list[tuple[Call, int]] = []
        for (index, action, sender), attempt in zip(going, recorded, strict=True):
            if isinstance(attempt, SendBlocked):
                results[index] = self._blocked(action, attempt)
            else:
                call = Call(index, action, attempt, sender, now)
                calls.append((call, self._pool_size(action.campaign, sender)))
        return calls

    def _blocked(self, action: Send, exc: SendBlocked) -> Defer | None:
        """The state changed between plan and send (a STOP arrived, a suspend, credits)."""
        log.info("not sent to %s (step %s): %s", action.phone, action.step, exc)
        self.report.count(self.report.outcomes, f"blocked_{exc.reason}")
        reason = BLOCKED_REASONS.get(exc.reason)
        if reason is None:
            return None  # sent or ended meanwhile: nothing of this step is due
        return Defer(action.campaign, action.phone, action.step, reason, None, str(exc))

    def _hand_over(
        self, call: Call, size: int, flight: Flight[Call], results: list[Action | None]
    ) -> None:
        """Make one recorded call: at once on this thread for a pool of one (timed, for
        `_inline_room`; not made once sending stopped), else on a worker of its sender's
        pool (which has room: `_round`)."""
        if size == 1:
            if self._stopping():
                self._judge(call, NOT_HANDED_OVER, results)
                return
            started = time.monotonic()
            answer = self._call(call)
            if isinstance(answer, Outcome) and answer is not NOT_HANDED_OVER:
                took, before = time.monotonic() - started, self._inline_seconds
                # a slower call counts at once, faster ones little by little
                self._inline_seconds = (
                    took if before is None else max(took, (3 * before + took) / 4)
                )
            self._judge(call, answer, results)
        else:
            flight.submit(call.sender.key, size, call, lambda: self._call(call))

    def _call(self, call: Call) -> Outcome | None:
        """On a worker (or inline): the window checked again at the moment of the call, then
        the call. None: the window closed before it; NOT_HANDED_OVER: sending stopped."""
        if self._halt.is_set():
            return NOT_HANDED_OVER
        action = call.action
        left = seconds_left(action.valid_until, self.clock.now())
        if _closed(left):
            return None
        message = OutgoingMessage(
            attempt_id=call.attempt_id,
            campaign=action.campaign,
            step=action.step,
            to=action.phone,
            from_number=call.sender.from_number,
            messaging_service_sid=call.sender.messaging_service_sid,
            body=action.body,
            created_at=call.created_at,
            validity_seconds=None if left is None else int(left),  # never rounded up
        )
        outcome = self.provider.send(message)
        if _stop_reason(outcome) is not None:  # no call starts after it, judged yet or not
            self._halt.set()
        return outcome

    def _judge(self, call: Call, answer: Answer, results: list[Action | None]) -> None:
        """What a call came back with, on the executor's thread: its result, and its
        outcome to record (`_record_landed`). A call that raised stops sending; its attempt
        stays in flight, settled by look-up at the next apply."""
        if isinstance(answer, BaseException):
            self._failures.append(answer)
            self._halt.set()
            return
        action = call.action
        now = self.clock.now()
        if answer is None:
            closed = Outcome("retry", detail="the recipient's window closed before the call")
            self._landed.append(Landed(call.attempt_id, closed, now, None))
            results[call.index] = self._too_late(action)
            return
        if answer is NOT_HANDED_OVER:  # refunded, still due
            self._landed.append(Landed(call.attempt_id, answer, now, None))
            return
        wait = next_wait(self._steps(action.campaign), action.step)
        self._landed.append(Landed(call.attempt_id, answer, now, wait))
        results[call.index] = self._outcome(action, answer)
        if self.stopped:
            self._halt.set()

    def _record(self, intents: Sequence[Intent]) -> list[int | SendBlocked]:
        """One transaction: the outcomes judged since the last one, then these intents."""
        landed, self._landed = self._landed, []
        recorded = self.store.record_sends(landed, intents)
        if landed:
            self.heartbeat()
        return recorded

    def _record_landed(self, *, raising: bool = True) -> None:
        """Record the outcomes judged since the last transaction; then raise what a call
        raised, if one did."""
        self._record(())
        if raising and self._failures:
            raise self._failures[0]

    def _outcome(self, action: Send, outcome: Outcome) -> Action | None:
        report = self.report
        report.count(report.outcomes, outcome.status)
        self._unclear = self._unclear + 1 if outcome.status == "unknown" else 0
        stop = _stop_reason(outcome)
        if stop is not None:
            report.stopped = stop
        elif self._unclear >= UNCLEAR_IN_A_ROW:
            report.stopped = (
                f"the provider answered {self._unclear} sends in a row with errors of unknown "
                f"outcome ({outcome.detail}); they are settled by look-up at the next apply"
            )
        if outcome.status not in ("sent", "unknown"):
            return None  # refunded: not sent (a permanent refusal ends the enrollment)
        report.sent += 1
        report.debited += action.credits
        if self.options.progress is not None:
            self.options.progress(report.sent, self.total)
        return action

    def _too_late(self, action: Send) -> Defer:
        log.info(
            "not sent to %s (step %s): the recipient's window closed before the call",
            action.phone,
            action.step,
        )
        return Defer(
            action.campaign,
            action.phone,
            action.step,
            "quiet_hours",
            None,
            "the recipient's window closed before the message could be handed over; it goes "
            "out in the next window",
        )


def _closed(left: float | None) -> bool:
    """Whether a window with `left` seconds to go is closed for a send: under one second
    (Twilio's shortest ValidityPeriod) is closed; None is a window with no known close."""
    return left is not None and left < 1


def _stop_reason(outcome: Outcome) -> str | None:
    """Why an answer stops the sending by itself (the credentials refused, the provider not
    taking messages), or None."""
    if outcome.status == "auth_failed":
        return (
            "the provider refused the credentials (Twilio 20003): check "
            "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"
        )
    if outcome.status == "retry":
        return f"the provider is not taking messages ({outcome.detail})"
    return None
