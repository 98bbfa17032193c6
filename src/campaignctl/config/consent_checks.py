"""With `Settings.requireConsent`, the contacts that will be skipped for want of a consent
record (`no_consent`), as `validate` warnings at their file and line."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from campaignctl.config.documents import Resource
from campaignctl.config.models import CampaignDocument
from campaignctl.core.consent import missing_consent
from campaignctl.core.types import GroupSpec
from campaignctl.errors import Issue, Location

SHOWN = 20  # contacts named one by one per group; the rest are counted in one line


def consent_warnings(
    groups: Mapping[str, GroupSpec], campaigns: Mapping[str, Resource]
) -> list[Issue]:
    """One warning per contact without consentSource or consentAt in a group some campaign
    uses (the first SHOWN of each group; then one line counting the others)."""
    used: set[str] = set()
    for resource in campaigns.values():
        model = resource.model
        assert isinstance(model, CampaignDocument)
        used.add(model.spec.prospect_group)
    issues: list[Issue] = []
    for name in sorted(used):
        group = groups.get(name)
        if group is not None and group.loaded:
            issues.extend(_group_warnings(group))
    return issues


def _group_warnings(group: GroupSpec) -> Iterator[Issue]:
    reported: set[Location] = set()
    more = 0
    for contact in group.contacts:
        lacking = missing_consent(contact.fields)
        if not lacking or contact.source in reported:
            continue
        reported.add(contact.source)
        if len(reported) > SHOWN:
            more += 1
            continue
        yield Issue(
            "warning",
            f"contact {contact.phone} has no {' and '.join(lacking)}: requireConsent is on, so "
            "it is skipped (no_consent)",
            contact.source,
            "no_consent",
        )
    if more:
        yield Issue(
            "warning",
            f"{more} more contacts of group {group.name!r} have no consent record: they are "
            "skipped (no_consent)",
            group.source,
            "no_consent",
        )
