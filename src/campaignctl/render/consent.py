"""Consent records as `consent export` writes them (CSV, or JSON), and as `explain` shows
them with a number's review hold."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from campaignctl.core.instants import format_instant
from campaignctl.store.consent import ConsentRecord
from campaignctl.store.review import ReviewHold

# what a spreadsheet reads as a formula when a cell starts with it (CSV injection)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """A cell a spreadsheet shows as text: an apostrophe before a formula's start."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


CSV_COLUMNS = (
    "phone", "campaign", "status", "consentSource", "consentAt", "enrolledAt", "source",
)  # fmt: skip


def consent_json(record: ConsentRecord) -> dict[str, Any]:
    return {
        "phone": record.phone,
        "campaign": record.campaign,
        "status": record.status,
        "consentSource": record.consent_source,
        "consentAt": record.consent_at,
        "enrolledAt": format_instant(record.enrolled_at),
        "source": record.source,
    }


def consent_csv(records: Iterable[ConsentRecord]) -> Iterator[str]:
    """The export as CSV text, a piece at a time (header first): a state of a million
    enrollments is written as it is read. A value a spreadsheet would read as a formula
    starts with an apostrophe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180
    writer.writerow(CSV_COLUMNS)
    for count, r in enumerate(records, 1):
        writer.writerow(
            [r.phone, r.campaign, r.status, spreadsheet_safe(r.consent_source or ""),
             r.consent_at or "", format_instant(r.enrolled_at), spreadsheet_safe(r.source or "")]
        )  # fmt: skip
        if count % 1000 == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def consent_json_lines(records: Iterable[ConsentRecord]) -> Iterator[str]:
    """The export as one JSON object: {"consent": [...]}, a record at a time."""
    yield '{"consent": ['
    for index, record in enumerate(records):
        yield (
            ("" if index == 0 else ",")
            + "\n  "
            + json.dumps(consent_json(record), ensure_ascii=False)
        )
    yield "\n]}\n"


def consent_lines(records: Sequence[ConsentRecord]) -> list[str]:
    """`explain`'s consent section: each enrollment's record, or that it has none."""
    if not records:
        return []
    lines = ["Consent:"]
    width = max(len(r.campaign) for r in records)
    for r in records:
        if r.consent_source or r.consent_at:
            where = r.consent_source or "no consentSource"
            when = r.consent_at or "no consentAt"
            lines.append(f"  {r.campaign.ljust(width)}  {where}, {when}")
        else:
            lines.append(f"  {r.campaign.ljust(width)}  no consent record")
    return lines


def hold_line(hold: ReviewHold | None) -> list[str]:
    """`explain`'s line for a number held for review: since when, and the reply."""
    if hold is None:
        return []
    return [
        f"HELD FOR REVIEW since {format_instant(hold.since)}: reply {json.dumps(hold.text, ensure_ascii=False)}"
        f" may revoke consent ({hold.verdict}); nothing is sent to it until "
        "`campaignctl replies review --keep/--optout` decides"
    ]


def hold_json(hold: ReviewHold | None) -> dict[str, Any] | None:
    if hold is None:
        return None
    return {"since": format_instant(hold.since), "text": hold.text, "verdict": hold.verdict}
