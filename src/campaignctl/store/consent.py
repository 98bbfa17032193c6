"""Consent records and passed-over steps: the state's side of `sendWithin` and consent.

Consent (`consentSource`, `consentAt`) is kept in each enrollment's contact fields (a JSON
document in its `fields` column, on either backend): every path a contact takes into an
enrollment (a sync, the waiting list, a returning row) carries its fields, so it is never
lost on the way. This reads it back for `explain` and `consent export`, and records a step
passed over because it expired: the sequence goes on from the expiry.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from campaignctl.core.consent import CONSENT_AT, CONSENT_SOURCE
from campaignctl.store.codec import fields_from_json
from campaignctl.store.db import StoreBase, from_text, to_text

EXPORT_BATCH = 10_000  # enrollments read at a time by an export


@dataclass(frozen=True)
class ConsentRecord:
    """One enrollment's consent as kept with it (None where the contact had none)."""

    campaign: str
    phone: str
    status: str  # live, done, ended
    enrolled_at: datetime
    source: str | None  # where the contact is written, e.g. "contacts.csv:12:1"
    consent_source: str | None
    consent_at: str | None  # ISO 8601, UTC, as checked when the files were loaded


def _record(row: tuple[object, ...]) -> ConsentRecord:
    campaign, phone, status, enrolled_at, source, fields = row
    values = fields_from_json(str(fields))
    return ConsentRecord(
        campaign=str(campaign),
        phone=str(phone),
        status=str(status),
        enrolled_at=from_text(str(enrolled_at)),
        source=None if source is None else str(source),
        consent_source=values.get(CONSENT_SOURCE) or None,
        consent_at=values.get(CONSENT_AT) or None,
    )


_COLUMNS = "campaign, phone, status, enrolled_at, source, fields"


class ConsentMixin(StoreBase):
    """Consent as kept with the enrollments, and steps passed over (`expired`)."""

    def consent_of(self, phone: str) -> list[ConsentRecord]:
        """The consent kept with each enrollment of a number, oldest enrollment first."""
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM enrollments WHERE phone = ? ORDER BY enrolled_at, id",
                [phone],
            ).fetchall()
        return [_record(tuple(row)) for row in rows]

    def consent_records(self, campaign: str | None = None) -> Iterator[ConsentRecord]:
        """Every enrollment's consent (of one campaign, when given), in enrollment order,
        read EXPORT_BATCH at a time: a large state is never held whole."""
        last = 0
        where = "id > ?" + (" AND campaign = ?" if campaign is not None else "")
        while True:
            params: list[object] = [last] if campaign is None else [last, campaign]
            with self._read() as conn:
                rows = conn.execute(
                    f"SELECT id, {_COLUMNS} FROM enrollments WHERE {where}"
                    f" ORDER BY id LIMIT {EXPORT_BATCH}",
                    params,
                ).fetchall()
            for row in rows:
                yield _record(tuple(row)[1:])
            if len(rows) < EXPORT_BATCH:
                return
            last = int(rows[-1][0])

    def pass_over(
        self,
        campaign: str,
        phone: str,
        step: int,
        expired_at: datetime,
        next_wait_days: int | None,
        now: datetime,
    ) -> None:
        """A live enrollment's step expired (`sendWithin`): it counts as passed, nothing is
        sent, and the next step waits `next_wait_days` from `expired_at`; after the last
        step the sequence is done. No-op unless that step is the enrollment's next one."""
        key = [campaign, phone, step - 1]
        with self._write(fenced=True) as conn:
            if next_wait_days is None:
                conn.execute(
                    "UPDATE enrollments SET steps_sent = ?, status = 'done', ended_at = ?"
                    " WHERE campaign = ? AND phone = ? AND steps_sent = ? AND +status = 'live'",
                    [step, to_text(now), *key],
                )
            else:
                due = to_text(expired_at + timedelta(days=next_wait_days))
                conn.execute(  # its next moment: the wait from the expiry (store/due.py)
                    "UPDATE enrollments SET steps_sent = ?, next_due_at = ?, next_at = ?"
                    " WHERE campaign = ? AND phone = ? AND steps_sent = ? AND +status = 'live'",
                    [step, due, due, *key],
                )
