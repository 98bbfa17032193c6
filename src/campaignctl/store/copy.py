"""Moving a whole state to another database (`campaignctl state copy SRC DST`): SQLite to
PostgreSQL and back, or same to same.

Everything the state holds is copied as it is, ids kept (a status callback names its attempt
by id): campaigns, enrollments, the last send to each number, attempts, the ledger, opt-outs
and their history, runs, decisions, webhook events, the outbox, the replies and their
forwards, and the serial, the balance and the suspension of `meta`. The lease is not: the copy starts free, its token at zero.
The page's summary rows (store/summary.py) are not copied but counted again from the rows
copied, in the same transaction (on PostgreSQL its triggers stand aside meanwhile).

The source is read in one snapshot, a batch at a time in key order (a million enrollments
never sit in memory), and refused when its tables are not exactly the ones this code
writes. The destination must hold no state yet; everything is written in one transaction
there, then read back and compared (rows and a digest per table) before it commits, so a
copy is either whole and verified or not there at all. On PostgreSQL the identity
sequences then continue after the copied ids.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from campaignctl.errors import StateError
from campaignctl.store.dialect import Conn
from campaignctl.store.location import StateArg, parse_state
from campaignctl.store.sqlite import SqliteConn
from campaignctl.store.summary import SUMMARY_REBUILD, rebuild_summary
from campaignctl.store.summary import TABLES as SUMMARY_TABLES

BATCH_ROWS = 5000


@dataclass(frozen=True)
class Table:
    """A copied table: its key (the order rows are read and digested in) and columns."""

    name: str
    key: str
    columns: tuple[str, ...]
    identity: bool = False  # an id PostgreSQL generates: its sequence follows the copy

    @property
    def column_list(self) -> str:
        return ", ".join(f'"{c}"' for c in self.columns)


def _table(name: str, key: str, columns: str, *, identity: bool = False) -> Table:
    return Table(name, key, tuple(columns.split()), identity)


# in the order rows may be inserted (a row's references come before it)
TABLES = (
    _table("campaigns", "name", "name status reason launch group_digest live_count created_at"
           " updated_at launched_at config_error"),
    _table("enrollments", "id", "id campaign phone status end_reason steps_sent last_sent_at"
           " next_due_at enrolled_at ended_at fields zones us_state source next_at next_why",
           identity=True),
    _table("phones", "phone", "phone last_sent_at"),
    _table("attempts", "id", "id campaign phone step body segments credits sender_key provider"
           " status provider_id error_code detail billed_segments delivery_status created_at"
           " updated_at", identity=True),
    _table("ledger", "id", "id at amount note attempt_id", identity=True),
    _table("optouts", "phone", "phone at source note"),
    _table("optout_history", "id", "id phone at action source reason", identity=True),
    _table("runs", "id", "id at plan_digest counts serial", identity=True),
    _table("decisions", "id", "id at last_at repeats campaign phone type step reason until"
           " detail"),
    _table("webhook_events", "message_sid", "message_sid at"),
    _table("outbox", "id", "id attempt_id at campaign to sender step body"),
    _table("review_holds", "id", "id phone since text verdict decided_at decision reason",
           identity=True),
    _table("wrong_numbers", "phone", "phone at text verdict"),
    _table("replies", "id", "id received_at phone sender body message_sid campaign step did"
           " keyword", identity=True),
    _table("reply_forwards", "reply_id", "reply_id attempts next_attempt_at last_attempt_at"
           " last_error forwarded_at forwarded_to"),
    _table("waiting", "id", "id phone campaign digest since fields zones us_state source free",
           identity=True),
)  # fmt: skip
META_COLUMNS = (
    "serial", "balance", "suspended_reason", "suspended_at", "config_dir_name", "config_dir_path"
)  # fmt: skip
# what else a state's database holds, never copied: the lease, the numbers of a sync under
# way (PostgreSQL), the schema's own bookkeeping, what the last syncs read (the copy's next
# sync of each group reads it whole) and the summary (counted again instead)
NOT_COPIED = {"meta", "lease", "sync_present", "_sqlite_migrations", "_yoyo_migration",
              "_yoyo_log", "_yoyo_version", "yoyo_lock", "synced_groups", "synced_blocks",
              *SUMMARY_TABLES}  # fmt: skip

Progress = Callable[[str, int, int], None]
"""Told (table, rows copied so far, rows in it) as each batch is written."""


@dataclass
class TableDigest:
    """How many rows a table has, and a SHA-256 of them in key order."""

    rows: int = 0
    _hash: Any = field(default_factory=hashlib.sha256, repr=False)

    def add(self, row: tuple[Any, ...]) -> None:
        self.rows += 1
        self._hash.update(json.dumps(list(row), separators=(",", ":")).encode())
        self._hash.update(b"\n")

    @property
    def hexdigest(self) -> str:
        return str(self._hash.hexdigest())


@dataclass(frozen=True)
class CopyReport:
    """What a copy moved: rows per table, and meta's serial and balance."""

    tables: dict[str, int]
    serial: int
    balance: int
    digests: dict[str, str]


