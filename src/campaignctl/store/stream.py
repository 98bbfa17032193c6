"""The reads of a streamed apply: the facts one batch of a group needs, and the due
enrollments a batch at a time, so neither a large group nor a long queue is held whole.

    start = store.sync_start("spring-buyers")          # what the state holds already
    facts = store.sync_facts("spring-buyers", phones, start)  # per batch of the group
    store.mark_present(phones)                          # numbers of the group read so far
    store.live_absent("spring-buyers")                  # live, but no longer in the group
    for batch in store.due_batches(now, 20_000, last_id): ...
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime

from campaignctl.core.types import Enrollment
from campaignctl.store.codec import enrollment_from_row
from campaignctl.store.db import StoreBase, to_text
from campaignctl.store.dialect import Conn
from campaignctl.store.snapshot import (
    CHUNK,
    ENROLLMENT_COLUMNS,
    in_flight,
    last_sent_of,
    live_rows,
)
from campaignctl.store.waitlist import returning_of


@dataclass(frozen=True)
class SyncStart:
    """What the state held when a campaign's sync began."""

    enrolled: int  # enrollments of the campaign, live or ended
    others_live: int  # live enrollments of every other campaign
    sent: bool  # a message went to some number before (else no number has a last send)
    present: bool  # the numbers of the group are kept (`mark_present`, `live_absent`)


@dataclass(frozen=True)
class SyncFacts:
    """What one batch of a group needs from the state."""

    enrolled: frozenset[str]  # numbers of the batch this campaign enrolled (live or ended)
    live_owner: dict[str, str]  # number -> the campaign holding it live
    # of those, the enrollments that ended `removed`: a row that is back continues from it
    returning: dict[str, Enrollment] = field(default_factory=dict)


@dataclass(frozen=True)
class DueBatch:
    enrollments: list[tuple[Enrollment, bool]]  # each due enrollment; True: enrolled now
    last_sent: dict[str, datetime]  # the last message to each of their numbers


def _in_chunks(
    conn: Conn, sql: str, head: Sequence[object], phones: Sequence[str]
) -> Iterator[tuple[object, ...]]:
    """Run `sql` (ending in `IN ({marks})`) for the phones, CHUNK at a time."""
    for start in range(0, len(phones), CHUNK):
        chunk = phones[start : start + CHUNK]
        marks = ",".join("?" * len(chunk))
        yield from conn.execute(sql.format(marks=marks), [*head, *chunk])


def _first_owners(conn: Conn, phones: Sequence[str]) -> dict[str, str]:
    """number -> the campaign holding it live (the first to enroll it), for these numbers."""
    owner: dict[str, str] = {}
    first: dict[str, tuple[str, int]] = {}
    for phone, holder, enrolled_at, row_id in live_rows(conn, set(phones)):
        seen_first = first.get(phone)
        if seen_first is None or (enrolled_at, row_id) < seen_first:
            first[phone] = (enrolled_at, row_id)
            owner[phone] = holder
    return owner


