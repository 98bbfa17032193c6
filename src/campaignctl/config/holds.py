"""Which campaigns a configuration error holds.

A file that fails to load or check holds only the campaigns that depend on it: an error in
a campaign's own document holds that campaign; one in a template holds the campaigns using
it; one in a prospect group (its YAML, its CSV's structure) holds the campaign it backs. An
error in a DoNotCallList or Settings, or one that cannot be traced to a campaign, template
or group (a document of no known kind, a file outside the tree), holds every campaign:
safety first. Warnings hold nothing (an invalid number is a skip, not an error).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from campaignctl.errors import Issue, Location

Owner = tuple[str, str] | None  # (kind, name) an error belongs to; None: every campaign
EVERY_CAMPAIGN: Owner = None
DEPENDENT_KINDS = frozenset({"Campaign", "Template", "ProspectGroup"})

_DOCUMENT_SEPARATOR = re.compile(r"^---[^\n]*$", re.MULTILINE)
_KIND_LINE = re.compile(r"^kind:\s*['\"]?([A-Za-z]+)", re.MULTILINE)
_NAME_LINE = re.compile(r"^\s+name:\s*['\"]?([a-z0-9-]+)['\"]?\s*(?:#.*)?$", re.MULTILINE)
_CONTENT = re.compile(r"^\s*[^\s#]", re.MULTILINE)


def document_owner(data: object) -> Owner:
    """Whose errors a document's are: its (kind, name) when it is a campaign, template or
    group that names itself; every campaign's otherwise."""
    if not isinstance(data, dict):
        return EVERY_CAMPAIGN
    kind = data.get("kind")
    metadata = data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if isinstance(kind, str) and kind in DEPENDENT_KINDS and isinstance(name, str):
        return (kind, name)
    return EVERY_CAMPAIGN


def guessed_owners(text: str) -> list[Owner]:
    """The owners of a file that could not be parsed, guessed from the `kind:` and `name:`
    lines of each of its documents; every campaign's when any document cannot be told."""
    owners: list[Owner] = []
    for part in _DOCUMENT_SEPARATOR.split(text):
        if not _CONTENT.search(part):
            continue
        kind, name = _KIND_LINE.search(part), _NAME_LINE.search(part)
        if kind is None or name is None or kind.group(1) not in DEPENDENT_KINDS:
            return [EVERY_CAMPAIGN]
        owners.append((kind.group(1), name.group(1)))
    return owners or [EVERY_CAMPAIGN]


def _shown(issue: Issue) -> str:
    return f"{issue.location}: {issue.message}" if issue.location else issue.message


def held_text(errors: Iterable[Issue]) -> str:
    """The error a held campaign is shown with: the first, `file:line: message`, and how
    many more there are."""
    found = sorted(errors, key=lambda issue: issue.location or Location(""))
    more = len(found) - 1
    if more <= 0:
        return _shown(found[0])
    return (
        _shown(found[0])
        + f" (and {more} more error{'s' if more > 1 else ''}: see `campaignctl validate`)"
    )


@dataclass
class Holds:
    """The errors of one load, each with the owners it belongs to."""

    errors: list[tuple[tuple[Owner, ...], Issue]] = field(default_factory=list)

    def add(self, issues: Iterable[Issue], *owners: Owner) -> None:
        for issue in issues:
            if issue.severity == "error":
                self.errors.append((owners or (EVERY_CAMPAIGN,), issue))

    def held(self, campaigns: Mapping[str, tuple[str, str] | None]) -> dict[str, str]:
        """Campaign name (-> its template and group, None when its document is broken) ->
        the error holding it, `file:line: message`, for each campaign held."""
        result: dict[str, str] = {}
        for name, uses in sorted(campaigns.items()):
            depends: set[Owner] = {EVERY_CAMPAIGN, ("Campaign", name)}
            if uses is not None:
                depends.update({("Template", uses[0]), ("ProspectGroup", uses[1])})
            found = [issue for owners, issue in self.errors if depends.intersection(owners)]
            if found:
                result[name] = held_text(found)
        return result
