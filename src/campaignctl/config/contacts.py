"""The contacts of a ProspectGroup: inline in YAML and/or a CSV file beside it.

CSV: a header row; a `phone` column (numbers separated by `;`) or `phone1..phoneN` columns; an
optional `timezone` column; every other column is a contact field. The file is streamed line by
line, so every problem names its CSV line and a large file never sits in memory as text.

The group digest covers everything the contacts come from and is computed without parsing
the CSV, so a caller can skip parsing a group it has already synced (`parse_contacts`).
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from campaignctl.config.csv_blocks import (
    FileStamp,
    block_digests,
    file_stamp,
    list_digest,
)
from campaignctl.config.documents import Resource
from campaignctl.config.files import FileProblem, quote, text_lines
from campaignctl.config.models import ProspectGroupDocument
from campaignctl.config.paths import display_path, is_inside
from campaignctl.config.phone_workers import (
    PARALLEL_MIN_BYTES,
    BatchNormalizer,
    Normalized,
    OrderedRows,
    PhoneWorkers,
    start_workers,
)
from campaignctl.core import phones
from campaignctl.core.consent import CONSENT_AT, ConsentProblem, consent_at_text, with_consent_at
from campaignctl.core.types import Contact, GroupSpec, InvalidContact
from campaignctl.errors import ConfigError, Issue, Location

ParseContacts = Callable[[str, str], bool]
# a batch of a group's contacts, and of its numbers that are not valid
BatchSink = Callable[[list[Contact], list[InvalidContact]], None]

_PHONE_COLUMN = re.compile(r"phone[0-9]*", re.IGNORECASE)


@dataclass(frozen=True)
class _CsvRow:
    """A CSV row read, waiting for its numbers to be normalised."""

    where: Location
    fields: dict[str, str]
    zone: str | None
    numbers: list[str]


@dataclass
class _Collector:
    """What reading a group produces, before it becomes a GroupSpec; or, with a `sink`, the
    contacts handed on a batch at a time (a streamed apply): then only errors are kept as
    issues, and numbers met twice are left to the sink (the planner decides each once)."""

    region: str
    fallback: str | None
    contacts: list[Contact] = field(default_factory=list)
    invalid: list[InvalidContact] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    first_seen: dict[str, Location] = field(default_factory=dict)
    sink: BatchSink | None = None
    batch_size: int = 0

    def _warn(self, issue: Issue) -> None:
        if self.sink is None:
            self.issues.append(issue)

    def flush(self, *, final: bool = False) -> None:
        if self.sink is None:
            return
        if final or len(self.contacts) + len(self.invalid) >= self.batch_size:
            if self.contacts or self.invalid:
                self.sink(self.contacts, self.invalid)
            self.contacts, self.invalid = [], []

    def add(self, raw: str, fields: dict[str, str], zone: str | None, where: Location) -> None:
        try:
            normalized: Normalized = phones.normalize(raw, self.region)
        except phones.InvalidPhone as exc:
            normalized = exc.reason
        self.add_normalized(raw, normalized, fields, zone, where)

    def add_row(self, row: _CsvRow, results: list[Normalized]) -> None:
        """Add a CSV row whose numbers are normalised (`results`, in the order of its numbers)."""
        if not row.numbers:
            self.invalid.append(InvalidContact("", "no phone number", row.where))
            self._warn(_warning(row.where, "contact has no phone number", "invalid_phone"))
        for raw, info in zip(row.numbers, results, strict=True):
            self.add_normalized(raw, info, row.fields, row.zone, row.where)
        self.flush()

    def add_normalized(
        self,
        raw: str,
        info: Normalized,
        fields: dict[str, str],
        zone: str | None,
        where: Location,
    ) -> None:
        """Add a number already normalised (its PhoneInfo, or why it is invalid)."""
        if isinstance(info, str):
            self.invalid.append(InvalidContact(raw, info, where))
            self._warn(
                _warning(
                    where,
                    f"invalid phone number {quote(raw)} ({info}): it is never sent to "
                    "(skip: invalid_phone)",
                    "invalid_phone",
                )
            )
            return
        if self.sink is None:
            first = self.first_seen.get(info.e164)
            if first is not None:
                self._warn(
                    _warning(
                        where,
                        f"{info.e164} is already in this group (at {first}): only the first is "
                        "used",
                        "duplicate_phone",
                    )
                )
                return
            self.first_seen[info.e164] = where
        zones = phones.contact_zones(info.zones, zone, self.fallback)
        if not zones:
            self._warn(
                _warning(
                    where,
                    f"{info.e164} has no usable time zone (toll-free or non-geographic): it is "
                    "skipped (unknown_timezone); give it a timezone or set "
                    "Settings timezoneFallback",
                    "unknown_timezone",
                )
            )
        self.contacts.append(Contact(info.e164, fields, zones, info.us_state, where))


@dataclass(frozen=True)
class GroupLoad:
    spec: GroupSpec
    issues: tuple[Issue, ...]
    csv_file: tuple[Path, str] | None  # the CSV read (path, its identity: csv_blocks), if any
    complete: bool = True  # False when the CSV could not be read: its field names are unknown
    source: ContactSource | None = None  # to read the contacts again, a batch at a time


def _warning(where: Location, message: str, code: str) -> Issue:
    return Issue("warning", message, where, code)


def _error(where: Location, message: str, code: str) -> Issue:
    return Issue("error", message, where, code)


def group_digest(spec_data: dict[str, Any], csv_digest: str | None, fallback: str | None) -> str:
    """sha256 over the inline contacts, defaultRegion, the CSV's identity (the sha256 of
    its block list, csv_blocks.list_digest) and the zone fallback."""
    material = {
        "contacts": spec_data.get("contacts") or [],
        "defaultRegion": spec_data.get("defaultRegion", "US"),
        "csvBlocks": csv_digest,
        "timezoneFallback": fallback,
    }
    text = json.dumps(material, sort_keys=True, ensure_ascii=False, default=str)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def csv_location(resource: Resource, root: Path, issues: list[Issue]) -> Path | None:
    """The group's CSV file, if it names one that can be read (its bytes not read)."""
    model = resource.model
    assert isinstance(model, ProspectGroupDocument)
    if model.spec.csv is None:
        return None
    where = resource.document.where(("spec", "csv"))
    path = Path(resource.document.file).parent / model.spec.csv
    if not is_inside(path, root):
        issues.append(_error(where, f"{model.spec.csv!r} is outside {display_path(root)}", "file"))
        return None
    if not path.is_file():
        issues.append(_error(where, f"CSV file {model.spec.csv!r} not found", "file"))
        return None
    return path


