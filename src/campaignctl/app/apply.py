"""Apply as a use case: under the lease, settle what is in flight, then carry out a fresh plan
(streamed, a stage at a time) or a saved one (checked against this moment first), through
the one executor.

    planned, report = apply_now(config_dir, store, provider, clock, ApplyOptions())
    report.stopped    # why sending stopped early (the provider down, credentials refused)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from campaignctl import config
from campaignctl.app.executor import ApplyOptions, ApplyReport, Executor
from campaignctl.app.lease import Lease
from campaignctl.app.plan import (
    Planned,
    check_saved_plan_actions,
    check_saved_plan_current,
    collection_paused,
    load_desired,
    planned_objects_frozen,
)
from campaignctl.app.settle import resolve_in_flight
from campaignctl.app.streamed import StreamedApply
from campaignctl.clock import Clock
from campaignctl.core.planjson import plan_digest
from campaignctl.core.planner import Planning
from campaignctl.core.planner import plan as make_core_plan
from campaignctl.core.types import Plan
from campaignctl.providers.base import Provider
from campaignctl.store.lease import process_holder
from campaignctl.store.protocols import ApplyStore


def apply_now(
    config_dir: Path,
    store: ApplyStore,
    provider: Provider,
    clock: Clock,
    options: ApplyOptions | None = None,
    *,
    saved: Plan | None = None,
) -> tuple[Planned, ApplyReport]:
    """One apply. Returns what was done, as a plan (the sends listed are those the provider
    took), and the report: the provider's answers, and why sending stopped early if it did.

    A fresh plan is carried out streamed (see `campaignctl.app.streamed`): a batch of
    contacts or of due enrollments at a time, whatever the size of the groups. A saved plan
    is checked against a fresh one made whole in memory, then carried out as saved.
    """
    options = options or ApplyOptions()
    holder = options.holder or process_holder("apply")
    with Lease(store, holder, options.wait_seconds, options.lease_ttl) as lease:
        if saved is not None:
            return _apply_saved(config_dir, store, provider, clock, options, saved, lease)
        now = clock.now()
        loaded = config.load(config_dir, parse_contacts=lambda name, digest: False)
        desired = loaded.usable()
        snapshot = store.snapshot(desired, now, with_due=False)
        if resolve_in_flight(store, provider, snapshot, clock):
            snapshot = store.snapshot(desired, now, with_due=False)
        executor = Executor(
            store, provider, desired, snapshot, clock, options, heartbeat=lease.renew_if_due
        )
        planning = Planning(desired, snapshot, now, allow_empty=options.allow_empty)
        streamed = StreamedApply(store, planning, loaded.sources, executor, now)
        with collection_paused():
            plan = streamed.run()
        if streamed.interrupted and executor.report.stopped is None:
            executor.report.stopped = "asked to stop"
        return Planned(streamed.shown(), snapshot, plan), _finish(store, clock, executor, plan)


def _apply_saved(
    config_dir: Path,
    store: ApplyStore,
    provider: Provider,
    clock: Clock,
    options: ApplyOptions,
    saved: Plan,
    lease: Lease,
) -> tuple[Planned, ApplyReport]:
    with collection_paused():
        now = clock.now()
        desired = load_desired(config_dir, store)
        check_saved_plan_current(saved, now, desired.config_digest, store.serial)
        snapshot = store.snapshot(desired, now)
        if resolve_in_flight(store, provider, snapshot, clock):
            snapshot = store.snapshot(desired, now)
        fresh = make_core_plan(desired, snapshot, now, allow_empty=options.allow_empty)
    check_saved_plan_actions(saved, fresh)
    planned = Planned(desired, snapshot, fresh)
    executor = carry_out_plan(store, provider, clock, options, planned, lease.renew_if_due)
    done = executor.done
    plan = replace(
        Planning(desired, snapshot, now, allow_empty=True).result(done.listed, done.tallies()),
        group_digests=dict(fresh.group_digests),
    )
    return Planned(desired, snapshot, plan), _finish(store, clock, executor, plan)


def carry_out_plan(
    store: ApplyStore,
    provider: Provider,
    clock: Clock,
    options: ApplyOptions,
    planned: Planned,
    heartbeat: Callable[[], None] = lambda: None,
) -> Executor:
    """Carry out a plan made whole in memory, a batch of actions at a time, under a lease
    the caller holds; the executor returned tells what was done."""
    executor = Executor(
        store, provider, planned.desired, planned.snapshot, clock, options, heartbeat
    )
    actions = planned.plan.actions
    executor.total = sum(1 for a in actions if a.type == "send")
    executor.record_edits(planned.plan.relaunches, planned.plan.holds)
    with planned_objects_frozen():
        for start in range(0, len(actions), options.batch):
            executor.carry_out(actions[start : start + options.batch])
        for campaign, digest in planned.plan.group_digests.items():
            store.set_group_digest(campaign, digest)
            store.drop_stale_waiting(campaign, digest)
    return executor


def _finish(store: ApplyStore, clock: Clock, executor: Executor, plan: Plan) -> ApplyReport:
    """Record the run, and count what was done by kind."""
    summary = plan.summary()
    store.record_run(clock.now(), plan_digest(plan), summary)
    report = executor.report
    report.counts = {k: n for k, n in summary.items() if k != "credits"}
    return report
