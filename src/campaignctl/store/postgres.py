"""The state in a PostgreSQL database: its connection (`PgConn`) and opening it.

The URL's credentials, or libpq's own (PGHOST, PGUSER, PGPASSWORD..., ~/.pgpass), are given
to psycopg as they are; nothing here prints them: every message names the database by its
masked URL, and driver messages are masked too.

Nothing holds a session between transactions: no session advisory lock, no temporary table,
no prepared statement (psycopg's automatic ones are off), so the state works behind a
transaction-pooling proxy. Writers are serialised by the `meta` row, locked FOR UPDATE as
each write transaction begins, as SQLite's BEGIN IMMEDIATE serialises them.

A process frozen inside a write (stopped, its machine paused, cut off between two
statements) would keep that row locked, and every other writer waiting, for as long as it
stays frozen: a standby could never take over from a stalled leader. So every write
transaction tells the server to end it once it has waited on its client longer than the
connection's stall limit (`idle_in_transaction_session_timeout`, set in the transaction, so
a pooling proxy carries it too), and a lease write waits for the row no longer than that
(`lock_timeout`). The limit is a third of the lease's time to live once the store holds or
takes a lease (`limit_stalls`), so a frozen holder's transaction ends well before its lease
expires; DEFAULT_STALL_SECONDS before that. The store's own writes never wait on their
client: their statements follow one another.

The server ends only a transaction idle between statements, its idle timer started by each
statement's end (Sync) and stopped by any message that follows. A process frozen in the
middle of a batch (executemany's pipeline, whose queries end with one Sync; a COPY) leaves
its session running, reading from its client; one frozen just after a pipeline leaves it
idle with no timer (psycopg follows the pipeline's Sync with a flush request when results
are still on their way). No limit of the server applies to either. A process taking the
lease, once it is free to take and such a writer kept the row through a whole stall limit,
ends that session (`end_stalled_writers`, `pg_terminate_backend`: campaignctl's own
sessions of the same role, or any with pg_signal_backend).
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import secrets
import time
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg import errors
from psycopg.pq import TransactionStatus

from campaignctl.errors import StateError
from campaignctl.store import pg_schema
from campaignctl.store.db import wall_text
from campaignctl.store.location import mask, mask_urls

CONNECT_TIMEOUT_SECONDS = 10
STALE_SYNC_SECONDS = 7 * 86400  # rows of a sync that died this long ago are cleared

DEFAULT_STALL_SECONDS = 20.0  # a third of the default lease's time to live (60 s)

_BEGIN: dict[str, tuple[str, ...]] = {
    "read": ("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",),
    "scratch": ("BEGIN ISOLATION LEVEL READ COMMITTED",),
    "write": (
        "BEGIN ISOLATION LEVEL READ COMMITTED",
        "SELECT serial FROM meta WHERE id = 1 FOR UPDATE",  # waits for the writer before
    ),
}
_BEGIN["lease"] = _BEGIN["write"]
# rows that are not the state's (the outbox provider's): not serialised with the writers
_BEGIN["unflushed"] = ("BEGIN ISOLATION LEVEL READ COMMITTED",)
# the stall limits each kind of transaction sets, in its first statement (one round trip)
_LIMITS: dict[str, tuple[str, ...]] = {
    "write": ("idle_in_transaction_session_timeout",),
    "lease": ("idle_in_transaction_session_timeout", "lock_timeout"),
    "unflushed": ("idle_in_transaction_session_timeout",),
}
# what else a kind sets for itself alone, in the same statement: an unflushed write's commit
# does not wait for its WAL to reach the disk (the next durable commit takes it there)
_LOCAL: dict[str, tuple[str, ...]] = {"unflushed": ("SET LOCAL synchronous_commit = off",)}

# campaignctl's other sessions that hold the state's writes (the `meta` row is locked FOR
# UPDATE as each begins: the table's RowShareLock) and wait on their client, idle in their
# transaction or in the middle of a statement or a batch (a pipeline's next query, a COPY's
# next rows), their transaction older than the stall limit: each ended, and told
_END_STALLED = """
SELECT activity.pid, host(activity.client_addr), activity.state = 'active',
       extract(epoch FROM clock_timestamp() - activity.xact_start)::float8,
       extract(epoch FROM clock_timestamp() - activity.state_change)::float8,
       pg_terminate_backend(activity.pid)
