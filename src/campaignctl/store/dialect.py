"""The connection every store query runs on, whichever database holds the state.

The mixins hold ONE implementation of the store's queries, written in the SQL both SQLite
and PostgreSQL speak (`?` placeholders, `RETURNING id`, `ON CONFLICT`, `CASE` rather than
sums of booleans). A connection (sqlite.py's `SqliteConn`, postgres.py's `PgConn`) runs them
and owns what cannot be shared:

    how a transaction begins    a write serialises writers (SQLite: BEGIN IMMEDIATE;
                                PostgreSQL: the `meta` row locked FOR UPDATE); a read is one
                                consistent snapshot (PostgreSQL: REPEATABLE READ, READ ONLY)
    the few spellings that differ  translated by PgConn in one place (postgres.py)
    the numbers of a group being synced  a temporary table of the connection (SQLite), or
                                rows keyed by this sync in an unlogged table (PostgreSQL,
                                where a pooling proxy may hand each transaction another
                                session)
    what an error means         one line naming the state (the URL masked)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol


class Cursor(Protocol):
    """What a query returns: rows to fetch or iterate, and how many rows it changed."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Conn(Protocol):
    """A connection to the state, as the store's mixins use it."""

    @property
    def in_transaction(self) -> bool: ...

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Cursor: ...

    def insert_rows(
        self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> None:
        """Insert many rows at once, the fastest way this database has (a bulk load)."""

    def close(self) -> None: ...

    def begin(self, kind: str) -> None:
        """Begin a transaction: "read" (one consistent snapshot), "write" (one writer at a
        time, the serial's row held), "lease" (a write that waits for the other writer no
        longer than the stall limit), "unflushed" (a write of rows that are not the state's,
        the outbox provider's: not serialised with the writers, and its commit need not be
        on the disk when it returns, the next durable commit puts it there and a crash
        before that loses it) or "scratch" (a read that may fill the sync table)."""

    def committed(self) -> None:
        """After each write's commit (SQLite counts them to checkpoint its WAL apart)."""

    def unflushed_one(self, sql: str, parameters: Sequence[Any]) -> Any:
        """One statement in an "unflushed" transaction of its own (see `begin`): begun, run
        and committed together (PostgreSQL sends the three at once, one round trip); its
        first row. On an error nothing of it is kept."""

    def limit_stalls(self, seconds: float) -> None:
        """How long a write of this connection may wait on its client, or a lease write on
        another writer, before the database ends it (where a server can)."""

    def is_database_error(self, exc: BaseException) -> bool:
        """True for what this database's driver raises (refused in one line by `describe`)."""

    def lease_wait_ended(self, exc: BaseException | None) -> bool:
        """True when a lease write stopped waiting for another writer at the stall limit
        (see `limit_stalls`): the lease is not to be had yet, and may be later."""

    def end_stalled_writers(self) -> list[str]:
        """End the other sessions that hold the state's writes and have been waiting on
        their client for longer than the stall limit (frozen in the middle of a write: in a
        transaction, or in a statement or a batch the server still counts as running), where
        the database can; what was ended, one phrase a session."""

    def describe(self, exc: BaseException) -> str:
        """The one line that says what went wrong, naming the state (a URL masked)."""

    def refresh_statistics(self) -> None:
        """After a bulk load: let the query planner see the tables as they now are."""

    # the numbers of the group being synced (stream.py), kept by the database
    def present_start(self, keep: bool) -> None: ...

    def present_add(self, phones: Sequence[str]) -> None: ...

    def present_query(self) -> tuple[str, list[Any]]:
        """A subquery of the numbers marked present, and its parameters."""

    def present_end(self) -> None: ...


IN_CHUNK = 500  # keys looked up in one statement, by default


def in_chunks(
    conn: Conn, sql: str, head: Sequence[object], keys: Sequence[object], size: int = IN_CHUNK
) -> Iterator[Any]:
    """The rows of `sql` (ending in `IN ({marks})`, after the parameters `head`) for these
    keys, `size` keys a statement."""
    for start in range(0, len(keys), size):
        chunk = keys[start : start + size]
        yield from conn.execute(sql.format(marks=", ".join("?" * len(chunk))), [*head, *chunk])
