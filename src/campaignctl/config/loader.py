"""`load(directory)`: every file of a campaigns.d/ tree -> checked `Desired`, or the issues.

Order of work: read every YAML file (recursively, sorted, hidden entries skipped), check each
document (JSON Schema + model), then Settings, names, do-not-call lists, groups (CSV), and the
checks across files. Everything found is reported. `desired` holds the good part: the
campaigns an error holds (see config.holds) are left out of it and named in `desired.held`
with their error, so the others go on; `require()` still refuses any error.
"""

from __future__ import annotations

import gc
import hashlib
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from campaignctl.config import build, checks
from campaignctl.config.consent_checks import consent_warnings
from campaignctl.config.contacts import ContactSource, ParseContacts, load_group
from campaignctl.config.content_checks import check_content
from campaignctl.config.dnc import load_dnc
from campaignctl.config.documents import Resource, check_document
from campaignctl.config.holds import (
    DEPENDENT_KINDS,
    EVERY_CAMPAIGN,
    Holds,
    Owner,
    document_owner,
    guessed_owners,
    held_text,
)
from campaignctl.config.models import KINDS, SettingsDocument
from campaignctl.config.paths import display_path, is_inside, outside_text
from campaignctl.config.yamlload import Document, read_yaml_file
from campaignctl.core.types import Desired, GroupSpec
from campaignctl.errors import ConfigError, Issue, Location

YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class LoadResult:
    desired: Desired | None  # the good part (None: the directory cannot be read at all)
    issues: tuple[Issue, ...]  # errors and warnings, sorted by file, line
    files: tuple[str, ...]  # every file read (YAML, CSV, DNC), as shown in messages
    # each group's contacts, to read a batch at a time (a streamed apply), by group name
    sources: Mapping[str, ContactSource] = field(default_factory=dict)
    # each DoNotCallList's numbers, by the list's name (explain names the list that matched)
    dnc_lists: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.desired is not None and not self.errors

    @property
    def errors(self) -> tuple[Issue, ...]:
        return tuple(issue for issue in self.issues if issue.severity == "error")

    @property
    def warnings(self) -> tuple[Issue, ...]:
        return tuple(issue for issue in self.issues if issue.severity == "warning")

    def require(self) -> Desired:
        """The desired state, or ConfigError carrying every issue when there is an error."""
        if self.desired is None or self.errors:
            raise ConfigError(list(self.issues))
        return self.desired

    def usable(self) -> Desired:
        """The good part, its held campaigns named with their errors (plan, apply and the
        controller go on with the others); ConfigError when nothing can be read."""
        if self.desired is None:
            raise ConfigError(list(self.issues))
        return self.desired


def find_yaml_files(root: Path) -> list[Path]:
    """Every *.yaml / *.yml under `root`, sorted; hidden files and directories are skipped."""
    found: list[Path] = []
    for directory, subdirectories, names in os.walk(root):
        subdirectories[:] = sorted(d for d in subdirectories if not d.startswith("."))
        found.extend(
            Path(directory, name)
            for name in sorted(names)
            if name.endswith(YAML_SUFFIXES) and not name.startswith(".")
        )
    return found


def issue_order(issue: Issue) -> tuple[int, str, int, int]:
    where = issue.location
    if where is None:
        return (0, "", 0, 0)
    return (1, where.file, where.line or 0, where.col or 0)


