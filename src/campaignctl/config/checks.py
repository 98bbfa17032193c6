"""The checks that span documents and files (SPEC section 1), and the template warnings.

Errors: names unique per kind, at most one Settings, every reference resolves, the template of
a campaign that has left draft is published, a prospect group backs at most one campaign, a
placeholder without default names a field its group has. Warnings: a step over 3 segments, a
character forcing UCS-2 (named), a first step without opt-out wording, a draft template behind
a draft campaign, and each contact whose value for a needed placeholder is empty.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Mapping

from campaignctl.config.documents import Resource
from campaignctl.config.models import CampaignDocument, TemplateDocument
from campaignctl.core.phones import InvalidPhone, normalize
from campaignctl.core.segments import count_segments
from campaignctl.core.templates import Placeholder, TemplateProblem, is_blank, placeholders
from campaignctl.core.types import GroupSpec
from campaignctl.errors import Issue, Location

MAX_SEGMENTS = 3
_OPT_OUT = re.compile(r"\bSTOP\b|\b(?:opt[- ]?out|unsubscribe)\b", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_DEFAULT_ARG = re.compile(r"default\(\s*(['\"])(.*?)\1")


def unique(resources: Iterable[Resource]) -> tuple[dict[str, Resource], list[Issue]]:
    """The first resource of each name (files in sorted order); an error for every other."""
    first: dict[str, Resource] = {}
    issues: list[Issue] = []
    for resource in resources:
        earlier = first.get(resource.name)
        if earlier is None:
            first[resource.name] = resource
            continue
        where = resource.document.where(("metadata", "name"))
        message = (
            f"duplicate {resource.kind} name {resource.name!r}: first defined at "
            f"{earlier.document.where(('metadata', 'name'))}"
        )
        issues.append(Issue("error", message, where, "duplicate_name"))
    return first, issues


def single_settings(resources: list[Resource]) -> list[Issue]:
    if not resources:
        return []
    first = resources[0].document.location
    return [
        Issue(
            "error",
            f"only one Settings resource is allowed; the first is at {first}",
            extra.document.location,
            "duplicate_name",
        )
        for extra in resources[1:]
    ]


# --------------------------------------------------------------------------- campaigns


def check_campaigns(
    campaigns: Mapping[str, Resource],
    templates: Mapping[str, Resource],
    groups: Mapping[str, GroupSpec],
    unreadable: Mapping[str, set[str]],
    unknown_fields: set[str] | frozenset[str] = frozenset(),
    with_errors: set[str] | frozenset[str] = frozenset(),
) -> dict[str, list[Issue]]:
    """References, published templates, one campaign per group, placeholder fields, groups
    without contacts: the issues of each campaign, by name (an error holds that campaign).

    `unreadable`: names per kind of documents that failed their checks (references to them
    are not reported again); `unknown_fields`: groups whose CSV could not be read;
    `with_errors`: groups with an error reported (not said to be empty as well).
    """
    found: dict[str, list[Issue]] = {}
    backing: dict[str, Resource] = {}
    for name, resource in sorted(campaigns.items(), key=lambda item: _order(item[1])):
        issues = found.setdefault(name, [])
        model = resource.model
        assert isinstance(model, CampaignDocument)
        document = resource.document
        spec = model.spec
        at_template = document.where(("spec", "template"))
        at_group = document.where(("spec", "prospectGroup"))
        if spec.sender.from_number is not None:
            at_from = document.where(("spec", "sender", "from"))
            issues.extend(_sender_number(spec.sender.from_number, at_from))
        template = templates.get(spec.template)
        if template is None and spec.template not in unreadable.get("Template", set()):
            issues.append(_unknown("template", spec.template, templates, at_template))
        elif template is not None:
            issues.extend(_published(name, spec.status, template, at_template))
        group = groups.get(spec.prospect_group)
        if group is None and spec.prospect_group not in unreadable.get("ProspectGroup", set()):
            issues.append(_unknown("prospect group", spec.prospect_group, groups, at_group))
        other = backing.get(spec.prospect_group)
        if other is not None:
            message = (
                f"prospect group {spec.prospect_group!r} already backs campaign {other.name!r} "
                f"({other.document.where(('spec', 'prospectGroup'))}): a group backs at most "
                "one campaign"
            )
            issues.append(Issue("error", message, at_group, "group_shared"))
        else:
            backing[spec.prospect_group] = resource
        if template is not None and group is not None and group.name not in unknown_fields:
            issues.extend(_fields(name, template, group))
        if group is not None and group.loaded and group.name not in with_errors:
            issues.extend(_empty_group(name, spec.complete_when, group, at_group))
    return found


def _sender_number(number: str, where: Location) -> list[Issue]:
    """A sender's `from` must be a number that exists: the provider refuses any other."""
    try:
        normalize(number)
    except InvalidPhone as exc:
        message = f"sender 'from' {number!r} is not a valid phone number ({exc.reason})"
        return [Issue("error", message, where, "invalid_sender")]
    return []


