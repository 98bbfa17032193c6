"""Planning as a use case: the files as they are now and a snapshot of the state, given to the
pure planner; and the checks that a saved plan is still the plan of this moment."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from campaignctl import config
from campaignctl.core.instants import format_instant
from campaignctl.core.planjson import action_key
from campaignctl.core.planner import plan as make_core_plan
from campaignctl.core.types import Desired, Plan, Snapshot
from campaignctl.errors import PlanError
from campaignctl.store.protocols import SnapshotReader

# why a saved plan is refused when what is due now is not what it says
WINDOW_MOVED = (
    "the time window changed since the plan was made: what is due now differs "
    "(quiet hours, pace or 30-day gaps moved on); plan again"
)


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


def load_desired(config_dir: Path, store: SnapshotReader | None) -> Desired:
    """The files as they are now; groups already synced with the same digest are not parsed."""
    synced = store.synced_groups() if store is not None else {}
    result = config.load(config_dir, parse_contacts=lambda name, digest: synced.get(name) != digest)
    desired = result.usable()
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
    ).usable()


def make_plan(
    config_dir: Path, store: SnapshotReader, now: datetime, *, allow_empty: bool = False
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
        raise PlanError(WINDOW_MOVED)
