"""Campaign lifecycle: desired vs observed status, the edit lock on launched campaigns, and the
guard against an empty config. Pure."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from campaignctl.core.actions import StatusChange
from campaignctl.core.types import (
    Action,
    CampaignSpec,
    CampaignState,
    CampaignStatus,
    Desired,
    LaunchRecord,
    Snapshot,
    Step,
    TemplateSpec,
)
from campaignctl.errors import Location

LIVE_STATUSES: frozenset[str] = frozenset({"active", "paused"})
CREDIT_PAUSE = "insufficient_credits"
# the reason recorded when the controller completes a campaign (`completeWhen: allEnded`)
AUTO_COMPLETED = "completeWhen: allEnded"
# the reason an earlier version recorded when it completed every campaign whose enrollments
# had all ended: such a campaign whose file still says active is active again
OLD_RULE_COMPLETED = "all enrollments ended"
CONTROLLER_COMPLETED = frozenset({AUTO_COMPLETED, OLD_RULE_COMPLETED})
IDLE = "idle"  # the observed reason of an active campaign whose enrollments have all ended


@dataclass(frozen=True)
class EditProblem:
    location: Location | None
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


def launch_record(spec: CampaignSpec, template: TemplateSpec) -> LaunchRecord:
    """What a campaign launches with; stored so later edits can be recognised and refused."""
    return LaunchRecord(
        template=spec.template,
        prospect_group=spec.prospect_group,
        steps=template.steps,
        sender=spec.sender,
        quiet_hours=spec.quiet_hours,
        stop_on_reply=spec.stop_on_reply,
    )


def _where(locations: Mapping[str, Location], key: str, fallback: Location) -> Location:
    return locations.get(key) or fallback


def _show(value: object) -> str:
    if isinstance(value, str):
        return repr(value)
    return str(value)


def _campaign_edits(spec: CampaignSpec, launch: LaunchRecord) -> Iterator[EditProblem]:
    fields: list[tuple[str, object, object]] = [
        ("spec.template", launch.template, spec.template),
        ("spec.prospectGroup", launch.prospect_group, spec.prospect_group),
        ("spec.sender.from", launch.sender.from_number, spec.sender.from_number),
        (
            "spec.sender.messagingServiceSid",
            launch.sender.messaging_service_sid,
            spec.sender.messaging_service_sid,
        ),
        (
            "spec.sender.messagesPerSecond",
            launch.sender.messages_per_second,
            spec.sender.messages_per_second,
        ),
        ("spec.sender.dailyLimit", launch.sender.daily_limit, spec.sender.daily_limit),
        (
            "spec.quietHours.start",
            launch.quiet_hours.start.strftime("%H:%M"),
            spec.quiet_hours.start.strftime("%H:%M"),
        ),
        (
            "spec.quietHours.end",
            launch.quiet_hours.end.strftime("%H:%M"),
            spec.quiet_hours.end.strftime("%H:%M"),
        ),
        ("spec.stopOnReply", launch.stop_on_reply, spec.stop_on_reply),
    ]
    for path, old, new in fields:
        if old != new:
            yield EditProblem(
                _where(spec.locations, path, spec.source),
                f"campaign {spec.name!r} has left draft: {path} cannot change from "
                f"{_show(old)} to {_show(new)}; only status, metadata.labels and "
                "metadata.description may change. Create a new campaign instead.",
            )


def _template_edits(
    template: TemplateSpec, steps: tuple[Step, ...], user: str
) -> Iterator[EditProblem]:
    if len(template.steps) != len(steps):
        yield EditProblem(
            _where(template.locations, "spec.steps", template.source),
            f"template {template.name!r} is used by campaign {user!r}, which has left draft: "
            f"spec.steps cannot change from {len(steps)} to {len(template.steps)} steps. "
            f"Use `campaignctl template copy {template.name} NEW` and a new campaign.",
        )
        return
    for index, (old, new) in enumerate(zip(steps, template.steps, strict=True)):
        for name, before, after in (
            ("body", old.body, new.body),
            ("waitDays", old.wait_days, new.wait_days),
        ):
            if before != after:
                path = f"spec.steps[{index}].{name}"
                yield EditProblem(
                    _where(template.locations, path, template.source),
                    f"template {template.name!r} is used by campaign {user!r}, which has left "
                    f"draft: {path} cannot change from {_show(before)} to {_show(after)}. "
                    f"Use `campaignctl template copy {template.name} NEW` and a new campaign.",
                )


def edit_problems(desired: Desired, snapshot: Snapshot) -> list[EditProblem]:
    """Every change to a launched campaign (or the template it launched with) that is refused."""
    problems: list[EditProblem] = []
    for name, spec in sorted(desired.campaigns.items()):
        state = snapshot.campaigns.get(name)
        if state is None or state.status == "draft" or state.launch is None:
            continue
        if spec.status == "draft":
            problems.append(
                EditProblem(
                    _where(spec.locations, "spec.status", spec.source),
                    f"campaign {name!r} is {state.status}: it cannot go back to draft. "
                    "Set status active, paused or completed, or create a new campaign.",
                )
            )
        elif (
            state.status == "completed"
            and spec.status != "completed"
            and not reactivated(spec, state)  # else live again: checked as such
        ):
            if state.reason not in CONTROLLER_COMPLETED:
                problems.append(
                    EditProblem(
                        _where(spec.locations, "spec.status", spec.source),
                        f"campaign {name!r} was completed: that is final and no change to it "
                        f"is accepted (status {spec.status!r}). Create a new campaign instead.",
                    )
                )
            continue  # completed by the controller: reported as a note, not an error
        problems.extend(_campaign_edits(spec, state.launch))
        template = desired.templates.get(state.launch.template)
        if template is not None and spec.template == state.launch.template:
            problems.extend(_template_edits(template, state.launch.steps, name))
    return problems


def empty_config_problem(desired: Desired, snapshot: Snapshot) -> str | None:
    """An empty checkout must never look like "stop everything"."""
    if desired.campaigns:
        return None
    live = sorted(n for n, c in snapshot.campaigns.items() if c.status in LIVE_STATUSES)
    if not live:
        return None
    return (
        f"the configuration has no campaigns but the state has {len(live)} live "
        f"({', '.join(live[:5])}{', ...' if len(live) > 5 else ''}); refusing to plan. "
        "Check --dir, or pass --allow-empty if every campaign was really deleted."
    )


@dataclass(frozen=True)
class Transition:
    """The status a campaign has for the rest of this plan, and the action that gets it there."""

    status: CampaignStatus
    action: Action | None
    credit_paused: bool = False  # paused by the controller for credits; may resume in this plan


def reactivated(spec: CampaignSpec, state: CampaignState) -> bool:
    """Whether a campaign completed by the earlier rule (every enrollment ended) is live
    again: its file still says active (or paused) and does not ask for `completeWhen`."""
    return (
        state.status == "completed"
        and state.reason == OLD_RULE_COMPLETED
        and spec.status in LIVE_STATUSES
        and spec.complete_when is None
    )


def transition(spec: CampaignSpec, state: CampaignState | None) -> Transition:
    observed: CampaignStatus = state.status if state else "draft"
    if state is not None and reactivated(spec, state):
        detail = "completed only because its enrollments had ended: live again"
        return Transition(spec.status, StatusChange(spec.name, observed, spec.status, detail))
    if observed == "completed":
        return Transition("completed", None)
    want = spec.status
    if (
        state is not None
        and observed == "paused"
        and state.reason == CREDIT_PAUSE
        and want == "active"
    ):
        return Transition("paused", None, credit_paused=True)
    if want == observed or (want == "draft" and observed != "draft"):
        return Transition(observed, None)
    action = StatusChange(
        spec.name, observed, want, detail="launch" if observed == "draft" else None
    )
    return Transition(want, action)


def observed_reason(status: str, reason: str | None, launched: bool, live: int) -> str | None:
    """The reason a campaign is observed with: `idle` for an active one whose enrollments
    have all ended (it enrolls the rows added to its group later)."""
    if status == "active" and reason is None and launched and live == 0:
        return IDLE
    return reason
