"""What may change once a campaign has left draft, and what the change means. Pure.

A launched campaign runs with the record stored at its launch (core.types.LaunchRecord).
An edit of its file is compared with that record, field by field:

    status, metadata.labels, metadata.description      free
    quietHours (narrower), sender.messagesPerSecond     accepted when they can only make
    (lower), sender.dailyLimit (new or lower),          sending safer or slower
    stopOnReply (turned on)
    template                                            another published template whose
                                                        steps cover every live enrollment
    anything else                                       refused, naming the field, the old
                                                        and the new value (as YAML writes
                                                        them) and what is allowed instead

An accepted edit becomes the record (a Relaunch, stored by the apply), so the next edit is
compared with what the campaign runs with now, and the template it runs with stays immutable.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from campaignctl.core.expiry import within_text
from campaignctl.core.types import (
    CampaignSpec,
    CampaignState,
    LaunchRecord,
    Relaunch,
    Step,
    TemplateSpec,
    TemplateSwitch,
)
from campaignctl.errors import Location

ALLOWED = (
    "status, metadata.labels, metadata.description, narrower quietHours, a lower "
    "messagesPerSecond, a new or lower dailyLimit, stopOnReply: true, and template (a "
    "published copy whose steps cover the old ones)"
)


@dataclass(frozen=True)
class EditProblem:
    location: Location | None
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


def yaml_value(value: object) -> str:
    """A value as YAML writes it: null, true/false, numbers as written, quoted strings."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value), ensure_ascii=False)


def launch_record(spec: CampaignSpec, template: TemplateSpec) -> LaunchRecord:
    """What a campaign runs with; stored so later edits can be recognised and checked."""
    return LaunchRecord(
        template=spec.template,
        prospect_group=spec.prospect_group,
        steps=template.steps,
        sender=spec.sender,
        quiet_hours=spec.quiet_hours,
        stop_on_reply=spec.stop_on_reply,
    )


def field_location(locations: Mapping[str, Location], key: str, fallback: Location) -> Location:
    """Where a field is written; for a field taken out, where its parent is."""
    while key:
        if key in locations:
            return locations[key]
        key = key.rpartition(".")[0]
    return fallback


# A rule a field's change must follow: (old, new) -> accepted; and how to say what it allows.
Rule = tuple[Callable[[object, object], bool], str]

_FIXED: Rule = (lambda old, new: False, "cannot change once launched")
_LOWER: Rule = (
    lambda old, new: isinstance(old, int | float) and isinstance(new, int | float) and new <= old,
    "may only go down once launched",
)
_NEW_OR_LOWER: Rule = (
    lambda old, new: new is not None and (old is None or _LOWER[0](old, new)),
    "may only be added or lowered once launched",
)
_LATER: Rule = (lambda old, new: str(new) >= str(old), "may only move later once launched")
_EARLIER: Rule = (lambda old, new: str(new) <= str(old), "may only move earlier once launched")
_TURNED_ON: Rule = (lambda old, new: bool(new) or not old, "may only be turned on once launched")


def _fields(spec: CampaignSpec, launch: LaunchRecord) -> list[tuple[str, object, object, Rule]]:
    return [
        ("spec.prospectGroup", launch.prospect_group, spec.prospect_group, _FIXED),
        ("spec.sender.from", launch.sender.from_number, spec.sender.from_number, _FIXED),
        (
            "spec.sender.messagingServiceSid",
            launch.sender.messaging_service_sid,
            spec.sender.messaging_service_sid,
            _FIXED,
        ),
        (
            "spec.sender.messagesPerSecond",
            launch.sender.messages_per_second,
            spec.sender.messages_per_second,
            _LOWER,
        ),
        (
            "spec.sender.dailyLimit",
            launch.sender.daily_limit,
            spec.sender.daily_limit,
            _NEW_OR_LOWER,
        ),
        (
            "spec.quietHours.start",
            launch.quiet_hours.start.strftime("%H:%M"),
            spec.quiet_hours.start.strftime("%H:%M"),
            _LATER,
        ),
        (
            "spec.quietHours.end",
            launch.quiet_hours.end.strftime("%H:%M"),
            spec.quiet_hours.end.strftime("%H:%M"),
            _EARLIER,
        ),
        ("spec.stopOnReply", launch.stop_on_reply, spec.stop_on_reply, _TURNED_ON),
    ]


def campaign_changes(spec: CampaignSpec, launch: LaunchRecord) -> Iterator[str | EditProblem]:
    """Each field of the campaign that differs from its record: the accepted ones as
    `field: old -> new`, the refused ones as problems."""
    for path, old, new, (accepts, rule) in _fields(spec, launch):
        if old == new:
            continue
        shown = f"{path}: {yaml_value(old)} -> {yaml_value(new)}"
        if accepts(old, new):
            yield shown
            continue
        yield EditProblem(
            field_location(spec.locations, path, spec.source),
            f"campaign {spec.name!r}: {path} {rule} (was {yaml_value(old)}, now "
            f"{yaml_value(new)}); allowed: {ALLOWED}; to change it, create a new campaign",
        )


