"""The state: SQLite through sqlite-utils, versioned migrations, WAL.

`Store.open(path)` is the only way in. It is assembled from one mixin per concern:

    snapshot.py  the planner's one read          lease.py     one applier at a time
    stream.py    a streamed apply's batch reads
    writes.py    campaigns, enrollments, runs     sends.py     intents and outcomes
    commands.py  credits, opt-outs, suspend,      queries.py   status, explain, ledger
                 outbox                           inbound.py   webhook events, one
                                                               transaction each

Consumers are typed with the narrow protocols of protocols.py (a reader, an apply writer, a
lease holder, a ledger...), which `Store` implements; a second backend implements them too.
"""

from __future__ import annotations

import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from campaignctl.store.commands import CommandsMixin
from campaignctl.store.db import DamagedValue, LeaseHeld, WallClock
from campaignctl.store.inbound import InboundMixin
from campaignctl.store.lease import LeaseMixin
from campaignctl.store.protocols import (
    ApplyStore,
    ApplyWriter,
    BatchStore,
    Commands,
    ExplainReader,
    HistoryReader,
    InFlight,
    LeaseHolder,
    Ledger,
    OptOuts,
    OutboxReader,
    SnapshotReader,
    StatusReader,
    Suspension,
    WaitingReader,
)
from campaignctl.store.queries import QueriesMixin
from campaignctl.store.records import (
    AttemptRecord,
    CampaignStatusRow,
    EnrollmentRecord,
    HistoryEvent,
    LedgerEntry,
    OptOutRecord,
    OutboxRecord,
)
from campaignctl.store.sends import SendBlocked, SendsMixin
from campaignctl.store.snapshot import SnapshotMixin
from campaignctl.store.stream import DueBatch, StreamMixin, SyncFacts, SyncStart
from campaignctl.store.writes import WritesMixin

__all__ = [
    "ApplyStore",
    "ApplyWriter",
    "AttemptRecord",
    "BatchStore",
    "CampaignStatusRow",
    "Commands",
    "DueBatch",
    "EnrollmentRecord",
    "ExplainReader",
    "HistoryEvent",
    "HistoryReader",
    "InFlight",
    "LeaseHeld",
    "LeaseHolder",
    "Ledger",
    "LedgerEntry",
    "OptOutRecord",
    "OptOuts",
    "OutboxReader",
    "OutboxRecord",
    "SendBlocked",
    "SnapshotReader",
    "StatusReader",
    "Store",
    "Suspension",
    "SyncFacts",
    "SyncStart",
    "WaitingReader",
]


class Store(
    SnapshotMixin,
    StreamMixin,
    LeaseMixin,
    WritesMixin,
    SendsMixin,
    CommandsMixin,
    InboundMixin,
    QueriesMixin,
):
    """The campaignctl state database. Thread-safe; use as a context manager."""

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        create: bool = True,
        read_only: bool = False,
        wall_clock: WallClock = time.time,
    ) -> Store:
        """Open (creating it and its directory when create) the state at `path`.

        Refuses, with one StateError line and without touching the file: a file that is not
        a campaignctl database, a truncated or corrupt one, one with a newer schema. An
        older schema is migrated. A file that cannot be written opens read-only: reads
        work, writes raise StateError. wall_clock drives the lease (never `--now`).
        """
        path = Path(path)
        conn, read_only = cls._open_connection(path, create=create, read_only=read_only)
        return cls(conn, path, read_only=read_only, wall_clock=wall_clock)

    @classmethod
    def open_for_reading(cls, path: Path) -> Store:
        """The state at `path` for a read-only command; an empty state (in memory, nothing
        created on disk) when there is no file yet."""
        path = Path(path)
        if path.exists():
            return cls.open(path, create=False)
        conn, _ = cls._open_connection(None, create=True, read_only=False)
        return cls(conn, None, read_only=False, wall_clock=time.time)

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
        if isinstance(exc, DamagedValue) and exc.where is None:  # decoded outside a read
            raise exc.located(self.path) from None


if TYPE_CHECKING:
    from campaignctl.providers.outbox import OutboxTable

    def _implements_every_protocol(store: Store) -> None:
        """Never called: mypy checks here that a Store is what each consumer asks for (the
        composite protocols cover the others)."""
        apply: ApplyStore = store
        commands: Commands = store
        explain: ExplainReader = store
        ledger: Ledger = store
        status: StatusReader = store
        outbox: OutboxTable = store
        del apply, commands, explain, ledger, status, outbox
