"""What a forecast reads beyond a snapshot: the row order of the live enrollments.

The planner considers due enrollments oldest due first, and among those due at the same
instant in the order of their rows (the order they were enrolled in). A forecast runs the
planner for months on a snapshot in memory, where enrollments sent at the same tick fall
due together again: it needs that order to hand them over as the state would.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from campaignctl.store.db import StoreBase
from campaignctl.store.protocols import SnapshotReader


@runtime_checkable
class ForecastReader(SnapshotReader, Protocol):
    """What a forecast reads: the groups already synced, snapshots, and the row order of
    the live enrollments (app.forecast)."""

    def live_order(self) -> dict[tuple[str, str], int]: ...


class ForecastMixin(StoreBase):
    def live_order(self) -> dict[tuple[str, str], int]:
        """(campaign, phone) -> the row id of each live enrollment."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT campaign, phone, id FROM enrollments WHERE status = 'live'"
            ).fetchall()
        return {(str(campaign), str(phone)): int(row_id) for campaign, phone, row_id in rows}
