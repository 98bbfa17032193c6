"""Why the next message of each live enrollment of a number has not gone out, decided now.

A wait is not history: the state keeps no defer, only what was done. `explain` asks here,
at the time of asking, what the next apply would do with each live enrollment of one
number: nothing yet (its next step is due later), or, once due, the pure planner's decision
(send, defer with its rule and until when, skip). Contacts are not read: the planner only
needs the enrollment, which the state holds.

    for wait in next_step(Path("campaigns.d"), store, "+14155550100", now):
        print(wait.campaign, wait.what, wait.reason, wait.until)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from campaignctl import config
from campaignctl.core.actions import until_of
from campaignctl.core.instants import format_instant
from campaignctl.core.planner import Planning
from campaignctl.core.types import Action, Desired, Enrollment
from campaignctl.errors import ConfigError, PlanError
from campaignctl.store import AttemptRecord
from campaignctl.store.protocols import WaitingReader

# scheduled: the next step is due later; in_flight: the last attempt's outcome is not known
# yet; send: due, the next apply sends it; defer: due, but a rule holds it (reason, until);
# skip: due, but a rule refuses it (the next apply ends the enrollment); idle: due, but its
# campaign sends nothing (not configured, draft, completed); unknown: due, but the
# configuration or the planner cannot tell; waits: not enrolled yet, the number is held by
# another campaign (or free now: the next apply enrolls it)
WaitingKind = Literal["scheduled", "in_flight", "send", "defer", "skip", "idle", "unknown", "waits"]


@dataclass(frozen=True)
class Waiting:
    """What happens now to the next step of one live enrollment."""

    campaign: str
    step: int  # the next step, counting from 1
    what: WaitingKind
    reason: str | None = None  # the rule of a defer or skip, e.g. "quiet_hours"
    until: datetime | None = None  # scheduled: when it is due; defer: until when it waits
    detail: str | None = None  # in words: why, or what is known
    # `until` as the wall-clock time (HH:MM) in each of the enrollment's time zones
    local: Mapping[str, str] = field(default_factory=dict)
    body: str | None = None  # send: the message as it would go out
    segments: int | None = None
    credits: int | None = None
    note: str | None = None  # something that may change the answer at the next apply


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _local_times(at: datetime, zones: Sequence[str]) -> dict[str, str]:
    local: dict[str, str] = {}
    for zone in zones:
        try:
            local[zone] = at.astimezone(ZoneInfo(zone)).strftime("%H:%M")
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return local


def _scheduled(e: Enrollment) -> Waiting:
    detail = None
    if e.last_sent_at is not None and e.steps_sent:
        gap = e.next_due_at - e.last_sent_at
        if gap >= timedelta(0) and gap % timedelta(days=1) == timedelta(0):
            days = gap // timedelta(days=1)
            detail = f"{days} day{'s' if days != 1 else ''} after step {e.steps_sent} was sent"
    return Waiting(e.campaign, e.steps_sent + 1, "scheduled", until=e.next_due_at, detail=detail)


def _in_flight(e: Enrollment, attempt: AttemptRecord) -> Waiting:
    return Waiting(
        e.campaign,
        attempt.step,
        "in_flight",
        detail=f"attempt {attempt.id} is {attempt.status} since "
        f"{format_instant(attempt.created_at)}",
    )


def _unknown(enrollments: Sequence[Enrollment], why: str) -> dict[int, Waiting]:
    return {
        index: Waiting(e.campaign, e.steps_sent + 1, "unknown", detail=why)
        for index, e in enumerate(enrollments)
    }


def _group_note(desired: Desired, synced: Mapping[str, str], campaign: str) -> str | None:
    """When the campaign's group changed since its last sync, the next apply syncs it first."""
    spec = desired.campaigns.get(campaign)
    group = desired.groups.get(spec.prospect_group) if spec is not None else None
    if group is None or synced.get(campaign) == group.digest:
        return None
    return (
        f"group {group.name!r} changed since the last apply, which syncs it first: "
        "a number no longer in it is ended instead"
    )