def _csv_path(
    resource: Resource, root: Path, issues: list[Issue]
) -> tuple[Path | None, list[str], str | None]:
    """The group's CSV file, its blocks' digests and its identity (csv_blocks), if it names
    one that can be read."""
    path = csv_location(resource, root, issues)
    if path is None:
        return None, [], None
    blocks = block_digests(path)
    return path, blocks, list_digest(blocks)


def _read_contacts(
    resource: Resource,
    csv_path: Path | None,
    collector: _Collector,
    names: set[str] | None,
    workers: PhoneWorkers | None = None,
) -> bool:
    """Read the inline contacts and the CSV into `collector`; False when the CSV could not
    be read (the problem is in collector.issues). `names` gathers the field names;
    `workers`: the phone workers to parse a large CSV's numbers with (else its own)."""
    model = resource.model
    assert isinstance(model, ProspectGroupDocument)
    document = resource.document
    for index, contact in enumerate(model.spec.contacts):
        fields = {key: value.strip() for key, value in contact.fields.items()}
        try:
            fields = with_consent_at(fields)
        except ConsentProblem as exc:
            where = document.where(("spec", "contacts", index, "fields", CONSENT_AT))
            collector.issues.append(_error(where, str(exc), "consent"))
            continue
        if names is not None:
            names.update(fields)
        for number, raw in enumerate(contact.phones):
            where = document.where(("spec", "contacts", index, "phones", number))
            collector.add(raw, fields, contact.timezone, where)
        collector.flush()
    if csv_path is None:
        return True
    parallel = csv_path.stat().st_size >= PARALLEL_MIN_BYTES
    region, source = model.spec.default_region, display_path(csv_path)
    shared = workers if parallel else None
    with BatchNormalizer(region, parallel=parallel, source=source, workers=shared) as normalizer:
        found = _csv_rows(csv_path, collector, normalizer)
    if found is None:
        return False
    if names is not None:
        names.update(found)
    return True


def _csv_rows(
    path: Path, collector: _Collector, normalizer: BatchNormalizer | None
) -> list[str] | None:
    """`_read_csv` on a file: its field names, or None when it cannot be read (the
    problem is then in collector.issues)."""
    display = display_path(path)
    try:
        with path.open("rb") as handle:
            return _read_csv(handle, display, collector, normalizer)
    except FileProblem as problem:
        collector.issues.append(
            _error(Location(display, problem.line, problem.col or 1), problem.message, "csv")
        )
        return None


