"""The content warnings of `validate` (core/content.py says what carriers check), placed at
the file and line of the body or setting concerned."""

from __future__ import annotations

from collections.abc import Mapping

from campaignctl.config.documents import Resource
from campaignctl.config.models import CampaignDocument, SettingsDocument, TemplateDocument
from campaignctl.core import content
from campaignctl.errors import Issue


def check_content(
    templates: Mapping[str, Resource],
    campaigns: Mapping[str, Resource],
    settings: Resource | None,
) -> list[Issue]:
    """Shorteners and SHAFT terms in every step; the brand in the first step of each template
    a campaign uses; the HELP answer of Settings."""
    brand: str | None = None
    issues: list[Issue] = []
    if settings is not None:
        model = settings.model
        assert isinstance(model, SettingsDocument)
        brand = model.spec.brand
        if model.spec.help_text is not None:
            where = settings.document.where(("spec", "helpText"))
            issues += [
                Issue("warning", f.message, where, f.code)
                for f in content.help_text_findings(model.spec.help_text, brand)
            ]
    used: dict[str, list[str]] = {}
    for name, resource in campaigns.items():
        campaign = resource.model
        assert isinstance(campaign, CampaignDocument)
        used.setdefault(campaign.spec.template, []).append(name)
    for name, resource in templates.items():
        template = resource.model
        assert isinstance(template, TemplateDocument)
        for index, step in enumerate(template.spec.steps):
            where = resource.document.where(("spec", "steps", index, "body"))
            for finding in content.body_findings(step.body):
                message = f"step {index + 1} {finding.message}"
                issues.append(Issue("warning", message, where, finding.code))
        branded = content.brand_finding(template.spec.steps[0].body, brand)
        if branded is not None and name in used:
            where = resource.document.where(("spec", "steps", 0, "body"))
            users = ", ".join(sorted(used[name]))
            message = f"{branded.message} (used by {users})"
            issues.append(Issue("warning", message, where, branded.code))
    return issues
