"""What a plan and an apply share when they read the changed groups a batch at a time
(app.planstream, app.streamed): each group is looked through for errors before anything is
decided, and what they show holds only a sample of each group read."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

from campaignctl.config import ContactSource
from campaignctl.config.holds import held_text
from campaignctl.core.planner import Planning
from campaignctl.core.types import Contact, Desired
from campaignctl.errors import ConfigError


def hold_broken_groups(
    planning: Planning,
    sources: Mapping[str, ContactSource],
    check: Callable[[str, str], None] | None = None,
) -> None:
    """Look through the CSV of each group to sync for errors (without parsing a number):
    a bad row holds its campaign, found before anything is decided or changed. `check`
    (campaign, group): what looks through it, when not the whole file (the rows that
    changed since the last sync: app.streamed)."""
    for name in planning.to_sync():
        group = planning.group_of(name)
        assert group is not None
        try:
            if check is None:
                sources[group.name].check()
            else:
                check(name, group.name)
        except ConfigError as exc:
            errors = [issue for issue in exc.issues if issue.severity == "error"]
            if errors:
                planning.hold(name, held_text(errors))


def with_samples(
    desired: Desired, planning: Planning, samples: Mapping[str, list[Contact]]
) -> Desired:
    """The desired state to show: each group read holds the sample of the first contacts
    its campaign enrolled (the rest were never held)."""
    groups = dict(desired.groups)
    for campaign, sample in samples.items():
        group = planning.group_of(campaign)
        if group is not None:
            groups[group.name] = replace(group, contacts=tuple(sample))
    return replace(desired, groups=groups)