def _idle(planning: Planning, e: Enrollment) -> Waiting:
    step = e.steps_sent + 1
    why = planning.why_idle(e)
    return Waiting(e.campaign, step, "idle", detail=why)


def _decided(e: Enrollment, action: Action, note: str | None) -> Waiting:
    step = action.step if action.step is not None else e.steps_sent + 1
    if action.type == "send":
        return Waiting(
            e.campaign,
            step,
            "send",
            detail="goes out at the next apply unless the sender's pace for that tick is "
            "used up (rate_limit)",
            body=action.body,
            segments=action.segments,
            credits=action.credits,
            note=note,
        )
    until = until_of(action)
    local = _local_times(until, e.zones) if until is not None else {}
    kind: WaitingKind = "skip" if action.type == "skip" else "defer"
    return Waiting(
        e.campaign, step, kind, action.reason, until, action.detail, local=local, note=note
    )


def _plan_due(
    config_dir: Path, store: WaitingReader, phone: str, due: Sequence[Enrollment], now: datetime
) -> dict[int, Waiting]:
    """The planner's decision about each due enrollment (by its index in `due`), considered
    in the order an apply considers them: oldest due first."""
    try:
        desired = config.load(config_dir, parse_contacts=lambda name, digest: False).require()
    except ConfigError as exc:
        return _unknown(
            due, f"cannot tell: the configuration could not be read: {_first_line(exc)}"
        )
    snapshot = store.snapshot(desired, now, with_due=False)
    snapshot = replace(snapshot, last_sent=store.last_sent_of({phone}))
    try:
        planning = Planning(desired, snapshot, now)
    except PlanError as exc:
        return _unknown(due, f"cannot tell: the planner refuses: {_first_line(exc)}")
    synced = store.group_digests()
    found: dict[int, Waiting] = {}
    order = sorted(range(len(due)), key=lambda index: (due[index].next_due_at, index))
    for index in order:
        e = due[index]
        mine = [
            a
            for a in planning.due([(e, False)]).actions
            if a.phone == phone and a.campaign == e.campaign and a.type in ("send", "defer", "skip")
        ]
        if not mine:
            found[index] = _idle(planning, e)
            continue
        found[index] = _decided(e, mine[-1], _group_note(desired, synced, e.campaign))
    return found


def _waits(store: WaitingReader, phone: str, holder: str | None) -> list[Waiting]:
    """The campaigns waiting for the number: the one holding it must end first."""
    found: list[Waiting] = []
    for campaign, since, step in store.waits_of(phone):
        if holder is not None:
            detail = (
                f"waits for campaign {holder!r} to end (skipped already_enrolled since "
                f"{format_instant(since)}); enrolled the moment it is free"
            )
        else:
            detail = "the number is free: the next apply enrolls it, unless a rule refuses"
        found.append(Waiting(campaign, step, "waits", "already_enrolled", detail=detail))
    return found


def next_step(config_dir: Path, store: WaitingReader, phone: str, now: datetime) -> list[Waiting]:
    """For each live enrollment of `phone` (any campaign, in enrollment order), what happens
    to its next step at `now`; then each campaign waiting for the number. Never raises for
    a configuration that cannot be read or a plan that is refused: those entries say why
    they cannot tell."""
    live = store.live_enrollments_of(phone)
    waits = _waits(store, phone, live[0].campaign if live else None)
    if not live:
        return waits
    flying = {a.campaign: a for a in store.in_flight() if a.phone == phone}
    found: dict[int, Waiting] = {}
    due: list[Enrollment] = []
    due_at: list[int] = []  # the index in `live` of each due enrollment
    for index, e in enumerate(live):
        attempt = flying.get(e.campaign)
        if attempt is not None:
            found[index] = _in_flight(e, attempt)
        elif e.next_due_at > now:
            found[index] = _scheduled(e)
        else:
            due.append(e)
            due_at.append(index)
    if due:
        for position, wait in _plan_due(config_dir, store, phone, due, now).items():
            found[due_at[position]] = wait
    return [*(found[index] for index in range(len(live))), *waits]