def _empty_group(
    campaign: str, complete_when: str | None, group: GroupSpec, where: Location
) -> list[Issue]:
    """A campaign whose group lists no contact sends nothing until a row is added."""
    if group.contacts or group.invalid:
        return []
    then = (
        "completes at the reconcile after its launch (completeWhen: allEnded)"
        if complete_when == "allEnded"
        else "stays active, idle, and enrolls the rows added to the group later"
    )
    message = f"prospect group {group.name!r} of campaign {campaign!r} has no contacts: it {then}"
    return [Issue("warning", message, where, "empty_group")]


def _order(resource: Resource) -> tuple[str, int]:
    return resource.document.file, resource.document.number


def _unknown(what: str, name: str, known: Mapping[str, object], where: Location) -> Issue:
    message = f"unknown {what} {name!r}"
    close = difflib.get_close_matches(name, list(known), n=1)
    if close:
        message += f" (did you mean {close[0]!r}?)"
    elif known:
        message += f" (defined: {', '.join(sorted(known)[:10])})"
    return Issue("error", message, where, "unknown_reference")


def _published(campaign: str, status: str, template: Resource, where: Location) -> list[Issue]:
    model = template.model
    assert isinstance(model, TemplateDocument)
    if model.spec.status == "published":
        return []
    if status == "draft":
        message = (
            f"template {template.name!r} is a draft: publish it (status: published) before "
            f"campaign {campaign!r} leaves draft"
        )
        return [Issue("warning", message, where, "template_not_published")]
    message = (
        f"template {template.name!r} is a draft; only a published template can back a "
        f"campaign that is {status} (set the template's status: published)"
    )
    return [Issue("error", message, where, "template_not_published")]


def _step_placeholders(template: Resource) -> list[tuple[int, tuple[Placeholder, ...]]]:
    model = template.model
    assert isinstance(model, TemplateDocument)
    found: list[tuple[int, tuple[Placeholder, ...]]] = []
    for index, step in enumerate(model.spec.steps):
        try:
            found.append((index, placeholders(step.body)))
        except TemplateProblem:
            continue  # reported once by check_templates
    return found


def _fields(campaign: str, template: Resource, group: GroupSpec) -> list[Issue]:
    issues: list[Issue] = []
    needed: dict[str, Location] = {}
    for index, found in _step_placeholders(template):
        where = template.document.where(("spec", "steps", index, "body"))
        for placeholder in found:
            if placeholder.has_default:
                continue
            if placeholder.name not in group.field_names:
                message = (
                    f"step {index + 1} uses {{{{ {placeholder.name} }}}}, but prospect group "
                    f"{group.name!r} (campaign {campaign!r}) has no field {placeholder.name!r}: "
                    f"add the field, or a fallback: {{{{ {placeholder.name} | default('...') }}}}"
                )
                close = difflib.get_close_matches(placeholder.name, sorted(group.field_names), 1)
                if close:
                    message += f" (did you mean {{{{ {close[0]} }}}}?)"
                issues.append(Issue("error", message, where, "placeholder_field"))
            else:
                needed.setdefault(placeholder.name, where)
    if needed and group.loaded:
        issues.extend(_empty_fields(campaign, template.name, group, tuple(needed)))
    return issues


