"""The reads of a streamed apply: the facts one batch of a group needs, and the due
enrollments a batch at a time, so neither a large group nor a long queue is held whole.

    start = store.sync_start("spring-buyers")          # what the state holds already
    facts = store.sync_facts("spring-buyers", phones, start)  # per batch of the group
    store.mark_present(phones)                          # numbers of the group read so far
    store.live_absent("spring-buyers")                  # live, but no longer in the group
    for batch in store.due_batches(now, 20_000, last_id): ...     # every one due by its wait
    for batch in store.next_batches(now, 20_000, last_id, planning.is_used): ...  # a tick's
    store.later_counts(now, last_id)   # those due by their wait whose next moment is to come
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any

from campaignctl.core.types import Enrollment
from campaignctl.store.codec import ENROLLMENT_COLUMNS, enrollment_from_row
from campaignctl.store.db import StoreBase, to_text
from campaignctl.store.dialect import Conn, in_chunks
from campaignctl.store.due import (
    START,
    Key,
    campaign_page,
    count_after,
    key_of,
    live_campaigns,
    new_rows,
    waiting_later,
)
from campaignctl.store.snapshot import (
    CHUNK,
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
    # campaign -> its due enrollments left unread since the last batch (`next_batches`)
    unread: dict[str, int] = field(default_factory=dict)


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


FIRST_BATCH = 1024  # due enrollments a tick reads first (then twice as many, up to its batch)


class StreamMixin(StoreBase):
    due_read = 0  # rows of due enrollments read by `next_batches`, since the store opened

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
            for phone, status, end_reason in in_chunks(
                conn,
                "SELECT phone, status, end_reason FROM enrollments"
                " WHERE campaign = ? AND phone IN ({marks})",
                (campaign,),
                phones if start.enrolled else maybe_met,
                CHUNK,
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
                    f"SELECT id, next_due_at, {ENROLLMENT_COLUMNS} FROM enrollments"
                    " WHERE status = 'live' AND next_due_at <= ? AND (next_due_at, id) > (?, ?)"
                    " ORDER BY next_due_at, id LIMIT ?",
                    [at, after[0], after[1], size],
                ).fetchall()
                if not rows:
                    return
                after = (rows[-1][1], rows[-1][0])
                batch = self._due_batch(conn, rows, waiting, last_id)
            yield batch

    def next_batches(
        self,
        now: datetime,
        size: int,
        last_id: int,
        used: Callable[[str], bool],
        ended: Mapping[str, Sequence[str]] | None = None,
    ) -> Iterator[DueBatch]:
        """What a tick reads: the live enrollments whose next moment has come at `now`, in
        the planner's order (store/due.py), a batch at a time (FIRST_BATCH, then twice as
        many each time up to `size`), each read when asked for. A campaign that `used` says
        can send nothing more is not read any further; then the enrollments made by this
        apply (id above `last_id`), all of them, in the order they were made, marked
        enrolled now. Those with an attempt in flight are left out. The due enrollments of
        a campaign left unread are counted in the index (`DueBatch.unread`), but for those
        of the numbers `ended` lists by campaign (a plan that ends them writes nothing)."""
        at = to_text(now)
        with self._read() as conn:
            waiting = in_flight(conn)
            cursors: dict[str, Key] = dict.fromkeys(live_campaigns(conn), START)
        limit = min(FIRST_BATCH, size)
        while cursors:
            with self._read() as conn:
                unread = {}
                for name in [name for name in cursors if used(name)]:
                    cursor = cursors.pop(name)
                    unread[name] = count_after(conn, name, at, cursor, last_id)
                    if ended and ended.get(name):
                        unread[name] -= count_after(conn, name, at, cursor, last_id, ended[name])
                pages = {  # none when every campaign left is spent
                    name: campaign_page(conn, name, at, after, limit, last_id)
                    for name, after in cursors.items()
                }
                self.due_read += sum(len(page) for page in pages.values())
                rows = list(islice(heapq.merge(*pages.values(), key=key_of), limit))
                for row in rows:
                    cursors[row[2]] = key_of(row)
                for name, page in pages.items():  # read to its end
                    if len(page) < limit and (not page or cursors[name] == key_of(page[-1])):
                        del cursors[name]
                batch = self._due_batch(conn, rows, waiting, last_id, unread)
            if rows or unread:
                yield batch
            limit = min(limit * 2, size)
        after = last_id
        while True:
            with self._read() as conn:
                rows = new_rows(conn, at, after, size)
                if not rows:
                    return
                self.due_read += len(rows)
                after = rows[-1][0]
                batch = self._due_batch(conn, rows, waiting, last_id)
            yield batch

    def later_counts(self, now: datetime, upto: int) -> dict[tuple[str, str], int]:
        """(campaign, rule) -> its live enrollments (ids up to `upto`) due by their wait whose
        next moment is to come: counted in their own index, not read (store/due.py)."""
        with self._read() as conn:
            return waiting_later(conn, to_text(now), upto)

    @staticmethod
    def _due_batch(
        conn: Conn,
        rows: list[Any],
        waiting: AbstractSet[tuple[str, str]],
        last_id: int,
        unread: dict[str, int] | None = None,
    ) -> DueBatch:
        """Rows (id, a moment, then ENROLLMENT_COLUMNS) as a batch for the planner: those
        with an attempt in flight left out, those above `last_id` marked enrolled now."""
        due = [
            (enrollment_from_row(row[2:]), row[0] > last_id)
            for row in rows
            if (row[2], row[3]) not in waiting
        ]
        return DueBatch(due, last_sent_of(conn, {e.phone for e, _ in due}), unread or {})
