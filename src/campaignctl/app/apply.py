"""The use cases the CLI and the controller share: load, plan, apply, tick.

All reads happen before planning (config files, a snapshot of the state), all writes after
(through the store, under the lease). The Plan that `plan` shows is the Plan `apply` executes.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from campaignctl import config
from campaignctl.app.streamed import BATCH, StreamedApply
from campaignctl.clock import Clock
from campaignctl.core.instants import format_instant
from campaignctl.core.lifecycle import AUTO_COMPLETED, launch_record
from campaignctl.core.planjson import action_key, plan_digest
from campaignctl.core.planner import plan as make_core_plan
from campaignctl.core.types import Action, Desired, Plan, Snapshot, Step
from campaignctl.errors import PlanError, ProviderError
from campaignctl.providers.base import Outcome, OutgoingMessage, Provider
from campaignctl.store import SendBlocked, Store
from campaignctl.store.lease import process_holder

log = logging.getLogger("campaignctl.engine")


@contextmanager
def collection_paused() -> Iterator[None]:
    """No cyclic garbage collection while a plan is made or streamed: a large group makes
    millions of short-lived objects (freed as they go, by reference counting), and the
    collections they set off walk every object alive again and again for nothing (a fifth
    of the time of a streamed launch of a million contacts)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


@contextmanager
def planned_objects_frozen() -> Iterator[None]:
    """While a plan is applied, the collector skips the objects that exist already (the
    desired state, the snapshot, the plan: millions for a large group) but still collects
    what the sends leave behind."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@dataclass(frozen=True)
class Planned:
    desired: Desired
    snapshot: Snapshot
    plan: Plan


def load_desired(config_dir: Path, store: Store | None) -> Desired:
    """The files as they are now; groups already synced with the same digest are not parsed."""
    synced = store.synced_groups() if store is not None else {}
    result = config.load(config_dir, parse_contacts=lambda name, digest: synced.get(name) != digest)
    desired = result.require()
    if store is None:
        return desired
    # A group skipped as synced must be synced for every campaign that uses it now (e.g. a
    # new campaign on the group of a deleted one); otherwise load again, parsing those too.
    recorded = store.group_digests()
    stale = {
        spec.prospect_group
        for name, spec in desired.campaigns.items()
        if spec.status == "active"
        and (group := desired.groups.get(spec.prospect_group)) is not None
        and not group.loaded
        and recorded.get(name) != group.digest
    }
    if not stale:
        return desired
    return config.load(
        config_dir,
        parse_contacts=lambda name, digest: name in stale or synced.get(name) != digest,
    ).require()


def make_plan(
    config_dir: Path, store: Store, now: datetime, *, allow_empty: bool = False
) -> Planned:
    with collection_paused():
        desired = load_desired(config_dir, store)
        snapshot = store.snapshot(desired, now)
        return Planned(
            desired, snapshot, make_core_plan(desired, snapshot, now, allow_empty=allow_empty)
        )


def check_saved_plan_current(saved: Plan, now: datetime, config_digest: str, serial: int) -> None:
    """A saved plan is applied only before it expires and while config and state are as it saw."""
    if now >= saved.expires_at:
        raise PlanError(
            f"the saved plan expired at {format_instant(saved.expires_at)} "
            f"(it is {format_instant(now)}); run `campaignctl plan` again"
        )
    if config_digest != saved.config_digest:
        raise PlanError("the configuration changed since the plan was made; plan again")
    if serial != saved.state_serial:
        raise PlanError(
            f"the state changed since the plan was made (serial {saved.state_serial} is now "
            f"{serial}); plan again"
        )


def check_saved_plan_actions(saved: Plan, fresh: Plan) -> None:
    """What is due now must be exactly what the saved plan says (the time window may move)."""
    want = sorted((action_key(a) for a in saved.actions if a.type != "defer"), key=repr)
    have = sorted((action_key(a) for a in fresh.actions if a.type != "defer"), key=repr)
    if want != have:
        raise PlanError(
            "the time window changed since the plan was made: what is due now differs "
            "(quiet hours, pace or 30-day gaps moved on); plan again"
        )


@dataclass
class ApplyReport:
    counts: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)
    stopped: str | None = None  # why sending stopped early, if it did

    def count(self, table: dict[str, int], key: str) -> None:
        table[key] = table.get(key, 0) + 1


def next_wait(steps: tuple[Step, ...], step: int) -> int | None:
    """Days to wait after `step` is sent before the next one; None after the last step."""
    return steps[step].wait_days if step < len(steps) else None


class Applier:
    """Carries out one Plan through the store and the provider, recording before it acts."""

    def __init__(
        self,
        store: Store,
        provider: Provider,
        planned: Planned,
        clock: Clock,
        should_stop: Callable[[], bool] = lambda: False,
        heartbeat: Callable[[], None] = lambda: None,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.progress = progress
        self.heartbeat = heartbeat
        self.store = store
        self.provider = provider
        self.planned = planned
        self.clock = clock
        self.should_stop = should_stop
        self.report = ApplyReport()
        self.sent = 0
        self.total = 0  # sends in the plan; 0 when not known ahead (a streamed apply)

    def run(self) -> ApplyReport:
        """Carry out the whole plan (a saved one: its actions are all in memory)."""
        plan = self.planned.plan
        enrolls: dict[str, list[str]] = {}
        self.total = sum(1 for a in plan.actions if a.type == "send")
        for action in plan.actions:
            if action.type == "enroll" and action.phone:
                enrolls.setdefault(action.campaign, []).append(action.phone)
        for action in plan.actions:
            if action.type == "enroll":
                if action.campaign in enrolls:
                    self._enroll(action.campaign, enrolls.pop(action.campaign))
                self.report.count(self.report.counts, action.type)
            else:
                self.act(action)
        now = self.clock.now()
        for campaign, digest in plan.group_digests.items():
            self.store.set_group_digest(campaign, digest)
        self.store.record_decisions(plan.actions, now)
        self.store.record_run(now, plan_digest(plan), plan.summary())
        return self.report

    def act(self, action: Action) -> None:
        """Carry out one action other than an enrollment; after sending stopped (asked to,
        or the provider refused), sends are left for a later apply."""
        if action.type == "send":
            if self.report.stopped:
                return
            if self.should_stop():
                self.report.stopped = "asked to stop"
                return
            self.send(action)
            self.heartbeat()
            self.sent += 1
            if self.progress is not None:
                self.progress(self.sent, self.total)
        else:
            self.apply_simple(action)
        self.report.count(self.report.counts, action.type)

    def _enroll(self, campaign: str, phones: list[str]) -> None:
        spec = self.planned.desired.campaigns[campaign]
        group = self.planned.desired.groups[spec.prospect_group]
        wanted = set(phones)
        contacts = [c for c in group.contacts if c.phone in wanted]
        self.store.enroll_many(campaign, contacts, self.clock.now())

    def apply_simple(self, action: Action) -> None:
        now = self.clock.now()
        store = self.store
        if action.type == "campaign_status" and action.to_status is not None:
            launch = None
            if action.from_status == "draft":
                spec = self.planned.desired.campaigns[action.campaign]
                launch = launch_record(spec, self.planned.desired.templates[spec.template])
                store.ensure_campaign(action.campaign, now)
            store.set_campaign_status(action.campaign, action.to_status, None, now, launch)
        elif action.type == "pause":
            store.set_campaign_status(action.campaign, "paused", "insufficient_credits", now)
        elif action.type == "resume":
            store.set_campaign_status(action.campaign, "active", None, now)
        elif action.type == "complete":
            store.set_campaign_status(action.campaign, "completed", AUTO_COMPLETED, now)
        elif (
            action.type in ("end", "skip")
            and action.phone
            and action.reason
            and self._is_enrolled(action)
        ):
            store.end_enrollment(action.campaign, action.phone, action.reason, now)

    def _is_enrolled(self, action: Action) -> bool:
        # ends, and skips of a due step, concern an enrollment; other skips refuse to enroll
        return action.type == "end" or action.step is not None

    def _steps(self, campaign: str) -> tuple[Step, ...]:
        state = self.planned.snapshot.campaigns.get(campaign)
        if state is not None and state.launch is not None:
            return state.launch.steps
        spec = self.planned.desired.campaigns[campaign]
        return self.planned.desired.templates[spec.template].steps

    def send(self, action: Action) -> None:
        assert action.phone and action.step and action.body is not None
        spec = self.planned.desired.campaigns[action.campaign]
        state = self.planned.snapshot.campaigns.get(action.campaign)
        sender = state.launch.sender if state and state.launch else spec.sender
        now = self.clock.now()
        try:
            attempt_id = self.store.record_intent(
                campaign=action.campaign,
                phone=action.phone,
                step=action.step,
                body=action.body,
                segments=action.segments or 1,
                credits=action.credits or 0,
                sender_key=sender.key,
                provider=self.provider.name,
                now=now,
            )
        except SendBlocked as exc:
            # the state changed between plan and send (a STOP arrived, a suspend, credits)
            log.info("not sent to %s (step %s): %s", action.phone, action.step, exc)
            self.report.count(self.report.outcomes, f"blocked_{exc.reason}")
            return
        validity = None
        if action.valid_until is not None:
            validity = max(1, int((action.valid_until - now).total_seconds()))
        message = OutgoingMessage(
            attempt_id=attempt_id,
            campaign=action.campaign,
            step=action.step,
            to=action.phone,
            from_number=sender.from_number,
            messaging_service_sid=sender.messaging_service_sid,
            body=action.body,
            created_at=now,
            validity_seconds=validity,
        )
        outcome = self.provider.send(message)
        wait = next_wait(self._steps(action.campaign), action.step)
        self.store.record_outcome(attempt_id, outcome, self.clock.now(), wait)
        self.report.count(self.report.outcomes, outcome.status)
        if outcome.status == "auth_failed":
            self.report.stopped = "the provider refused the credentials (20003)"
            raise ProviderError(
                "the provider refused the credentials (Twilio 20003): sending stopped; check "
                "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"
            )
        if outcome.status == "retry":
            self.report.stopped = f"the provider is not taking messages ({outcome.detail})"


def resolve_in_flight(store: Store, provider: Provider, snapshot: Snapshot, clock: Clock) -> int:
    """Settle attempts whose outcome is unknown (a crash, a 5xx) by asking the provider.

    Found: recorded sent. Certainly absent: recorded retry, so the step is due again. Still
    unclear: left in flight, never sent again blindly. Returns how many were settled.
    """
    settled = 0
    for record in store.in_flight():
        campaign = snapshot.campaigns.get(record.campaign)
        steps = campaign.launch.steps if campaign and campaign.launch else ()
        found = provider.lookup(record.message())
        if found is None:
            outcome = Outcome("retry", detail="not found at the provider after an interruption")
            store.record_outcome(record.id, outcome, clock.now(), None)
        elif found.status == "sent":
            store.record_outcome(record.id, found, record.created_at, next_wait(steps, record.step))
        else:
            log.warning(
                "attempt %s to %s (step %s) may have been sent; the provider cannot tell: "
                "it will not be sent again automatically",
                record.id,
                record.phone,
                record.step,
            )
            continue
        settled += 1
    return settled


class Lease:
    """Hold the store's lease for the length of a `with` block, renewing it as work goes on."""

    def __init__(self, store: Store, holder: str, wait_seconds: float, ttl: float = 60.0) -> None:
        self.store = store
        self.holder = holder
        self.wait_seconds = wait_seconds
        self.ttl = ttl
        self.token = 0
        self._renewed = 0.0

    def __enter__(self) -> Lease:
        self.token = self.store.acquire_lease(self.holder, self.ttl, self.wait_seconds)
        self._renewed = time.monotonic()
        return self

    def renew_if_due(self) -> None:
        if time.monotonic() - self._renewed > self.ttl / 3:
            self.store.renew_lease(self.token, self.ttl)
            self._renewed = time.monotonic()

    def __exit__(self, *exc: object) -> None:
        self.store.release_lease(self.token)


