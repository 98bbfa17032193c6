"""Checked resources -> the core's frozen values (Desired and the specs in it)."""

from __future__ import annotations

import re
from datetime import time, timedelta

from campaignctl.config.documents import Resource
from campaignctl.config.models import (
    CampaignDocument,
    SettingsDocument,
    TemplateDocument,
)
from campaignctl.config.paths import dotted
from campaignctl.config.yamlload import Document
from campaignctl.core.types import (
    CampaignSpec,
    QuietHours,
    Sender,
    Settings,
    Step,
    TemplateSpec,
)
from campaignctl.errors import Location

_INTERVAL = re.compile(r"([0-9]+)([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}


def locations(document: Document) -> dict[str, Location]:
    """Dotted field path ("spec.steps[1].body") -> where its value is written."""
    return {
        dotted(path): Location(document.file, *position)
        for path, position in document.positions.items()
        if path and path[0] in ("spec", "metadata")
    }


def template_spec(resource: Resource) -> TemplateSpec:
    model = resource.model
    assert isinstance(model, TemplateDocument)
    return TemplateSpec(
        name=model.metadata.name,
        status=model.spec.status,
        steps=tuple(
            Step(step.body, step.wait_days, _within(step.send_within)) for step in model.spec.steps
        ),
        source=resource.document.location,
        locations=locations(resource.document),
    )


def _within(text: str | None) -> timedelta | None:
    """A step's sendWithin ("7d", "36h"); None when it has none."""
    return None if text is None else parse_interval(text)


def _time(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def campaign_spec(resource: Resource) -> CampaignSpec:
    model = resource.model
    assert isinstance(model, CampaignDocument)
    spec = model.spec
    sender = spec.sender
    return CampaignSpec(
        name=model.metadata.name,
        template=spec.template,
        prospect_group=spec.prospect_group,
        status=spec.status,
        sender=Sender(
            from_number=sender.from_number,
            messaging_service_sid=sender.messaging_service_sid,
            messages_per_second=sender.messages_per_second,
            daily_limit=sender.daily_limit,
            concurrency=sender.concurrency,
        ),
        quiet_hours=QuietHours(_time(spec.quiet_hours.start), _time(spec.quiet_hours.end)),
        stop_on_reply=spec.stop_on_reply,
        source=resource.document.location,
        labels=dict(model.metadata.labels),
        description=model.metadata.description,
        locations=locations(resource.document),
        complete_when=spec.complete_when,
    )


def parse_interval(text: str) -> timedelta:
    """ "15m" -> 15 minutes; the models admit `<n>s`, `<n>m`, `<n>h` (and `<n>d` for
    sendWithin)."""
    match = _INTERVAL.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration such as 30s, 15m or 1h")
    return timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def settings(resource: Resource | None) -> Settings:
    if resource is None:
        return Settings()
    model = resource.model
    assert isinstance(model, SettingsDocument)
    spec = model.spec
    return Settings(
        credits_per_segment=spec.credits_per_segment,
        reconcile_interval=parse_interval(spec.reconcile_interval),
        state_quiet_hours=spec.state_quiet_hours,
        timezone_fallback=spec.timezone_fallback,
        brand=spec.brand,
        forward_url=spec.replies.forward_url,
        require_consent=spec.require_consent,
    )
