"""Opt-outs in bulk: the CSV files `campaignctl optout import` reads and `optout export`
writes, so that opt-outs move between campaignctl, a previous tool, a CRM and Twilio.

Two layouts are read, told apart by the header row:

    number,time,source[,note]     campaignctl's own (what `optout export` writes); `phone`,
                                  `phone_number`, `at`, `date` are taken for the first two
    contact_id,status,source,date_of_consent[,sender_id,correlation_id]
                                  the items of Twilio's Consent Management API (its bulk
                                  consents, and the exports made of them): only rows whose
                                  status is opt-out are imported; an opt-in never lifts an
                                  opt-out here (only the contact or `optout remove` does)

A number may be written in any form a person would (US without +1); a time is ISO 8601 (a
date alone is its midnight UTC; empty: the moment of the import). The whole file is checked
before anything is written: every bad row is reported as `file:line: error: ...` and nothing
is imported.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from campaignctl.core.instants import InstantError, format_instant, parse_instant
from campaignctl.core.phones import InvalidPhone, normalize
from campaignctl.errors import CampaignctlError, ConfigError, Issue, Location

EXPORT_COLUMNS = ("number", "time", "source", "note")
NUMBER_COLUMNS = ("number", "phone", "phone_number", "phonenumber", "contact_id", "to", "e164")
TIME_COLUMNS = ("time", "at", "date", "date_of_consent", "opted_out_at", "timestamp")
SOURCE_COLUMNS = ("source", "channel")
NOTE_COLUMNS = ("note", "notes", "reason")
OPT_OUT_STATUSES = ("opt-out", "optout", "opt_out", "opted-out", "opted_out", "stop")


@dataclass(frozen=True)
class ImportedOptOut:
    """One opt-out read from a file: the number (E.164), since when, how, where from."""

    phone: str
    at: datetime | None  # None: the moment of the import
    source: str  # as written in the file ("sms", "web form", "opt-out-message"...)
    note: str | None
    location: Location


@dataclass(frozen=True)
class OptOutFile:
    """What a file holds: the opt-outs to import, and the rows it leaves out (an opt-in
    of a Twilio consent export, a number met twice), each with why."""

    optouts: tuple[ImportedOptOut, ...]
    left_out: tuple[tuple[Location, str], ...]


def read_optout_file(path: Path) -> OptOutFile:
    """Read and check a whole file; ConfigError (every bad row, file:line) if any is bad."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CampaignctlError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise CampaignctlError(f"{path}: {exc.strerror or exc}") from None
    return parse_optout_csv(text, str(path))


def parse_optout_csv(text: str, name: str) -> OptOutFile:
    """The opt-outs of a CSV text (see the module's note); `name` is the file for messages."""
    rows = [(n, row) for n, row in enumerate(csv.reader(io.StringIO(text)), 1) if any(row)]
    if not rows:
        raise CampaignctlError(f"{name}: empty file: no opt-outs to import")
    header_line, header = rows[0]
    columns = _columns(header)
    if columns is None:  # no header: number[,time[,source[,note]]]
        columns = {key: i for i, key in enumerate(EXPORT_COLUMNS)}
    else:
        rows = rows[1:]
    if "number" not in columns:
        where = Location(name, header_line)
        wanted = "number (or phone, contact_id)"
        raise ConfigError([_issue(where, f"no {wanted} column in the header {header}")])
    issues: list[Issue] = []
    found: list[ImportedOptOut] = []
    left_out: list[tuple[Location, str]] = []
    seen: set[str] = set()
    for line, row in rows:
        where = Location(name, line)
        try:
            optout = _row(row, columns, where)
        except ValueError as exc:
            issues.append(_issue(where, str(exc)))
            continue
        if optout is None:
            left_out.append((where, "an opt-in: an import never lifts an opt-out"))
        elif optout.phone in seen:
            left_out.append((where, f"{optout.phone} again: the first row counts"))
        else:
            seen.add(optout.phone)
            found.append(optout)
    if issues:
        raise ConfigError(issues)
    return OptOutFile(tuple(found), tuple(left_out))


def _columns(header: Sequence[str]) -> dict[str, int] | None:
    """The columns a header names (number, time, source, note, status), or None when the
    first row is not a header (its first cell reads as a phone number)."""
    names = [cell.strip().lower().replace(" ", "_") for cell in header]
    wanted: Mapping[str, Sequence[str]] = {
        "number": NUMBER_COLUMNS,
        "time": TIME_COLUMNS,
        "source": SOURCE_COLUMNS,
        "note": NOTE_COLUMNS,
        "status": ("status",),
    }
    columns: dict[str, int] = {}
    for key, aliases in wanted.items():
        for alias in aliases:
            if alias in names:
                columns[key] = names.index(alias)
                break
    if not columns and names and _looks_like_number(names[0]):
        return None
    return columns


def _looks_like_number(cell: str) -> bool:
    digits = sum(c.isdigit() for c in cell)
    return digits >= 7 and all(c.isdigit() or c in "+-(). " for c in cell)


def _row(row: Sequence[str], columns: Mapping[str, int], where: Location) -> ImportedOptOut | None:
    def cell(key: str) -> str:
        at = columns.get(key)
        return row[at].strip() if at is not None and at < len(row) else ""

    status = cell("status").lower()
    if "status" in columns and status not in OPT_OUT_STATUSES:
        if status in ("opt-in", "optin", "opt_in", "opted-in", "opted_in", "start"):
            return None
        raise ValueError(f"status {status!r} is neither opt-out nor opt-in")
    raw = cell("number")
    if not raw:
        raise ValueError("no number")
    try:
        phone = normalize(raw, default_region="US").e164
    except InvalidPhone as exc:
        raise ValueError(f"{raw!r} is not a phone number ({exc.reason})") from None
    written = cell("time")
    try:
        at = parse_instant(written) if written else None
    except InstantError as exc:
        raise ValueError(f"time: {exc}") from None
    return ImportedOptOut(phone, at, cell("source") or "import", cell("note") or None, where)


def _issue(where: Location, message: str) -> Issue:
    return Issue("error", message, where, "optout_file")


def export_rows(records: Iterable[tuple[str, datetime, str, str | None]]) -> str:
    """The CSV `optout export` writes (number,time,source,note), which import reads back."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for phone, at, source, note in records:
        writer.writerow([phone, format_instant(at), source, note or ""])
    return out.getvalue()