def apply_now(
    config_dir: Path,
    store: Store,
    provider: Provider,
    clock: Clock,
    *,
    saved: Plan | None = None,
    allow_empty: bool = False,
    holder: str | None = None,
    wait_seconds: float = 30.0,
    should_stop: Callable[[], bool] = lambda: False,
    progress: Callable[[int, int], None] | None = None,
    batch: int = BATCH,
    importing: Callable[[str, int, int], None] | None = None,
) -> tuple[Planned, ApplyReport]:
    """One apply: under the lease, settle what is in flight, plan afresh, and carry it out.
    `progress(sent, total)` follows the sends (total 0: not known ahead); `importing(campaign,
    numbers read, enrolled)` follows the reading of a group, a batch at a time.

    A fresh plan is carried out streamed (see `campaignctl.app.streamed`): a batch of contacts or
    of due enrollments at a time, whatever the size of the groups. A saved plan is checked
    against a fresh one made whole in memory, then carried out as saved.
    """
    with Lease(store, holder or process_holder("apply"), wait_seconds) as lease:
        if saved is not None:
            return _apply_saved(
                config_dir, store, provider, clock, saved, allow_empty, lease,
                should_stop, progress,
            )  # fmt: skip
        now = clock.now()
        loaded = config.load(config_dir, parse_contacts=lambda name, digest: False)
        desired = loaded.require()
        snapshot = store.snapshot(desired, now, with_due=False)
        if resolve_in_flight(store, provider, snapshot, clock):
            snapshot = store.snapshot(desired, now, with_due=False)
        applier = Applier(
            store,
            provider,
            Planned(desired, snapshot, Plan(now, now, desired.config_digest, snapshot.serial, ())),
            clock,
            should_stop=should_stop,
            heartbeat=lease.renew_if_due,
            progress=progress,
        )
        streamed = StreamedApply(
            store,
            desired,
            loaded.sources,
            snapshot,
            now,
            applier.act,
            allow_empty=allow_empty,
            batch=batch,
            should_stop=should_stop,
            heartbeat=lease.renew_if_due,
            stopped=lambda: applier.report.stopped is not None,
            importing=importing,
        )
        with collection_paused():
            plan = streamed.run()
        if streamed.interrupted and applier.report.stopped is None:
            applier.report.stopped = "asked to stop"
        summary = plan.summary()
        applier.report.counts = {k: n for k, n in summary.items() if k != "credits"}
        store.record_run(clock.now(), plan_digest(plan), summary)
        return Planned(streamed.shown(), snapshot, plan), applier.report


def _apply_saved(
    config_dir: Path,
    store: Store,
    provider: Provider,
    clock: Clock,
    saved: Plan,
    allow_empty: bool,
    lease: Lease,
    should_stop: Callable[[], bool],
    progress: Callable[[int, int], None] | None,
) -> tuple[Planned, ApplyReport]:
    with collection_paused():
        now = clock.now()
        desired = load_desired(config_dir, store)
        check_saved_plan_current(saved, now, desired.config_digest, store.serial)
        snapshot = store.snapshot(desired, now)
        if resolve_in_flight(store, provider, snapshot, clock):
            snapshot = store.snapshot(desired, now)
        planned = Planned(
            desired, snapshot, make_core_plan(desired, snapshot, now, allow_empty=allow_empty)
        )
    check_saved_plan_actions(saved, planned.plan)
    applier = Applier(
        store,
        provider,
        planned,
        clock,
        should_stop=should_stop,
        heartbeat=lease.renew_if_due,
        progress=progress,
    )
    with planned_objects_frozen():
        return planned, applier.run()
