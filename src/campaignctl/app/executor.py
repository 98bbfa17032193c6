"""The one executor: carries out decided actions through the store and the provider, for a
fresh apply (a stage at a time, as the planner decides them) and for a saved plan alike.

It records before it acts (an intent before each call to the provider), checks each send
against the real clock at the moment of the call, and keeps what was really done: a send
that did not go out is not reported as sent, and its step stays due.

Each sender's messages are handed over concurrently, up to its pool (app.handover): the
store is written on the executor's thread only, an intent before its call is started and
the outcome once the call is back; a stop (the provider down, credentials refused, the
lease in doubt) lets the calls in flight come back and be recorded, and starts no other.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import groupby

from campaignctl.app.handover import NOT_HANDED_OVER, Answer, Call, Flight, pool_size
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

log = logging.getLogger("campaignctl.engine")

BATCH = 50_000  # contacts, or due enrollments, decided and written at a time
LISTED = 10_000  # actions an apply lists in its report; the rest of the bulk kinds are counted
BULK = frozenset({"enroll", "defer", "skip", "end"})  # kinds that can number in the millions
UNCLEAR_IN_A_ROW = 3  # answers of unknown outcome in a row after which sending stops

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
            for action in batch:
                if action.type not in ("enroll", "end"):
                    self._simple(action, self.clock.now())
                done.append(action)
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
        """Hand the messages over, each sender's calls concurrently up to its pool size
        (see app.handover), every store write on this thread. Returns what was done, in
        the order of `actions`; a stop lets the calls in flight come back and be recorded,
        and hands nothing more over."""
        results: list[Action | None] = [None] * len(actions)
        flight: Flight[Call] = Flight()
        try:
            for index, action in enumerate(actions):
                sender = self._sender(action.campaign)
                size = self._pool_size(action.campaign, sender)
                while flight.full(sender.key, size):
                    self._land_all(flight.landed(), results)
                results[index] = self._send(action, index, sender, size, flight)
            self._land_all(flight.drain(), results)
        except BaseException:
            self._halt.set()  # the calls not yet made are not made
            with contextlib.suppress(Exception):  # record what comes back, while we can
                self._land_all(flight.drain(), results)
            raise
        finally:
            flight.close()
        return [result for result in results if result is not None]

    def _pool_size(self, campaign: str, sender: Sender) -> int:
        """The sender's calls at once; `concurrency` is read from the files (a launch
        record does not keep it: it changes no rule)."""
        spec = self.desired.campaigns.get(campaign)
        if spec is not None and spec.sender.concurrency is not None:
            sender = replace(sender, concurrency=spec.sender.concurrency)
        return pool_size(sender, self.provider.name)

    def _send(
        self, action: Send, index: int, sender: Sender, size: int, flight: Flight[Call]
    ) -> Action | None:
        """Record the intent of one message and hand it over: at once on this thread for a
        pool of one, else to a worker (its outcome is recorded when it comes back). Returns
        what was done now: a defer (the window closed, or the state refused the send), None
        when it was not attempted (sending stopped: it simply stays due) or is in flight."""
        if self.stopped:
            return None
        if self.options.should_stop():
            self.report.stopped = "asked to stop"
            return None
        now = self.clock.now()
        if _closed(seconds_left(action.valid_until, now)):
            return self._too_late(action)
        try:
            attempt_id = self.store.record_intent(
                campaign=action.campaign,
                phone=action.phone,
                step=action.step,
                body=action.body,
                segments=action.segments,
                credits=action.credits,
                sender_key=sender.key,
                provider=self.provider.name,
                now=now,
            )
        except SendBlocked as exc:
            # the state changed between plan and send (a STOP arrived, a suspend, credits)
            log.info("not sent to %s (step %s): %s", action.phone, action.step, exc)
            self.report.count(self.report.outcomes, f"blocked_{exc.reason}")
            reason = BLOCKED_REASONS.get(exc.reason)
            if reason is None:
                return None  # sent or ended meanwhile: nothing of this step is due
            return Defer(action.campaign, action.phone, action.step, reason, None, str(exc))
        call = Call(index, action, attempt_id, sender, now)
        if size == 1:
            return self._land(call, self._call(call))
        flight.submit(sender.key, size, call, lambda: self._call(call))
        return None

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
        return self.provider.send(message)

    def _land_all(
        self, landed: Iterable[tuple[Call, Answer]], results: list[Action | None]
    ) -> None:
        for call, answer in landed:
            results[call.index] = self._land(call, answer)

    def _land(self, call: Call, answer: Answer) -> Action | None:
        """Record what a call came back with, on the executor's thread."""
        if isinstance(answer, BaseException):
            raise answer  # the attempt stays in flight: settled by look-up at the next apply
        action = call.action
        if answer is None:
            closed = Outcome("retry", detail="the recipient's window closed before the call")
            self.store.record_outcome(call.attempt_id, closed, self.clock.now(), None)
            return self._too_late(action)
        if answer is NOT_HANDED_OVER:
            self.store.record_outcome(call.attempt_id, answer, self.clock.now(), None)
            return None  # refunded, still due
        wait = next_wait(self._steps(action.campaign), action.step)
        self.store.record_outcome(call.attempt_id, answer, self.clock.now(), wait)
        self.heartbeat()
        result = self._outcome(action, answer)
        if self.stopped:
            self._halt.set()
        return result

    def _outcome(self, action: Send, outcome: Outcome) -> Action | None:
        report = self.report
        report.count(report.outcomes, outcome.status)
        self._unclear = self._unclear + 1 if outcome.status == "unknown" else 0
        if outcome.status == "auth_failed":
            report.stopped = (
                "the provider refused the credentials (Twilio 20003): check "
                "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"
            )
        elif outcome.status == "retry":
            report.stopped = f"the provider is not taking messages ({outcome.detail})"
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
