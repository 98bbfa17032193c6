"""plan(desired, snapshot, now) -> Plan: the whole decision of campaignctl, as a pure function.

No file, no database, no clock: everything it knows comes in as values, so every rule can be
tested by the thousand and `plan` shows exactly what `apply` does.
"""

from __future__ import annotations

from datetime import datetime

from campaignctl.core.enrollment import Owners, sync_group
from campaignctl.core.lifecycle import (
    edit_problems,
    empty_config_problem,
    transition,
)
from campaignctl.core.sending import Budget, CampaignRun, SendPlanner
from campaignctl.core.types import Action, Desired, Enrollment, Plan, Snapshot
from campaignctl.errors import PlanError

ORDER = {
    "campaign_status": 0,
    "resume": 1,
    "enroll": 2,
    "end": 3,
    "skip": 4,
    "send": 5,
    "defer": 6,
    "pause": 7,
    "complete": 8,
}


def _runs(
    desired: Desired, snapshot: Snapshot
) -> tuple[dict[str, CampaignRun], list[Action], list[str]]:
    runs: dict[str, CampaignRun] = {}
    status_actions: list[Action] = []
    notes: list[str] = []
    for name, spec in sorted(desired.campaigns.items()):
        state = snapshot.campaigns.get(name)
        step = transition(spec, state)
        if step.action is not None:
            status_actions.append(step.action)
        if state is not None and state.status == "completed" and spec.status != "completed":
            notes.append(
                f"campaign {name!r} is completed: every enrollment ended, so it sends nothing "
                f"more and enrolls no one; its file still says {spec.status!r}"
            )
        template = desired.templates.get(spec.template)
        launch = state.launch if state is not None else None
        group = desired.groups.get(spec.prospect_group)
        members = None
        if group is not None and group.loaded:
            members = frozenset(c.phone for c in group.contacts)
        runs[name] = CampaignRun(
            name=name,
            status=step.status,
            steps=launch.steps if launch else (template.steps if template else ()),
            sender=launch.sender if launch else spec.sender,
            quiet_hours=launch.quiet_hours if launch else spec.quiet_hours,
            credit_paused=step.credit_paused,
            members=members,
        )
    for name, state in sorted(snapshot.campaigns.items()):
        if name not in desired.campaigns and state.status in ("active", "paused"):
            notes.append(
                f"campaign {name!r} is not in the configuration any more: it sends nothing; "
                f"its {state.live_enrollments} live enrollments and its history are kept"
            )
    return runs, status_actions, notes


def plan(desired: Desired, snapshot: Snapshot, now: datetime, *, allow_empty: bool = False) -> Plan:
    """Everything an apply would do at `now`, and why the rest waits."""
    refusal = empty_config_problem(desired, snapshot)
    if refusal is not None and not allow_empty:
        raise PlanError(refusal)
    problems = edit_problems(desired, snapshot)
    if problems:
        raise PlanError("\n".join(str(p) for p in problems))

    runs, actions, notes = _runs(desired, snapshot)
    owners = Owners(dict(snapshot.live_owner))
    new: list[Enrollment] = []
    group_digests: dict[str, str] = {}
    enrolling: set[str] = set()
    for name, run in runs.items():
        spec = desired.campaigns[name]
        group = desired.groups.get(spec.prospect_group)
        state = snapshot.campaigns.get(name)
        if group is None or not group.loaded:
            continue
        if run.status != "active" and not run.credit_paused:
            continue
        if state is not None and state.group_digest == group.digest:
            continue
        result = sync_group(name, group, run.steps, snapshot, desired.dnc, owners, now)
        actions.extend(result.actions)
        new.extend(result.new)
        if result.new:
            enrolling.add(name)
        group_digests[name] = group.digest

    sends = SendPlanner(
        snapshot=snapshot,
        settings=desired.settings,
        dnc=desired.dnc,
        now=now,
        budget=Budget(
            balance=snapshot.balance,
            interval=desired.settings.reconcile_interval,
            sent_today=snapshot.sent_today,
        ),
    )
    for enrollment in [*snapshot.due, *new]:
        target = runs.get(enrollment.campaign)
        if target is None or target.status in ("draft", "completed"):
            continue
        sends.consider(enrollment, target)
    waiting = {e.campaign for e in snapshot.due}
    for name, run in runs.items():
        if run.credit_paused and name not in (sends.resumed | sends.paused | waiting):
            sends.actions.append(
                Action(
                    type="resume",
                    campaign=name,
                    reason="insufficient_credits",
                    detail="nothing is due that the balance cannot cover",
                )
            )
    actions.extend(sends.actions)
    actions.extend(_completions(desired, snapshot, runs, enrolling, group_digests))
    actions.sort(key=lambda a: ORDER[a.type])
    return Plan(
        now=now,
        expires_at=now + desired.settings.reconcile_interval,
        config_digest=desired.config_digest,
        state_serial=snapshot.serial,
        actions=tuple(actions),
        group_digests=group_digests,
        notes=tuple(notes),
    )


def _completions(
    desired: Desired,
    snapshot: Snapshot,
    runs: dict[str, CampaignRun],
    enrolling: set[str],
    synced_now: dict[str, str],
) -> list[Action]:
    """A running campaign whose every enrollment has ended is completed by the controller."""
    done: list[Action] = []
    for name, run in runs.items():
        state = snapshot.campaigns.get(name)
        if state is None or state.status != "active" or run.status != "active":
            continue
        group = desired.groups.get(desired.campaigns[name].prospect_group)
        synced = group is not None and state.group_digest == group.digest
        if not synced or name in enrolling or name in synced_now or state.live_enrollments:
            continue
        done.append(Action(type="complete", campaign=name, detail="every enrollment has ended"))
    return done
