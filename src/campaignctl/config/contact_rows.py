"""Some rows of a group's CSV, read as the whole file would read them: an incremental sync
parses only the rows that changed, with the file's own header and line numbers.

The rows go through the very reader of the whole file (`contacts._read_csv`), after the
header: the same checks, the same contacts, every column the reader knows. Only the line
numbers are put back: the reader sees the header, then the rows one line each.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from campaignctl.config.contacts import ContactSource, _Collector, _read_csv, csv_location
from campaignctl.config.files import FileProblem
from campaignctl.config.models import ProspectGroupDocument
from campaignctl.config.paths import display_path
from campaignctl.config.phone_workers import BatchNormalizer
from campaignctl.core.types import Contact, InvalidContact
from campaignctl.errors import Issue, Location


@dataclass(frozen=True)
class ParsedRows:
    contacts: list[Contact]
    invalid: list[InvalidContact]


def csv_file(source: ContactSource) -> Path | None:
    """The group's CSV file, when it names one that can be read."""
    issues: list[Issue] = []
    path = csv_location(source.resource, source.root, issues)
    return None if issues else path


def rows_key(source: ContactSource, header: bytes, more: Sequence[object]) -> str:
    """What the meaning of a row depends on besides its own bytes: the group's YAML (its
    inline contacts, defaultRegion, the CSV named), the zone fallback, the header line, and
    `more` (what the caller adds: the rules a row is decided by). Rows kept under another
    key are never compared with."""
    material = {
        "group": source.resource.name,
        "spec": source.resource.document.data.get("spec"),
        "fallback": source.fallback,
        "header": header.hex(),
        "more": [repr(item) for item in more],
    }
    text = json.dumps(material, sort_keys=True, ensure_ascii=False, default=str)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def parse_rows(
    source: ContactSource, header: bytes, rows: Sequence[tuple[int, bytes]]
) -> ParsedRows | None:
    """The contacts of these rows (line number, the line), in their order; None when one
    of them holds an error (the whole file's check then says which, and where)."""
    model = source.resource.model
    assert isinstance(model, ProspectGroupDocument)
    path = csv_file(source)
    if path is None:
        return None
    contacts: list[Contact] = []
    invalid: list[InvalidContact] = []

    def sink(batch: list[Contact], bad: list[InvalidContact]) -> None:
        contacts.extend(batch)
        invalid.extend(bad)

    region = model.spec.default_region
    collector = _Collector(region, source.fallback, sink=sink, batch_size=max(1, len(rows)))
    text = header.rstrip(b"\r\n") + b"\n" + b"".join(line + b"\n" for _, line in rows)
    try:
        with BatchNormalizer(region, parallel=False) as normalizer:
            _read_csv(io.BytesIO(text), display_path(path), collector, normalizer)
    except FileProblem:
        return None
    collector.flush(final=True)
    if any(issue.severity == "error" for issue in collector.issues):
        return None
    lines = [number for number, _ in rows]

    def real(where: Location) -> Location:
        at = where.line
        return replace(where, line=lines[at - 2]) if at is not None and at >= 2 else where

    return ParsedRows(
        [c._replace(source=real(c.source)) for c in contacts],
        [replace(bad, source=real(bad.source)) for bad in invalid],
    )
