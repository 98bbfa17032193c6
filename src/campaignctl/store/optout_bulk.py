"""Opt-outs in bulk (`campaignctl optout import`): many numbers in one transaction, each with
the time and source its file gives, and the history row an opt-out always has.

Importing is idempotent: a number already opted out is left as it is (its time, source and
note kept), so importing the same file twice changes nothing the second time. The live
enrollments of the numbers imported end (opted_out) in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from campaignctl.store.db import StoreBase, to_text
from campaignctl.store.writes import end_live

# a file's source -> the state's (sms, manual, provider); any other stays in the note
SOURCES: Mapping[str, str] = {
    "sms": "sms",
    "opt-out-message": "sms",  # Twilio's consent source: the contact texted an opt-out
    "stop": "sms",
    "manual": "manual",
    "provider": "provider",
    "twilio": "provider",
}


@dataclass(frozen=True)
class BulkOptOut:
    """One opt-out to import: the number (E.164), since when, the source as written, a
    note, and where it was read (file:line), kept in the history."""

    phone: str
    at: datetime
    source: str
    note: str | None
    where: str


@dataclass(frozen=True)
class BulkResult:
    """What an import did: numbers opted out now, numbers that already were, and the
    campaigns whose live enrollment of an imported number ended."""

    added: int
    already: int
    ended: int


class BulkOptOutsMixin(StoreBase):
    def import_optouts(self, optouts: Sequence[BulkOptOut], now: datetime) -> BulkResult:
        """Opt every number out (one transaction); a number already opted out is kept.
        The serial moves only when something changed."""
        added = ended = 0
        with self._write(bump=False) as conn:
            for optout in optouts:
                source = SOURCES.get(optout.source.strip().lower(), "manual")
                parts = [f"imported from {optout.where}"]
                if source == "manual" and optout.source.strip().lower() != "manual":
                    parts.append(f"source {optout.source}")
                if optout.note:
                    parts.append(optout.note)
                note = "; ".join(parts)
                at = to_text(optout.at)
                cursor = conn.execute(
                    "INSERT INTO optouts (phone, at, source, note) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (phone) DO NOTHING",
                    [optout.phone, at, source, note],
                )
                if cursor.rowcount == 0:
                    continue
                added += 1
                conn.execute(
                    "INSERT INTO optout_history (phone, at, action, source, reason)"
                    " VALUES (?, ?, 'add', ?, ?)",
                    [optout.phone, at, source, note],
                )
                ended += len(end_live(conn, "phone = ?", [optout.phone], "opted_out", now))
            if added:  # a saved plan made before the import is refused
                conn.execute("UPDATE meta SET serial = serial + 1 WHERE id = 1")
        return BulkResult(added, len(optouts) - added, ended)