class _Run:
    """The state of one load: files read, issues found, resources by kind."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.cwd = os.getcwd()
        self.files: dict[str, tuple[Path, str]] = {}  # display path -> (path, sha256)
        self.issues: list[Issue] = []
        self.resources: dict[str, list[Resource]] = {kind: [] for kind in KINDS}
        self.unreadable: dict[str, set[str]] = {kind: set() for kind in KINDS}
        self.holds = Holds()  # the errors, each with the campaigns it holds
        self.partial = False  # some YAML could not be read: references may point into it

    def read(self, path: Path, sha256: str) -> None:
        self.files.setdefault(display_path(path, self.cwd), (path, sha256))

    def read_yaml(self) -> None:
        for path in find_yaml_files(self.root):
            display = display_path(path, self.cwd)
            if not is_inside(path, self.root):
                issue = Issue("error", outside_text(path, self.root), Location(display), "file")
                self.add([issue], EVERY_CAMPAIGN)
                self.partial = True
                continue
            parsed = read_yaml_file(path, display)
            self.read(path, parsed.sha256)
            if parsed.problem is not None:
                problem = parsed.problem
                where = Location(display, problem.line, problem.col)
                issue = Issue("error", problem.message, where, "yaml")
                self.add([issue], *_guess(path))
                self.partial = True
            for document in parsed.documents:
                self.check(document)

    def check(self, document: Document) -> None:
        resource, issues = check_document(document)
        self.add(issues, document_owner(document.data))
        if resource is not None:
            self.resources[resource.kind].append(resource)
            return
        data = document.data
        kind = data.get("kind") if isinstance(data, dict) else None
        if isinstance(kind, str) and kind in self.unreadable:
            metadata = data.get("metadata")
            name = metadata.get("name") if isinstance(metadata, dict) else None
            if isinstance(name, str):
                self.unreadable[kind].add(name)

    def add(self, issues: Iterable[Issue], *owners: Owner) -> None:
        """Issues found; their errors hold the campaigns of `owners` (every one: None)."""
        found = list(issues)
        self.issues.extend(found)
        self.holds.add(found, *owners)

    def digest(self) -> str:
        """sha256 over every file read: its path inside the config directory and its digest
        (of its bytes; a CSV's, of its blocks' digests: csv_blocks.list_digest)."""
        digest = hashlib.sha256()
        base = os.path.abspath(self.root)
        entries = sorted(
            (Path(os.path.relpath(os.path.abspath(path), base)).as_posix(), sha)
            for path, sha in self.files.values()
        )
        for relative, sha in entries:
            digest.update(f"{relative}\0{sha}\n".encode())
        return "sha256:" + digest.hexdigest()


def load(directory: Path, *, parse_contacts: ParseContacts | None = None) -> LoadResult:
    """Read and check a campaigns.d/ tree. Never raises for bad input: it returns issues.

    `parse_contacts(group_name, group_digest)` may return False to skip parsing a group whose
    contacts are known already (the GroupSpec then has loaded=False and no contacts).
    """
    collecting = gc.isenabled()
    gc.disable()  # a large load makes many objects that all live on: collecting them is waste
    try:
        return _load(Path(directory), parse_contacts)
    finally:
        if collecting:
            gc.enable()


def _load(root: Path, parse_contacts: ParseContacts | None) -> LoadResult:
    if not root.is_dir():
        where = Location(display_path(root))
        message = "config directory not found (use --dir or CAMPAIGNCTL_DIR)"
        return LoadResult(None, (Issue("error", message, where, "file"),), ())
    run = _Run(root)
    run.read_yaml()
    if not run.files:
        message = "no *.yaml files: nothing is configured"
        run.issues.append(Issue("warning", message, Location(display_path(root, run.cwd)), "file"))

    run.add(checks.single_settings(run.resources["Settings"]), EVERY_CAMPAIGN)
    settings_resources = run.resources["Settings"]
    settings = build.settings(settings_resources[0] if settings_resources else None)
    named: dict[str, dict[str, Resource]] = {}
    for kind in ("Template", "Campaign", "ProspectGroup", "DoNotCallList"):
        named[kind], duplicates = checks.unique(run.resources[kind])
        again = [r for r in run.resources[kind] if named[kind][r.name] is not r]
        for resource, duplicate in zip(again, duplicates, strict=True):
            owner = (kind, resource.name) if kind in DEPENDENT_KINDS else EVERY_CAMPAIGN
            run.add([duplicate], owner)

    dnc: set[str] = set()
    dnc_lists: dict[str, frozenset[str]] = {}
    for name, resource in named["DoNotCallList"].items():
        listed = load_dnc(resource, root)
        dnc.update(listed.numbers)
        dnc_lists[name] = listed.numbers
        run.add(listed.issues, EVERY_CAMPAIGN)
        for path, sha in listed.files:
            run.read(path, sha)

    groups: dict[str, GroupSpec] = {}
    sources: dict[str, ContactSource] = {}
    unknown_fields: set[str] = set()  # groups whose CSV could not be read
    with_errors: set[str] = set()  # groups with a row or file in error
    for name, resource in named["ProspectGroup"].items():
        group = load_group(resource, root, settings.timezone_fallback, parse_contacts)
        groups[name] = group.spec
        if group.source is not None:
            sources[name] = group.source
        if not group.complete:
            unknown_fields.add(name)
        if any(issue.severity == "error" for issue in group.issues):
            with_errors.add(name)
        run.add(group.issues, ("ProspectGroup", name))
        if group.csv_file is not None:
            run.read(*group.csv_file)

    for name, resource in named["Template"].items():
        run.add(checks.check_templates({name: resource}), ("Template", name))
    settings_resource = settings_resources[0] if settings_resources else None
    run.add(check_content(named["Template"], named["Campaign"], settings_resource))  # warnings
    if settings.require_consent:
        run.add(consent_warnings(groups, named["Campaign"]))  # warnings
    unreadable = {kind: _AnyName() for kind in KINDS} if run.partial else run.unreadable
    for name, found in checks.check_campaigns(
        named["Campaign"], named["Template"], groups, unreadable, unknown_fields, with_errors
    ).items():
        run.add(found, ("Campaign", name))

    campaigns = {n: build.campaign_spec(r) for n, r in named["Campaign"].items()}
    uses: dict[str, tuple[str, str] | None] = dict.fromkeys(run.unreadable["Campaign"])
    uses.update({n: (c.template, c.prospect_group) for n, c in campaigns.items()})
    held = run.holds.held(uses)
    errors = [issue for _, issue in run.holds.errors]
    for name, spec in campaigns.items():
        unresolved = [
            f"{what} {ref!r}"
            for what, ref, known in (
                ("template", spec.template, named["Template"]),
                ("prospect group", spec.prospect_group, groups),
            )
            if ref not in known
        ]
        if unresolved and errors and name not in held:  # it may be in a file not read
            held[name] = (
                f"{spec.source}: campaign {name!r}: {' and '.join(unresolved)} not found "
                f"while a file cannot be read: {held_text(errors)}"
            )
    desired = Desired(
        campaigns={n: c for n, c in campaigns.items() if n not in held},
        templates={n: build.template_spec(r) for n, r in named["Template"].items()},
        groups=groups,
        dnc=frozenset(dnc),
        settings=settings,
        config_digest=run.digest(),
        held=held,
    )
    issues = tuple(sorted(run.issues, key=issue_order))
    return LoadResult(desired, issues, tuple(sorted(run.files)), sources, dnc_lists)


def _guess(path: Path) -> list[Owner]:
    """Whose error a file that cannot be parsed is, guessed from its first megabyte."""
    try:
        with path.open("rb") as handle:
            return guessed_owners(handle.read(1 << 20).decode("utf-8", errors="replace"))
    except OSError:
        return [EVERY_CAMPAIGN]


class _AnyName(set[str]):
    """Every name: when a YAML file could not be read, any reference may point into it."""

    def __contains__(self, item: object) -> bool:
        return True


def settings_help_text(root: Path) -> str | None:
    """Settings.helpText of the config at `root`, reading its YAML only (no contacts); None
    when there is none or the Settings document does not check."""
    if not root.is_dir():
        return None
    for document in iter_documents(root):
        if isinstance(document.data, dict) and document.data.get("kind") == "Settings":
            resource, _ = check_document(document)
            if resource is not None and isinstance(resource.model, SettingsDocument):
                return resource.model.spec.help_text
    return None


def iter_documents(root: Path) -> Iterator[Document]:
    """Every readable document under `root` (files with problems, and links to files
    outside it, are skipped)."""
    for path in find_yaml_files(root):
        if is_inside(path, root):
            yield from read_yaml_file(path, display_path(path)).documents