def switch_problem(
    spec: CampaignSpec, launch: LaunchRecord, template: TemplateSpec, live: int
) -> EditProblem | None:
    """Why the campaign may not move to `template` (None: it may): every step of the old
    sequence must still exist, and no gap may be shorter, or someone waiting would get a
    message sooner than the sequence promised."""
    old, new = launch.steps, template.steps
    where = field_location(spec.locations, "spec.template", spec.source)
    head = (
        f"campaign {spec.name!r}: spec.template cannot switch from "
        f"{yaml_value(launch.template)} to {yaml_value(template.name)}"
    )
    advice = (
        f"the new template needs at least {len(old)} steps, each waitDays no shorter than "
        f"the old one's; to change the sequence, create a new campaign"
    )
    if template.status != "published":
        return EditProblem(where, f"{head}: it is a draft (publish it: status: published)")
    if len(new) < len(old):
        waiting = f"; {live} live enrollments may still wait for them" if live else ""
        return EditProblem(
            where,
            f"{head}: it has {len(new)} step{'s' if len(new) != 1 else ''} and would drop step"
            f"{'s' if len(old) - len(new) > 1 else ''} "
            f"{', '.join(str(n) for n in range(len(new) + 1, len(old) + 1))}{waiting}; {advice}",
        )
    for index, (before, after) in enumerate(zip(old, new, strict=False)):
        if after.wait_days < before.wait_days:
            return EditProblem(
                where,
                f"{head}: step {index + 1} would wait {after.wait_days} days instead of "
                f"{before.wait_days}, a shorter gap than the enrollments were promised; {advice}",
            )
    return None


def template_edits(
    template: TemplateSpec, steps: tuple[Step, ...], user: str
) -> Iterator[EditProblem]:
    """The template a live campaign runs with is immutable: each change to it, refused."""
    advice = (
        f"to change the wording, `campaignctl template copy {template.name} NEW`, publish "
        f"the copy and point campaign {user!r} at it"
    )
    head = f"template {template.name!r} is used by campaign {user!r}, which has left draft"
    if len(template.steps) != len(steps):
        yield EditProblem(
            field_location(template.locations, "spec.steps", template.source),
            f"{head}: spec.steps cannot change once launched (was {len(steps)} steps, now "
            f"{len(template.steps)}); {advice}",
        )
        return
    for index, (old, new) in enumerate(zip(steps, template.steps, strict=True)):
        for name, before, after in (
            ("body", old.body, new.body),
            ("waitDays", old.wait_days, new.wait_days),
            ("sendWithin", within_text(old.send_within), within_text(new.send_within)),
        ):
            if before != after:
                path = f"spec.steps[{index}].{name}"
                yield EditProblem(
                    field_location(template.locations, path, template.source),
                    f"{head}: {path} cannot change once launched (was {yaml_value(before)}, "
                    f"now {yaml_value(after)}); {advice}",
                )


def review_edit(
    spec: CampaignSpec, state: CampaignState, templates: Mapping[str, TemplateSpec]
) -> tuple[list[EditProblem], Relaunch | None]:
    """A launched campaign's file against its record: the problems, or (when there are none
    and something changed) the record it runs with from now on."""
    launch = state.launch
    assert launch is not None
    problems: list[EditProblem] = []
    changes: list[str] = []
    for change in campaign_changes(spec, launch):
        if isinstance(change, EditProblem):
            problems.append(change)
        elif state.status == "completed":  # final: not even a safer change is taken
            problems.append(
                EditProblem(
                    spec.source,
                    f"campaign {spec.name!r} is completed: no change to it is accepted "
                    f"({change}); create a new campaign",
                )
            )
        else:
            changes.append(change)
    template = templates.get(spec.template)
    switch = None
    if spec.template == launch.template:
        if template is not None:
            problems.extend(template_edits(template, launch.steps, spec.name))
    elif template is not None:
        problem = switch_problem(spec, launch, template, state.live_enrollments)
        if problem is not None:
            problems.append(problem)
        else:
            switch = TemplateSwitch(
                launch.template, template.name, launch.steps, template.steps, state.live_enrollments
            )
            changes.insert(
                0, f"spec.template: {yaml_value(launch.template)} -> {yaml_value(template.name)}"
            )
    if problems or not changes or template is None:
        return problems, None
    record = launch_record(spec, template)
    return [], Relaunch(spec.name, record, launch, tuple(changes), switch)