@dataclass(frozen=True)
class ContactSource:
    """A group's contacts, read again a batch at a time, for a streamed apply: a group of a
    million contacts never sits in memory. `read` hands each batch to `sink` in file order
    and raises ConfigError when the files hold an error or changed since they were loaded."""

    resource: Resource
    root: Path
    fallback: str | None
    digest: str
    stamp: FileStamp | None = None  # the CSV's, taken before its digest was (csv_blocks)
    blocks: tuple[str, ...] = ()  # the digests of the CSV's blocks, when its digest was taken

    def check(self) -> None:
        """Look through the CSV for errors without parsing a number (a fraction of the
        cost of reading it): a streamed apply checks every group it will read before it
        changes anything, so a bad row fails the apply, not half of it."""
        model = self.resource.model
        assert isinstance(model, ProspectGroupDocument)
        issues: list[Issue] = []
        csv_path = csv_location(self.resource, self.root, issues)
        if csv_path is not None:
            collector = _Collector(model.spec.default_region, self.fallback)
            _csv_rows(csv_path, collector, None)
            issues.extend(collector.issues)
        if issues:
            raise ConfigError(issues)

    def start_workers(self) -> PhoneWorkers | None:
        """Phone workers for its numbers, started now, when its CSV is large enough for
        them (and there are cores); else None. Raises WorkerStopped."""
        model = self.resource.model
        assert isinstance(model, ProspectGroupDocument)
        path = csv_location(self.resource, self.root, [])
        try:
            if path is None or path.stat().st_size < PARALLEL_MIN_BYTES:
                return None
        except OSError:
            return None  # the check that follows tells what is wrong with it
        return start_workers(model.spec.default_region, display_path(path))

    def read(self, sink: BatchSink, batch_size: int, workers: PhoneWorkers | None = None) -> None:
        """`workers`: phone workers started already (PhoneWorkers), for a large CSV."""
        model = self.resource.model
        assert isinstance(model, ProspectGroupDocument)
        issues: list[Issue] = []
        csv_path, _, csv_sha = _csv_path(self.resource, self.root, issues)
        if not issues:
            collector = _Collector(
                model.spec.default_region, self.fallback, sink=sink, batch_size=batch_size
            )
            _read_contacts(self.resource, csv_path, collector, None, workers)
            collector.flush(final=True)
            issues = collector.issues
            changed = csv_path is not None and list_digest(block_digests(csv_path)) != csv_sha
            if changed or group_digest(self.resource.document.data["spec"], csv_sha,
                                       self.fallback) != self.digest:  # fmt: skip
                where = self.resource.document.where(("spec", "csv"))
                issues.append(
                    _error(where, "the contacts changed while they were being read", "file")
                )
        if issues:
            raise ConfigError(issues)


def load_group(
    resource: Resource,
    root: Path,
    fallback: str | None,
    parse_contacts: ParseContacts | None,
) -> GroupLoad:
    """Read a group's contacts (unless `parse_contacts` says the digest is already synced)."""
    model = resource.model
    assert isinstance(model, ProspectGroupDocument)
    document = resource.document
    spec = model.spec
    issues: list[Issue] = []
    stamp = file_stamp(Path(document.file).parent / spec.csv) if spec.csv else None
    csv_path, blocks, csv_sha = _csv_path(resource, root, issues)
    digest = group_digest(document.data["spec"], csv_sha, fallback)
    collector = _Collector(spec.default_region, fallback)
    names: set[str] = set()
    complete = csv_path is not None or spec.csv is None
    loaded = parse_contacts is None or parse_contacts(resource.name, digest)
    if loaded:
        complete = _read_contacts(resource, csv_path, collector, names) and complete
    else:
        for contact in spec.contacts:
            names.update(contact.fields)
        if csv_path is not None:
            try:
                with csv_path.open("rb") as handle:
                    names.update(_header_fields(_header(handle)))
            except FileProblem as problem:
                complete = False
                where = Location(display_path(csv_path), problem.line, problem.col or 1)
                issues.append(_error(where, problem.message, "csv"))
    issues.extend(collector.issues)
    group = GroupSpec(
        name=resource.name,
        source=document.location,
        digest=digest,
        contacts=tuple(collector.contacts),
        invalid=tuple(collector.invalid),
        field_names=frozenset(names),
        loaded=loaded,
    )
    csv_file = (csv_path, csv_sha) if csv_path and csv_sha else None
    source = ContactSource(resource, root, fallback, digest, stamp, tuple(blocks))
    return GroupLoad(group, tuple(issues), csv_file, complete, source)


# --------------------------------------------------------------------------- CSV