def _columns(conn: Conn, table: str) -> list[str]:
    if isinstance(conn, SqliteConn):
        rows = conn.execute("SELECT name FROM pragma_table_info(?)", [table]).fetchall()
    else:
        rows = conn.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = ?",
            [table],
        ).fetchall()
    return [str(r[0]) for r in rows]


def _tables(conn: Conn) -> set[str]:
    if isinstance(conn, SqliteConn):
        sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
    else:
        sql = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
    return {str(r[0]) for r in conn.execute(sql).fetchall()}


def check_schema(conn: Conn, where: str) -> None:
    """Refuse a state whose tables or columns are not the ones this code writes (edited by
    hand, or damaged): what it holds could not be copied whole."""
    expected = {t.name: set(t.columns) for t in TABLES}
    present = _tables(conn)
    missing = sorted(set(expected) - present)
    extra = sorted(present - set(expected) - NOT_COPIED)
    if missing or extra:
        detail = f"missing table {missing[0]}" if missing else f"unknown table {extra[0]}"
        raise StateError(
            f"{where}: the state's schema differs from this campaignctl's ({detail}); "
            "refusing to copy it"
        )
    for name, columns in expected.items():
        found = set(_columns(conn, name))
        if found != columns:
            odd = sorted(columns ^ found)[0]
            raise StateError(
                f"{where}: the state's schema differs from this campaignctl's (column "
                f"{name}.{odd}); refusing to copy it"
            )


def holds_state(conn: Conn) -> str | None:
    """The first table of a state that holds rows (None: nothing to lose by copying in)."""
    for table in TABLES:
        if conn.execute(f"SELECT 1 FROM {table.name} LIMIT 1").fetchone() is not None:
            return table.name
    row = conn.execute("SELECT balance, suspended_reason FROM meta WHERE id = 1").fetchone()
    if row is not None and (row[0] or row[1] is not None):
        return "meta"
    return None


def read_batches(
    conn: Conn, table: Table, batch_rows: int = BATCH_ROWS
) -> Iterator[list[tuple[Any, ...]]]:
    """The rows of a table in key order, batch_rows at a time (keyset paging: each batch
    starts after the last key of the one before)."""
    select = f"SELECT {table.column_list} FROM {table.name}"
    order = f' ORDER BY "{table.key}" LIMIT {int(batch_rows)}'
    key_at = table.columns.index(table.key)
    rows = [tuple(r) for r in conn.execute(select + order).fetchall()]
    while rows:
        yield rows
        if len(rows) < batch_rows:
            return
        after = rows[-1][key_at]
        rows = [
            tuple(r)
            for r in conn.execute(f'{select} WHERE "{table.key}" > ?{order}', [after]).fetchall()
        ]


def digest_table(conn: Conn, table: Table, batch_rows: int = BATCH_ROWS) -> TableDigest:
    digest = TableDigest()
    for batch in read_batches(conn, table, batch_rows):
        for row in batch:
            digest.add(row)
    return digest


def _meta(conn: Conn) -> tuple[Any, ...]:
    row = conn.execute(f"SELECT {', '.join(META_COLUMNS)} FROM meta WHERE id = 1").fetchone()
    return tuple(row)


