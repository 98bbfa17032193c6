"""The state in an SQLite file: opening it safely, and its connection (`SqliteConn`).

The state is precious (opt-outs, the credit ledger, what was sent), so opening is careful:
a file that is not a campaignctl database, is truncated, or was written by a newer
campaignctl is refused with one line and never touched; an older one is migrated.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from campaignctl.errors import StateError
from campaignctl.store import schema
from campaignctl.store.db import corrupt_text

SQLITE_MAGIC = b"SQLite format 3\x00"
HEADER_SIZE = 100
BUSY_TIMEOUT_SECONDS = 10.0
# the WAL is copied back into the file on a thread of the store's own after every this many
# commits (about 130 pages of a send-out's); a commit itself still does it past
# FALLBACK_PAGES (SQLite's default), when the writer never pauses long enough for the
# thread's checkpoint to catch up with it (the WAL starts over only once it has)
CHECKPOINT_COMMITS = 8
FALLBACK_PAGES = 1_000
LOW_SPACE_BYTES = 1 << 20  # below this, an I/O error while writing is taken as a full disk

# what SQLite and its driver raise on a damaged file: a name in the schema that is not UTF-8
# makes even the error message undecodable (UnicodeDecodeError instead of sqlite3.Error)
DATABASE_ERRORS = (sqlite3.Error, UnicodeDecodeError)
_UNDECODABLE = re.compile(r"Could not decode to UTF-8 column ('[^']*')")
_PRESENT = "temp.sync_present"
_BEGIN = {
    "read": "BEGIN",
    "scratch": "BEGIN",
    "write": "BEGIN IMMEDIATE",
    "lease": "BEGIN IMMEDIATE",
    "unflushed": "BEGIN IMMEDIATE",  # synchronous = NORMAL: no commit waits for the disk
}


class Checkpointer:
    """Copies the WAL back into the database file on a thread of its own, every
    CHECKPOINT_COMMITS commits of the store's writer, so that none of them waits for it.

    SQLite otherwise checkpoints inside the commit that takes the WAL past 1,000 pages,
    flushing the disk twice: in a send-out, tens of milliseconds every hundred messages,
    a fifth of what the engine spends on a message. A PASSIVE checkpoint never blocks the
    writer or a reader; the WAL starts over at the writer's next commit once one has
    copied all of it (a send-out's calls leave the time). One that fails (a full disk, a
    busy file) or falls behind is left to the writer's own, past FALLBACK_PAGES.

    The thread and its connection start at the first checkpoint due: a store that commits
    less often (a command, a webhook's request) never starts them."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._commits = 0
        self._due = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def committed(self) -> None:
        self._commits += 1
        if self._commits % CHECKPOINT_COMMITS:
            return
        if self._thread is None:
            try:
                conn = sqlite3.connect(
                    self._path.resolve().as_uri() + "?mode=rw",
                    uri=True,
                    isolation_level=None,
                    check_same_thread=False,
                    timeout=BUSY_TIMEOUT_SECONDS,
                )
            except sqlite3.Error:  # the writer's own checkpoint stands behind it
                return
            self._thread = threading.Thread(
                target=self._run, args=(conn,), name="campaignctl-checkpoint", daemon=True
            )
            self._thread.start()
        self._due.set()

    def stop(self) -> None:
        if self._thread is not None:
            self._stopping = True
            self._due.set()
            self._thread.join()
            self._thread = None

    def _run(self, conn: sqlite3.Connection) -> None:
        try:
            while True:
                self._due.wait()
                if self._stopping:
                    return
                self._due.clear()
                # one that fails: the writer's own checkpoint stands behind it
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            conn.close()


class SqliteConn(sqlite3.Connection):
    """An sqlite3 connection that is also the store's `Conn` (dialect.py): the shared SQL
    runs on it as written, at the driver's own speed."""

    path: Path | None = None  # None: an empty state in memory
    checkpointer: Checkpointer | None = None  # a state file open for writing has one

    def committed(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.committed()

    def close(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.stop()
            self.checkpointer = None
        super().close()

    def insert_rows(
        self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> None:
        names = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join("?" for _ in columns)
        self.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)

    def begin(self, kind: str) -> None:
        # IMMEDIATE takes the write lock at once: one writer at a time, no upgrade deadlock
        self.execute(_BEGIN[kind])

    def unflushed_one(self, sql: str, parameters: Sequence[Any]) -> Any:
        self.begin("unflushed")
        try:
            row = self.execute(sql, parameters).fetchone()
            self.execute("COMMIT")
        except BaseException:
            if self.in_transaction:
                self.execute("ROLLBACK")
            raise
        return row

    def limit_stalls(self, seconds: float) -> None:
        """Nothing: no server can end a frozen process's transaction; the busy timeout
        bounds how long another one waits for it."""

    def is_database_error(self, exc: BaseException) -> bool:
        return isinstance(exc, DATABASE_ERRORS)

    def lease_wait_ended(self, exc: BaseException | None) -> bool:
        return False  # a lease write waits the busy timeout, then is refused like any write

    def end_stalled_writers(self) -> list[str]:
        return []  # a file's lock cannot be taken from the process that holds it

    def describe(self, exc: BaseException) -> str:
        return _describe(self.path, exc)

    def refresh_statistics(self) -> None:
        """Nothing: without statistics SQLite's planner takes the indexes the queries were
        written for, which is what they need."""

    def present_start(self, keep: bool) -> None:
        self.execute(f"DROP TABLE IF EXISTS {_PRESENT}")
        if keep:  # a table of this connection only, never written to the file
            self.execute(f"CREATE TABLE {_PRESENT} (phone TEXT PRIMARY KEY) WITHOUT ROWID")

    def present_add(self, phones: Sequence[str]) -> None:
        self.executemany(
            f"INSERT INTO {_PRESENT} (phone) VALUES (?) ON CONFLICT DO NOTHING",
            ((p,) for p in phones),
        )

    def present_query(self) -> tuple[str, list[Any]]:
        return f"SELECT phone FROM {_PRESENT}", []

    def present_end(self) -> None:
        self.execute(f"DROP TABLE IF EXISTS {_PRESENT}")


def open_sqlite(path: Path | None, *, create: bool, read_only: bool) -> tuple[SqliteConn, bool]:
    """Connect (None: an empty state in memory), check identity and version, migrate if
    older. Returns (conn, read_only): a file that cannot be written opens read-only."""
    if path is not None:
        if path.exists():
            _check_file(path)
            read_only = read_only or not os.access(path, os.W_OK)
        elif not create:
            raise StateError(f"{path}: no state database here (the first apply creates it)")
        elif read_only:
            raise StateError(f"{path}: no state database here")
        else:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StateError(f"{path}: cannot create the state directory: {exc}") from exc
    try:
        conn = _connect(path, read_only)
    except DATABASE_ERRORS as exc:
        raise StateError(_describe(path, exc)) from exc
    try:
        schema.check_and_migrate(conn, path, read_only=read_only)
        if path is not None and not read_only:
            conn.execute(f"PRAGMA wal_autocheckpoint = {FALLBACK_PAGES}")
            conn.checkpointer = Checkpointer(path)
    except DATABASE_ERRORS as exc:
        conn.close()
        raise StateError(_describe(path, exc)) from exc
    except BaseException:
        conn.close()
        raise
    return conn, read_only


def _check_file(path: Path) -> None:
    """Refuse, before SQLite sees it, a file that is not a whole SQLite database."""
    if path.is_dir():
        raise StateError(f"{path}: is a directory, not a state database")
    size = path.stat().st_size
    if size == 0:
        return  # an empty file (e.g. touched): nothing to lose, initialised like a new one
    with path.open("rb") as handle:
        header = handle.read(HEADER_SIZE)
    if len(header) < HEADER_SIZE or not header.startswith(SQLITE_MAGIC):
        raise StateError(
            f"{path}: not a campaignctl state database (not an SQLite file); "
            "refusing to use or overwrite it"
        )
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    change_counter, pages, valid_for = header[24:28], header[28:32], header[92:96]
    wal = path.with_name(path.name + "-wal")
    has_wal = wal.exists() and wal.stat().st_size > 0
    if page_size < 512 or (not has_wal and size % page_size):
        raise StateError(f"{path}: the state database is corrupt (bad size); restore a backup")
    if not has_wal and change_counter == valid_for:
        expected = int.from_bytes(pages, "big") * page_size
        if expected > size:
            raise StateError(
                f"{path}: the state database is truncated ({size} of {expected} bytes); "
                "restore a backup"
            )


def _connect(path: Path | None, read_only: bool) -> SqliteConn:
    if path is None:
        target, uri = ":memory:", False
    elif read_only:
        target, uri = _read_only_uri(path), True
    else:
        target, uri = path.resolve().as_uri() + "?mode=rwc", True
    conn = sqlite3.connect(
        target,
        uri=uri,
        isolation_level=None,  # transactions are explicit: BEGIN IMMEDIATE for writes
        check_same_thread=False,  # the webhook server shares a store between threads
        timeout=BUSY_TIMEOUT_SECONDS,
        factory=SqliteConn,
    )
    conn.path = path
    try:  # the first statements read the schema: a damaged one fails here
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        # WAL + NORMAL: a commit survives a crash of the process (the intent-before-send
        # guarantee); only a power cut can lose the last transactions.
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA cache_size = -65536")  # 64 MiB: a million-row state stays warm
    except BaseException:
        conn.close()
        raise
    return conn


def _read_only_uri(path: Path) -> str:
    """`mode=ro`; also `immutable=1` when SQLite could not create the -shm file it needs to
    read a WAL database (a read-only mount or directory, nothing to replay from a -wal):
    nothing written through this path can change the file while it is read."""
    real = path.resolve()
    query = "?mode=ro"
    shm, wal = real.with_name(real.name + "-shm"), real.with_name(real.name + "-wal")
    has_wal = wal.exists() and wal.stat().st_size > 0
    if not shm.exists() and not has_wal and not os.access(real.parent, os.W_OK):
        query += "&immutable=1"
    return real.as_uri() + query


def _low_on_space(path: Path | None) -> bool:
    if path is None:
        return False
    try:
        return shutil.disk_usage(path.resolve().parent).free < LOW_SPACE_BYTES
    except OSError:
        return False


def _describe(path: Path | None, exc: BaseException) -> str:
    where = str(path) if path is not None else "state"
    if isinstance(exc, UnicodeDecodeError):  # SQLite's message names bytes that are not text
        return corrupt_text(where, "a name in its schema is not UTF-8 text")
    text = str(exc)
    undecodable = _UNDECODABLE.match(text)
    if undecodable:  # the driver's message quotes the bytes themselves: name the column only
        return corrupt_text(where, f"column {undecodable.group(1)} holds text that is not UTF-8")
    if "disk is full" in text or ("disk I/O error" in text and _low_on_space(path)):
        return (
            f"{where}: the disk holding the state database is full; free some space and run "
            "again (everything recorded before is kept)"
        )
    if "readonly" in text or "read-only" in text:
        return f"{where}: the state database is read-only; this command needs to write to it"
    if "locked" in text or "busy" in text:
        return f"{where}: the state database is busy (locked by another process); try again"
    damaged = "malformed" in text or "not a database" in text or "corrupt" in text
    if damaged and not isinstance(exc, sqlite3.OperationalError):
        return corrupt_text(where, text)
    return f"{where}: state database error: {text}"