def _header(handle: IO[bytes]) -> list[str]:
    reader = csv.reader(text_lines(handle, "a contacts CSV"))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise FileProblem(f"unreadable CSV header: {exc}", 1) from None
    if not header:
        raise FileProblem("empty CSV: the first line must be a header with a 'phone' column", 1)
    _check_separator(header)
    return [name.strip() for name in header]


def _header_fields(header: list[str]) -> list[str]:
    return [name for name in header if not _is_phone(name) and name.lower() != "timezone"]


def _is_phone(name: str) -> bool:
    return _PHONE_COLUMN.fullmatch(name) is not None


SEPARATORS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}


def _check_separator(header: list[str]) -> None:
    """A header read as one column that holds another separator: a CSV saved with
    semicolons (a spreadsheet in a locale whose decimal mark is a comma) or tabs."""
    if len(header) != 1:
        return
    for mark, name in SEPARATORS.items():
        if mark in header[0]:
            raise FileProblem(
                f"the header is separated by {name} ({mark!r}), not commas: contacts CSV "
                'files use commas (save it again as "CSV (comma delimited)", or replace '
                f"the {name} with commas)",
                1,
            )


def _check_header(header: list[str]) -> None:
    _check_separator(header)
    for position, name in enumerate(header, 1):
        if not name:
            raise FileProblem(f"column {position} of the header has no name", 1)
    seen: set[str] = set()
    for name in header:
        if name.lower() in seen:
            raise FileProblem(f"column {name!r} appears twice in the header", 1)
        seen.add(name.lower())
    if not any(_is_phone(name) for name in header):
        raise FileProblem(
            "no phone column: the header needs 'phone' (numbers separated by ';') or "
            "'phone1', 'phone2'...",
            1,
        )


def _numbers(row: list[str], phone_at: list[int]) -> list[str]:
    """The phone numbers of a row: its phone cells, each split at ';'."""
    if len(phone_at) == 1 and ";" not in row[phone_at[0]]:  # the usual row: one number
        number = row[phone_at[0]].strip()
        return [number] if number else []
    return [n.strip() for i in phone_at for n in row[i].split(";") if n.strip()]


def _read_csv(
    handle: IO[bytes], display: str, collector: _Collector, normalizer: BatchNormalizer | None
) -> list[str]:
    """Read the rows into `collector`; without a normaliser, only look for errors."""
    reader = csv.reader(text_lines(handle, "a contacts CSV"))
    rows = OrderedRows(normalizer, collector.add_row) if normalizer is not None else None
    try:
        header = next(reader, None)
        if not header:
            raise FileProblem("empty CSV: the first line must be a header with a 'phone' column", 1)
        header = [name.strip() for name in header]
        _check_header(header)
        phone_at = [i for i, name in enumerate(header) if _is_phone(name)]
        zone_at = next((i for i, name in enumerate(header) if name.lower() == "timezone"), None)
        consent_at = header.index(CONSENT_AT) if CONSENT_AT in header else None
        field_names = set(_header_fields(header))
        field_at = [(i, name) for i, name in enumerate(header) if name in field_names]
        width = len(header)
        end = reader.line_num
        for row in reader:
            line, end = end + 1, reader.line_num
            if not row:
                continue
            if len(row) != width:
                collector.issues.append(
                    _error(
                        Location(display, line, 1),
                        f"{len(row)} values, but the header has {width} columns",
                        "csv",
                    )
                )
                continue
            zone = row[zone_at].strip() if zone_at is not None else ""
            if zone and not phones.is_valid_zone(zone):
                collector.issues.append(
                    _error(
                        Location(display, line, 1),
                        f"timezone {zone!r} is not an IANA time zone",
                        "timezone",
                    )
                )
                continue
            consent = row[consent_at].strip() if consent_at is not None else ""
            if consent:
                try:
                    consent = consent_at_text(consent)
                except ConsentProblem as exc:
                    collector.issues.append(_error(Location(display, line, 1), str(exc), "consent"))
                    continue
            if rows is None:
                continue
            where = Location(display, line, 1)
            fields = {name: row[i].strip() for i, name in field_at}
            if consent:
                fields[CONSENT_AT] = consent
            numbers = _numbers(row, phone_at)
            rows.add(_CsvRow(where, fields, zone or None, numbers), numbers)
    except csv.Error as exc:
        if rows is not None:
            rows.finish()
        raise FileProblem(f"malformed CSV: {exc}", reader.line_num or 1) from None
    except FileProblem:
        if rows is not None:
            rows.finish()  # the rows before the problem are reported as without it
        raise
    if rows is not None:
        rows.finish()
    return [name for _, name in field_at]
