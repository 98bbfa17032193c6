"""What a forecast reads beyond a snapshot: the live enrollments it can send to, in the order
of their rows.

The planner considers due enrollments oldest due first, and among those due at the same
instant in the order of their rows (the order they were enrolled in). A forecast runs the
planner for months on a snapshot in memory, where enrollments sent at the same tick fall
due together again: it needs that order to hand them over as the state would.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple, Protocol, runtime_checkable

from campaignctl.core.types import Enrollment
from campaignctl.store.codec import ENROLLMENT_COLUMNS, enrollment_from_row
from campaignctl.store.db import StoreBase, from_text, to_text
from campaignctl.store.protocols import SnapshotReader
from campaignctl.store.snapshot import in_flight, last_sent_of


class Upcoming(NamedTuple):
    """The live enrollments due before an instant, read in one transaction: the state's
    serial, each enrollment with its row id (next moment first, then row id, as the
    planner takes them; none with a message in flight), the last message to each of their
    numbers, and the next moment of those a tick reads only after their wait (row id ->
    `next_at`: deferred to a window, the 30-day gap; core/nextdue.py)."""

    serial: int
    due: list[tuple[int, Enrollment]]
    last_sent: dict[str, datetime]
    moments: dict[int, datetime]


@runtime_checkable
class ForecastReader(SnapshotReader, Protocol):
    """What a forecast reads: the groups already synced, snapshots, and the live
    enrollments due before the end of its horizon with their row ids (app.forecast)."""

    def upcoming(self, end: datetime) -> Upcoming: ...


class ForecastMixin(StoreBase):
    def upcoming(self, end: datetime) -> Upcoming:
        """The live enrollments due at `end` or before, as a snapshot at `end` holds them
        (`Snapshot.due`), with their row ids, their numbers' last sends and their next
        moments (never before their wait)."""
        moment = "coalesce(next_at, next_due_at)"
        due: list[tuple[int, Enrollment]] = []
        moments: dict[int, datetime] = {}
        with self._read() as conn:
            serial = int(conn.execute("SELECT serial FROM meta WHERE id = 1").fetchone()[0])
            waiting = in_flight(conn)
            for row in conn.execute(
                f"SELECT id, next_at, {ENROLLMENT_COLUMNS} FROM enrollments WHERE status = 'live'"
                f" AND next_due_at <= ? AND {moment} <= ? ORDER BY {moment}, id",
                [to_text(end), to_text(end)],
            ):
                if (row[2], row[3]) in waiting:
                    continue
                enrollment = enrollment_from_row(row[2:])
                due.append((int(row[0]), enrollment))
                if row[1] is not None and row[1] > row[6]:  # later than its wait
                    moments[int(row[0])] = from_text(row[1])
            last_sent = last_sent_of(conn, {enrollment.phone for _, enrollment in due})
        return Upcoming(serial, due, last_sent, moments)