FROM pg_stat_activity AS activity
WHERE activity.pid <> pg_backend_pid()
  AND activity.datname = current_database()
  AND activity.application_name = 'campaignctl'
  AND activity.xact_start < clock_timestamp() - make_interval(secs => %s / 1000.0)
  AND (activity.state LIKE 'idle in transaction%%'
       OR (activity.state = 'active' AND activity.wait_event = 'ClientRead'))
  AND activity.pid IN (
      SELECT pid FROM pg_locks
      WHERE locktype = 'relation' AND relation = 'meta'::regclass
        AND mode = 'RowShareLock' AND granted)
"""

# The SQLite spellings the shared queries use that PostgreSQL has under another name; every
# other statement runs as written (after `?` becomes `%s`).
_REWRITES = (
    (re.compile(r"\+status\b"), "status"),  # SQLite's "look this up by another index"
    (re.compile(r" INDEXED BY \w+"), ""),  # SQLite's "look this up by that index"
    (re.compile(r"\bmax\(([^(),]+),([^(),]+)\)"), r"greatest(\1,\2)"),  # max of two values
)


@functools.lru_cache(maxsize=512)
def translate(sql: str) -> str:
    """A shared statement as PostgreSQL takes it."""
    for pattern, replacement in _REWRITES:
        sql = pattern.sub(replacement, sql)
    return sql.replace("%", "%%").replace("?", "%s")


class PgConn:
    """A psycopg connection (autocommit: transactions are begun explicitly) that is the
    store's `Conn` (dialect.py)."""

    def __init__(self, conn: psycopg.Connection[Any], where: str) -> None:
        self._conn = conn
        self.where = where
        self._sync: str | None = None
        self._stall_ms = _milliseconds(DEFAULT_STALL_SECONDS)

    @property
    def in_transaction(self) -> bool:
        return self._conn.info.transaction_status != TransactionStatus.IDLE

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> psycopg.Cursor[Any]:
        return self._conn.execute(translate(sql), parameters)

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> psycopg.Cursor[Any]:
        cursor = self._conn.cursor()
        cursor.executemany(translate(sql), parameters)
        return cursor

    def insert_rows(
        self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> None:
        # COPY: one statement for the batch (statement triggers fire once), no per-row round
        names = ", ".join(f'"{c}"' for c in columns)
        with self._conn.cursor().copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def close(self) -> None:
        self._conn.close()

    def begin(self, kind: str) -> None:
        opening, rest = self._opening(kind)
        # without parameters, one simple query: the limits cost no round trip of their own
        self._conn.execute("; ".join(opening))
        for statement in rest:
            self._conn.execute(statement)

    def _opening(self, kind: str) -> tuple[list[str], list[str]]:
        """The statements that begin a transaction of this kind: those that can go in its
        first query (BEGIN, its limits), then the others."""
        first, *rest = _BEGIN[kind]
        limits = [f"SET LOCAL {name} = {self._stall_ms}" for name in _LIMITS.get(kind, ())]
        return [first, *limits, *_LOCAL.get(kind, ())], rest

    def committed(self) -> None:
        """Nothing: the server checkpoints."""

    def unflushed_one(self, sql: str, parameters: Sequence[Any]) -> Any:
        opening, rest = self._opening("unflushed")
        try:
            # a pipeline: one statement a query (no simple query of several), one round trip
            with self._conn.pipeline():
                for statement in [*opening, *rest]:
                    self._conn.execute(statement)
                cursor = self.execute(sql, parameters)
                self._conn.execute("COMMIT")
        except BaseException:
            if self.in_transaction:
                with contextlib.suppress(psycopg.Error):
                    self._conn.execute("ROLLBACK")
            raise
        return cursor.fetchone()

    def limit_stalls(self, seconds: float) -> None:
        self._stall_ms = _milliseconds(seconds)

    def is_database_error(self, exc: BaseException) -> bool:
        return isinstance(exc, psycopg.Error)

    def lease_wait_ended(self, exc: BaseException | None) -> bool:
        return isinstance(exc, errors.LockNotAvailable)

    def end_stalled_writers(self) -> list[str]:
        try:
            rows = self._conn.execute(_END_STALLED, [self._stall_ms]).fetchall()
        except errors.InsufficientPrivilege:  # another role's: the server's own limits alone
            return []
        return [
            f"server session {pid} (client {client or 'local'}, its transaction {age:.1f}s"
            f" old, {'in the middle of a batch' if running else 'idle'} for {still:.1f}s)"
            for pid, client, running, age, still, ended in rows
            if ended
        ]

    def describe(self, exc: BaseException) -> str:
        return describe(self.where, exc)

    def refresh_statistics(self) -> None:
        # autovacuum would analyze a bulk-loaded table, but only after its next naptime and
        # threshold: until then the planner knows nothing of its rows
        self.execute("ANALYZE")

    def present_start(self, keep: bool) -> None:
        self.present_end()
        stale = wall_text(time.time() - STALE_SYNC_SECONDS)
        self.execute("DELETE FROM sync_present WHERE sync < ?", [stale])  # keys start with time
        if keep:
            self._sync = f"{wall_text(time.time())} {os.getpid()} {secrets.token_hex(6)}"

    def present_add(self, phones: Sequence[str]) -> None:
        self.executemany(
            "INSERT INTO sync_present (sync, phone) VALUES (?, ?) ON CONFLICT DO NOTHING",
            ((self._sync, p) for p in phones),
        )

    def present_query(self) -> tuple[str, list[Any]]:
        return "SELECT phone FROM sync_present WHERE sync = ?", [self._sync]

    def present_end(self) -> None:
        if self._sync is not None:
            self.execute("DELETE FROM sync_present WHERE sync = ?", [self._sync])
            self._sync = None


def _milliseconds(seconds: float) -> int:
    return max(1, round(seconds * 1000))  # 0 would turn the limit off


def describe(where: str, exc: BaseException) -> str:
    """One line for what the server or the driver said; a URL in it masked."""
    text = mask_urls(str(exc)).strip()
    detail = text.splitlines()[0].strip() if text else type(exc).__name__
    if isinstance(exc, errors.InsufficientPrivilege):
        return (
            f"{where}: permission denied ({detail}); this role cannot do what the command "
            "needs (a read-only role can run only the commands that read)"
        )
    if isinstance(exc, errors.ReadOnlySqlTransaction):
        return f"{where}: the state database is read-only; this command needs to write to it"
    if isinstance(exc, errors.SerializationFailure | errors.DeadlockDetected):
        return f"{where}: the state database is busy (a concurrent change conflicted); try again"
    if isinstance(exc, errors.LockNotAvailable | errors.QueryCanceled):
        return f"{where}: the state database is busy (locked by another process); try again"
    lowered = text.lower()
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        return (
            f"{where}: authentication failed for this user; check the password (in the URL, "
            "PGPASSWORD or ~/.pgpass)"
        )
    if (
        "does not exist" in lowered
        and "database" in lowered
        and isinstance(exc, psycopg.OperationalError)
    ):
        return f"{where}: the database does not exist; create it first (createdb)"
    if "connection refused" in lowered or "could not connect" in lowered:
        return (
            f"{where}: cannot connect to the PostgreSQL server (connection refused); is it "
            "running, and are the host and port right?"
        )
    if isinstance(exc, psycopg.OperationalError):
        return f"{where}: cannot use the PostgreSQL server ({detail})"
    return f"{where}: state database error: {detail}"


def _connect(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(
        url,
        autocommit=True,  # transactions are explicit (PgConn.begin)
        prepare_threshold=None,  # no prepared statements: a pooling proxy may switch sessions
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        application_name="campaignctl",
    )


def open_postgres(url: str, *, create: bool, read_only: bool) -> tuple[PgConn, bool]:
    """Connect, check the schema is campaignctl's and not newer, create or migrate it.
    Returns (conn, read_only): a role that may not write, or a standby, opens read-only."""
    where = mask(url)
    try:
        raw = _connect(url)
    except psycopg.Error as exc:
        raise StateError(describe(where, exc)) from None
    try:
        pg_schema.check_and_migrate(raw, url, where, create=create, read_only=read_only)
        row = raw.execute(
            "SELECT pg_is_in_recovery() OR NOT has_table_privilege('meta', 'UPDATE')"
        ).fetchone()
        read_only = read_only or bool(row and row[0])
    except psycopg.Error as exc:
        raw.close()
        raise StateError(describe(where, exc)) from None
    except BaseException:
        raw.close()
        raise
    return PgConn(raw, where), read_only


def has_state(url: str) -> bool:
    """True when the database holds a campaignctl schema (an empty one holds no state yet);
    StateError when it cannot be reached or holds something else."""
    where = mask(url)
    try:
        with _connect(url) as raw:
            return pg_schema.applied(raw, where) is not None
    except psycopg.Error as exc:
        raise StateError(describe(where, exc)) from None