def _empty_fields(
    campaign: str, template: str, group: GroupSpec, needed: tuple[str, ...]
) -> Iterable[Issue]:
    reported: set[Location] = set()
    for contact in group.contacts:
        empty = [name for name in needed if is_blank(contact.fields.get(name))]
        if not empty or contact.source in reported:
            continue
        reported.add(contact.source)
        names = ", ".join(repr(name) for name in empty)
        message = (
            f"contact {contact.phone} has no value for {names}, needed by template "
            f"{template!r} of campaign {campaign!r}: it is skipped (missing_field)"
        )
        yield Issue("warning", message, contact.source, "missing_field")


# --------------------------------------------------------------------------- templates


def check_templates(templates: Mapping[str, Resource]) -> list[Issue]:
    """Syntax errors, and the warnings: segments, UCS-2 characters, opt-out wording."""
    issues: list[Issue] = []
    for resource in templates.values():
        model = resource.model
        assert isinstance(model, TemplateDocument)
        document = resource.document
        for index, step in enumerate(model.spec.steps):
            path = ("spec", "steps", index, "body")
            where = document.where(path)
            try:
                placeholders(step.body)
            except TemplateProblem as problem:
                line = (where.line or 1) + problem.line - 1 + (path in document.block_scalars)
                at = Location(where.file, line, where.col)
                message = f"step {index + 1}: {problem.message}"
                issues.append(Issue("error", message, at, "template_syntax"))
                continue
            issues.extend(_body_warnings(index, step.body, where))
        first = model.spec.steps[0].body
        if not _OPT_OUT.search(first):
            message = (
                "the first step has no opt-out wording: add e.g. 'Reply STOP to opt out' "
                "(recipients must be told how to stop messages)"
            )
            where = document.where(("spec", "steps", 0, "body"))
            issues.append(Issue("warning", message, where, "opt_out_wording"))
    return issues


def estimate_body(body: str) -> str:
    """The body with each placeholder replaced by its default, or else by its field name."""

    def replace(match: re.Match[str]) -> str:
        expression = match.group(1)
        default = _DEFAULT_ARG.search(expression)
        if default:
            return default.group(2)
        return expression.split("|", 1)[0].strip()

    return _PLACEHOLDER.sub(replace, body)


def _body_warnings(index: int, body: str, where: Location) -> list[Issue]:
    issues: list[Issue] = []
    count = count_segments(estimate_body(body))
    if count.non_gsm:
        named = ", ".join(_describe(char) for char in count.non_gsm[:5])
        more = f" and {len(count.non_gsm) - 5} more" if len(count.non_gsm) > 5 else ""
        message = (
            f"step {index + 1} contains {named}{more}, not in the GSM-7 alphabet: the whole "
            "message is sent as UCS-2 (70 characters a segment instead of 160)"
        )
        issues.append(Issue("warning", message, where, "ucs2"))
    if count.segments > MAX_SEGMENTS:
        message = (
            f"step {index + 1} needs {count.segments} segments ({count.encoding}, "
            f"{count.units} units with placeholders as their defaults or names): over "
            f"{MAX_SEGMENTS}, each message costs {count.segments} credits and may be filtered"
        )
        issues.append(Issue("warning", message, where, "segments"))
    return issues


def _describe(char: str) -> str:
    name = unicodedata.name(char, "")
    code = f"U+{ord(char):04X}"
    return f"{char!r} ({code} {name})" if name else f"{char!r} ({code})"
