"""The state: an SQLite file (sqlite-utils migrations, WAL), or a PostgreSQL database
(yoyo-migrations), behind the same queries.

`Store.open(path_or_url)` is the only way in. It is assembled from one mixin per concern:

    snapshot.py  the planner's one read          lease.py     one applier at a time
    stream.py    a streamed apply's batch reads   waitlist.py  the numbers campaigns wait for
    writes.py    campaigns, enrollments, runs     sends.py     intents and outcomes
    commands.py  credits, opt-outs, suspend,      queries.py   status, explain, ledger
                 outbox                           inbound.py   webhook events, one
    replies.py   the replies kept, and their                   transaction each
                 forwards' outbox
    dashboard.py the status page's counts                      transaction each
    consent.py   consent kept with the enrollments; steps passed over (sendWithin)

Consumers are typed with the narrow protocols of protocols.py (a reader, an apply writer, a
lease holder, a ledger...), which `Store` implements. The mixins run one implementation of
their SQL on a connection that speaks for its database (dialect.py; sqlite.py, postgres.py).
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import TYPE_CHECKING

from campaignctl.store.commands import CommandsMixin
from campaignctl.store.consent import ConsentMixin, ConsentRecord
from campaignctl.store.dashboard import DashboardMixin
from campaignctl.store.db import DamagedValue, LeaseHeld, WallClock
from campaignctl.store.forecast import ForecastMixin, ForecastReader
from campaignctl.store.inbound import InboundMixin
from campaignctl.store.lease import LeaseMixin
from campaignctl.store.location import StateArg, StateLocation, mask, parse_state
from campaignctl.store.optout_bulk import BulkOptOutsMixin
from campaignctl.store.owner import ConfigOwner, OwnerMixin
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
from campaignctl.store.replies import RepliesMixin
from campaignctl.store.review import ReviewMixin
from campaignctl.store.sends import SendBlocked, SendsMixin
from campaignctl.store.snapshot import SnapshotMixin
from campaignctl.store.sqlite import open_sqlite
from campaignctl.store.stream import DueBatch, StreamMixin, SyncFacts, SyncStart
from campaignctl.store.synced import SyncedRowsMixin
from campaignctl.store.waitlist import WaitlistMixin
from campaignctl.store.writes import WritesMixin

__all__ = [
    "ApplyStore",
    "ApplyWriter",
    "AttemptRecord",
    "BatchStore",
    "CampaignStatusRow",
    "Commands",
    "ConfigOwner",
    "ConsentRecord",
    "DueBatch",
    "EnrollmentRecord",
    "ExplainReader",
    "ForecastReader",
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
    "StateArg",
    "StateLocation",
    "StatusReader",
    "Store",
    "Suspension",
    "SyncFacts",
    "SyncStart",
    "WaitingReader",
    "mask",
]


class Store(
    SnapshotMixin,
    StreamMixin,
    SyncedRowsMixin,
    WaitlistMixin,
    LeaseMixin,
    WritesMixin,
    SendsMixin,
    CommandsMixin,
    InboundMixin,
    QueriesMixin,
    ReviewMixin,
    BulkOptOutsMixin,
    RepliesMixin,
    OwnerMixin,
    ForecastMixin,
    DashboardMixin,
    ConsentMixin,
):
    """The campaignctl state database. Thread-safe; use as a context manager."""

    @classmethod
    def open(
        cls,
        path: StateArg,
        *,
        create: bool = True,
        read_only: bool = False,
        wall_clock: WallClock = time.time,
    ) -> Store:
        """Open the state at `path`: an SQLite file (created, with its directory, when
        create) or a `postgresql://` URL (its schema created when create).

        Refuses, with one StateError line and without touching it: a file or database that
        is not a campaignctl state, a truncated or corrupt file, a newer schema. An older
        schema is migrated. A state that cannot be written opens read-only: reads work,
        writes raise StateError. wall_clock drives the lease (never `--now`).
        """
        location = parse_state(path)
        if location.url is not None:
            from campaignctl.store.postgres import open_postgres  # psycopg only when asked

            conn, read_only = open_postgres(location.url, create=create, read_only=read_only)
            return cls(conn, None, read_only=read_only, wall_clock=wall_clock,
                       where=location.shown)  # fmt: skip
        assert location.path is not None
        sqlite, read_only = open_sqlite(location.path, create=create, read_only=read_only)
        return cls(sqlite, location.path, read_only=read_only, wall_clock=wall_clock)

    @classmethod
    def open_for_reading(cls, path: StateArg) -> Store:
        """The state at `path` for a read-only command; an empty state (in memory, nothing
        created) when there is no file, or no schema in the database, yet."""
        location = parse_state(path)
        if location.url is not None:
            from campaignctl.store.postgres import has_state

            if has_state(location.url):
                return cls.open(location, create=False)
        elif location.path is not None and location.path.exists():
            return cls.open(location, create=False)
        conn, _ = open_sqlite(None, create=True, read_only=False)
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
            raise exc.located(self.where) from None


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