class StreamMixin(StoreBase):
    def sync_start(self, campaign: str, *, present: bool) -> SyncStart:
        """Begin a campaign's sync: counts of what the state holds; with `present`, an empty
        set of the group's numbers (a temporary table of this connection), to find the
        live enrollments that left the group."""
        with self._read("scratch") as conn:
            conn.present_start(present)
        with self._read() as conn:
            enrolled, live = conn.execute(
                "SELECT count(*), coalesce(sum(CASE WHEN status = 'live' THEN 1 ELSE 0 END), 0)"
                " FROM enrollments"
                " WHERE campaign = ?",
                [campaign],
            ).fetchone()
            total_live = conn.execute(
                "SELECT coalesce(sum(live_count), 0) FROM campaigns"
            ).fetchone()[0]
            sent = conn.execute("SELECT 1 FROM phones LIMIT 1").fetchone() is not None
        return SyncStart(int(enrolled), int(total_live) - int(live), sent, present)

    def last_enrollment_id(self) -> int:
        """The highest enrollment id: the enrollments made after this call have higher ones."""
        with self._read() as conn:
            return int(conn.execute("SELECT coalesce(max(id), 0) FROM enrollments").fetchone()[0])

    def sync_facts(
        self, campaign: str, phones: Sequence[str], start: SyncStart, maybe_met: Sequence[str]
    ) -> SyncFacts:
        """The facts of one batch: which of its numbers this campaign enrolled (before this
        sync, or earlier in it: only `maybe_met` can be, when it enrolled no one before),
        and the campaign holding each number live (the first to enroll it)."""
        with self._read() as conn:
            removed: list[str] = []
            found: list[str] = []
            for phone, status, end_reason in _in_chunks(
                conn,
                "SELECT phone, status, end_reason FROM enrollments"
                " WHERE campaign = ? AND phone IN ({marks})",
                (campaign,),
                phones if start.enrolled else maybe_met,
            ):
                found.append(str(phone))
                if status == "ended" and end_reason == "removed":
                    removed.append(str(phone))
            enrolled = frozenset(found)
            returning = returning_of(conn, campaign, removed) if removed else {}
            # else only this campaign holds numbers: none refused
            owner = _first_owners(conn, phones) if start.others_live else {}
        return SyncFacts(enrolled, owner, returning)

    def live_owners(self, phones: Sequence[str]) -> dict[str, str]:
        """The campaign holding each of these numbers live (the first to enroll it)."""
        with self._read() as conn:
            return _first_owners(conn, phones)

    def live_enrollments_of(self, phone: str) -> list[Enrollment]:
        """The live enrollments of one number, as the planner sees them (any campaign)."""
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {ENROLLMENT_COLUMNS} FROM enrollments"
                " WHERE phone = ? AND +status = 'live' ORDER BY id",
                [phone],
            ).fetchall()
        return [enrollment_from_row(row) for row in rows]

    def last_sent_of(self, phones: AbstractSet[str]) -> dict[str, datetime]:
        """The last message to each of these numbers that was ever sent one."""
        with self._read() as conn:
            return last_sent_of(conn, phones)

    def mark_present(self, phones: Sequence[str]) -> None:
        """Remember numbers of the group being synced (for `sync_facts` and `live_absent`)."""
        with self._read("scratch") as conn:
            conn.present_add(phones)

    def live_absent(self, campaign: str) -> list[str]:
        """Numbers the campaign holds live that its group no longer has, in number order."""
        with self._read() as conn:
            present, params = conn.present_query()
            rows = conn.execute(
                "SELECT phone FROM enrollments WHERE campaign = ? AND status = 'live'"
                f" AND phone NOT IN ({present}) ORDER BY phone",
                [campaign, *params],
            ).fetchall()
        return [str(r[0]) for r in rows]

    def live_phones(self, campaign: str, size: int) -> Iterator[list[str]]:
        """The numbers the campaign holds live, `size` at a time (each batch read when
        asked for): what a plan, which marks nothing present, finds left its group."""
        after = ""
        while True:
            with self._read() as conn:
                rows = conn.execute(
                    "SELECT phone FROM enrollments WHERE campaign = ? AND status = 'live'"
                    " AND phone > ? ORDER BY phone LIMIT ?",
                    [campaign, after, size],
                ).fetchall()
            if not rows:
                return
            after = str(rows[-1][0])
            yield [str(row[0]) for row in rows]

    def sync_end(self) -> None:
        with self._read("scratch") as conn:
            conn.present_end()

    def due_batches(self, now: datetime, size: int, last_id: int) -> Iterator[DueBatch]:
        """The live enrollments due at `now`, oldest due first (the snapshot's order), `size`
        at a time, each batch read when asked for: sends recorded between batches move their
        enrollments out of the range. Those with an attempt in flight are left out; those
        with an id above `last_id` are marked enrolled now."""
        at = to_text(now)
        with self._read() as conn:
            waiting = in_flight(conn)
        after: tuple[str, int] = ("", 0)
        while True:
            with self._read() as conn:
                rows = conn.execute(
                    f"SELECT next_due_at, id, {ENROLLMENT_COLUMNS} FROM enrollments"
                    " WHERE status = 'live' AND next_due_at <= ? AND (next_due_at, id) > (?, ?)"
                    " ORDER BY next_due_at, id LIMIT ?",
                    [at, after[0], after[1], size],
                ).fetchall()
                if not rows:
                    return
                after = (rows[-1][0], rows[-1][1])
                due = [
                    (enrollment_from_row(row[2:]), row[1] > last_id)
                    for row in rows
                    if (row[2], row[3]) not in waiting
                ]
                last_sent = last_sent_of(conn, {e.phone for e, _ in due})
            yield DueBatch(due, last_sent)
