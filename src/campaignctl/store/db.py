"""Opening the state database safely, and the transactions every store method runs in.

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
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from campaignctl.core.instants import EARLIEST, STORED_LATEST
from campaignctl.errors import StateError
from campaignctl.store import schema

SQLITE_MAGIC = b"SQLite format 3\x00"
HEADER_SIZE = 100
BUSY_TIMEOUT_SECONDS = 10.0
LOW_SPACE_BYTES = 1 << 20  # below this, an I/O error while writing is taken as a full disk

WallClock = Callable[[], float]

# what SQLite and its driver raise on a damaged file: a name in the schema that is not UTF-8
# makes even the error message undecodable (UnicodeDecodeError instead of sqlite3.Error)
DATABASE_ERRORS = (sqlite3.Error, UnicodeDecodeError)
_UNDECODABLE = re.compile(r"Could not decode to UTF-8 column ('[^']*')")


class LeaseHeld(StateError):
    """Another process holds the apply lease."""


def corrupt_text(where: str | None, detail: str) -> str:
    """The one line that refuses a damaged state."""
    prefix = f"{where}: " if where is not None else ""
    return f"{prefix}the state database is corrupt ({detail}); restore a backup"


class DamagedValue(StateError):
    """A value in the state that campaignctl cannot have written (an instant that cannot
    be read or lies out of range, broken JSON): the file was damaged or edited by hand.
    The decoders raise it without the file's name (they see one value); the store gives it
    the name before it reaches a user, and nothing decoded from it is ever acted on."""

    def __init__(self, detail: str, where: str | None = None) -> None:
        super().__init__(corrupt_text(where, detail))
        self.detail = detail
        self.where = where

    def located(self, where: Path | str) -> DamagedValue:
        return self if self.where is not None else DamagedValue(self.detail, str(where))


def shown(value: object) -> str:
    """A stored value as an error shows it: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def to_text(at: datetime) -> str:
    """The one stored form of an instant: UTC, microseconds, `Z` (sorts as text)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_text(text: str) -> datetime:
    """A stored instant; DamagedValue if it cannot be read, has no offset, or lies outside
    what a command can have written (EARLIEST to STORED_LATEST)."""
    try:
        value = datetime.fromisoformat(text)
    except (TypeError, ValueError):  # not text (a blob, a number), or not an instant
        raise DamagedValue(f"the stored instant {shown(text)} cannot be read") from None
    if value.tzinfo is None:
        raise DamagedValue(f"the stored instant {shown(text)} has no UTC offset")
    if not EARLIEST <= value < STORED_LATEST:
        raise DamagedValue(f"the stored instant {shown(text)} is out of range")
    return value


def opt_from_text(text: str | None) -> datetime | None:
    return None if text is None else from_text(text)


def wall_text(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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


def _connect(path: Path | None, read_only: bool) -> sqlite3.Connection:
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
    )
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


def _describe(path: Path | None, exc: Exception) -> str:
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


def _refusal(path: Path | None, exc: Exception) -> StateError:
    """The one-line StateError for what went wrong reading or writing the state at path."""
    if isinstance(exc, DamagedValue):
        return exc.located(path if path is not None else "state")
    return StateError(_describe(path, exc))


class StoreBase:
    """The connection, its lock, and the read/write transactions the store methods use."""

    path: Path

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path | None,
        *,
        read_only: bool,
        wall_clock: WallClock,
    ) -> None:
        self._conn = conn
        self._path = path
        self.path = path if path is not None else Path(":memory:")
        self.read_only = read_only
        self._lock = threading.RLock()
        self._wall = wall_clock
        self._lease_token: int | None = None

    # ------------------------------------------------------------------ opening

    @classmethod
    def _open_connection(
        cls, path: Path | None, *, create: bool, read_only: bool
    ) -> tuple[sqlite3.Connection, bool]:
        """Connect, check identity and version, migrate if older. Returns (conn, read_only)."""
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
            raise _refusal(path, exc) from exc
        try:
            schema.check_and_migrate(conn, path, read_only=read_only)
        except DATABASE_ERRORS as exc:
            conn.close()
            raise _refusal(path, exc) from exc
        except BaseException:
            conn.close()
            raise
        return conn, read_only

    def close(self) -> None:
        with self._lock:
            if self._lease_token is not None:
                # expired and taken over, or the file went read-only: nothing to free
                with contextlib.suppress(StateError):
                    self._release_held_lease()
            self._conn.close()

    def _release_held_lease(self) -> None:
        raise NotImplementedError  # provided by the lease mixin

    # ------------------------------------------------------------------ transactions

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One consistent read snapshot (a deferred transaction) over several queries."""
        with self._lock:
            try:
                self._conn.execute("BEGIN")
                try:
                    yield self._conn
                finally:
                    if self._conn.in_transaction:
                        self._conn.execute("COMMIT")
            except (*DATABASE_ERRORS, DamagedValue) as exc:
                raise _refusal(self._path, exc) from exc

    @contextmanager
    def _write(self, *, fenced: bool = False, bump: bool = True) -> Iterator[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE: one writer at a time, no upgrade deadlock).

        fenced: the apply's writes; checked against the lease in the same transaction.
        bump: increase the serial, so a saved plan made before this change is refused.
        """
        with self._lock:
            if self.read_only:
                raise StateError(
                    f"{self.path}: the state database is read-only; "
                    "this command needs to write to it"
                )
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    if fenced:
                        self._check_fence()
                    yield self._conn
                    if bump:
                        self._conn.execute("UPDATE meta SET serial = serial + 1 WHERE id = 1")
                    self._conn.execute("COMMIT")
                except BaseException:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                    raise
            except (*DATABASE_ERRORS, DamagedValue) as exc:
                raise _refusal(self._path, exc) from exc

    def _check_fence(self) -> None:
        """Inside a write: the lease must still be ours (or, holding none, be free)."""
        holder, token, expires_at = self._conn.execute(
            "SELECT holder, token, expires_at FROM lease WHERE id = 1"
        ).fetchone()
        if self._lease_token is not None:
            if holder is None or token != self._lease_token:
                now_held = f"now held by {holder} (token {token})" if holder else "now free"
                raise StateError(
                    f"{self.path}: lost the lease (token {self._lease_token}; {now_held}): "
                    "another process took over after it expired; stopping without writing"
                )
        elif holder is not None and expires_at > self._wall():
            raise LeaseHeld(
                f"{self.path}: {holder} holds the apply lease until "
                f"{wall_text(expires_at)}; acquire the lease before applying"
            )

    @property
    def serial(self) -> int:
        with self._lock:
            try:
                row = self._conn.execute("SELECT serial FROM meta WHERE id = 1").fetchone()
            except DATABASE_ERRORS as exc:
                raise _refusal(self._path, exc) from exc
            return int(row[0])

    @staticmethod
    def _monotonic() -> float:
        return time.monotonic()