def copy_rows(
    source: Conn, destination: Conn, progress: Progress | None, batch_rows: int
) -> dict[str, TableDigest]:
    """Copy every table, batch by batch, inside the transactions the caller holds on both;
    the digests of what was read."""
    digests: dict[str, TableDigest] = {}
    for table in TABLES:
        total = int(source.execute(f"SELECT count(*) FROM {table.name}").fetchone()[0])
        digest = digests[table.name] = TableDigest()
        if progress is not None:
            progress(table.name, 0, total)
        for batch in read_batches(source, table, batch_rows):
            destination.insert_rows(table.name, table.columns, batch)
            for row in batch:
                digest.add(row)
            if progress is not None:
                progress(table.name, digest.rows, total)
    return digests


def finish_meta(destination: Conn, meta: tuple[Any, ...]) -> None:
    """Meta as the source has it (the ledger's inserts added to the balance: it is set, not
    summed), and, on PostgreSQL, each identity sequence continuing after the copied ids."""
    assignments = ", ".join(f"{c} = ?" for c in META_COLUMNS)
    destination.execute(f"UPDATE meta SET {assignments} WHERE id = 1", list(meta))
    if isinstance(destination, SqliteConn):
        return  # an INTEGER PRIMARY KEY continues after the largest id by itself
    for table in TABLES:
        if table.identity:
            destination.execute(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), max(id))"
                f" FROM {table.name} HAVING max(id) IS NOT NULL"
            )


def verify(
    destination: Conn,
    digests: dict[str, TableDigest],
    meta: tuple[Any, ...],
    where: str,
    batch_rows: int = BATCH_ROWS,
) -> None:
    """Read the copy back and compare it with what was read from the source."""
    for table in TABLES:
        copied = digest_table(destination, table, batch_rows)
        wanted = digests[table.name]
        if (copied.rows, copied.hexdigest) != (wanted.rows, wanted.hexdigest):
            raise StateError(
                f"{where}: the copy of {table.name} differs from the source ({copied.rows} "
                f"rows read back, {wanted.rows} copied); nothing was kept"
            )
    if _meta(destination) != meta:
        raise StateError(f"{where}: the copy's serial or balance differs; nothing was kept")


def copy_state(
    source: Conn,
    destination: Conn,
    *,
    source_where: str,
    destination_where: str,
    progress: Progress | None = None,
    batch_rows: int = BATCH_ROWS,
) -> CopyReport:
    """Copy, inside a read transaction held on `source` and a write transaction held on
    `destination` (the caller commits when this returns)."""
    check_schema(source, source_where)
    check_schema(destination, destination_where)
    holding = holds_state(destination)
    if holding is not None:
        raise StateError(
            f"{destination_where}: the destination already holds a state ({holding} is not "
            "empty); copy into a new file or an empty database"
        )
    meta = _meta(source)
    if not isinstance(destination, SqliteConn):  # no summary trigger for a row copied
        destination.execute("SELECT set_config(?, 'on', true)", [SUMMARY_REBUILD])
    digests = copy_rows(source, destination, progress, batch_rows)
    finish_meta(destination, meta)
    rebuild_summary(destination)
    verify(destination, digests, meta, destination_where, batch_rows)
    destination.refresh_statistics()
    return CopyReport(
        tables={name: d.rows for name, d in digests.items()},
        serial=int(meta[0]),
        balance=int(meta[1]),
        digests={name: d.hexdigest for name, d in digests.items()},
    )


def copy_between(
    source: StateArg,
    destination: StateArg,
    progress: Progress | None = None,
    *,
    batch_rows: int = BATCH_ROWS,
) -> CopyReport:
    """Open both states (the source read-only, never migrated; the destination created if
    it does not exist) and copy one to the other. A destination file this made is removed
    again when the copy fails."""
    from campaignctl.store import Store  # the package imports this module's siblings

    src, dst = parse_state(source), parse_state(destination)
    made = dst.path if dst.path is not None and not dst.path.exists() else None
    try:
        with (
            Store.open(src, create=False, read_only=True) as reader,
            Store.open(dst) as writer,
            reader._read() as inside,
            writer._write(bump=False) as outside,
        ):
            return copy_state(
                inside, outside, source_where=reader.where, destination_where=writer.where,
                progress=progress, batch_rows=batch_rows,
            )  # fmt: skip
    except BaseException:
        if made is not None:
            for leftover in (made, *(made.with_name(made.name + s) for s in ("-wal", "-shm"))):
                leftover.unlink(missing_ok=True)
        raise
