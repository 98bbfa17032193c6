"""The transactions every store method runs in, on either database, and the stored forms of
instants and the refusals of damaged values that both share."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from campaignctl.core.instants import EARLIEST, STORED_LATEST
from campaignctl.errors import StateError
from campaignctl.store.dialect import Conn

WallClock = Callable[[], float]


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


@lru_cache(maxsize=1024)
def to_text(at: datetime) -> str:
    """The one stored form of an instant: UTC, microseconds, `Z` (sorts as text). Kept for
    the instants met last: a send one call at a time writes five, four of them met before
    (equal instants have one form, whatever their zone)."""
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


class StoreBase:
    """The connection, its lock, and the read/write transactions the store methods use."""

    path: Path

    def __init__(
        self,
        conn: Conn,
        path: Path | None,
        *,
        read_only: bool,
        wall_clock: WallClock,
        where: str | None = None,
    ) -> None:
        self._conn = conn
        self.path = path if path is not None else Path(":memory:")
        # how messages name the state: the file, "state" in memory, or the masked URL
        self.where = where or (str(path) if path is not None else "state")
        self.read_only = read_only
        self._lock = threading.RLock()
        self._wall = wall_clock
        self._lease_token: int | None = None

    def close(self) -> None:
        with self._lock:
            if self._lease_token is not None:
                # expired and taken over, or the file went read-only: nothing to free
                with contextlib.suppress(StateError):
                    self._release_held_lease()
            self._conn.close()

    def _release_held_lease(self) -> None:
        raise NotImplementedError  # provided by the lease mixin

    def _refusal(self, exc: BaseException) -> StateError:
        """The one-line StateError for what went wrong reading or writing the state."""
        if isinstance(exc, DamagedValue):
            return exc.located(self.where)
        return StateError(self._conn.describe(exc))

    # ------------------------------------------------------------------ transactions

    @contextmanager
    def _refusing(self) -> Iterator[None]:
        """What the database raises, and a damaged stored value, as the one-line
        StateError that names the state (`_refusal`)."""
        try:
            yield
        except Exception as exc:
            if isinstance(exc, DamagedValue) or self._conn.is_database_error(exc):
                raise self._refusal(exc) from exc
            raise

    def _check_writable(self) -> None:
        if self.read_only:
            raise StateError(
                f"{self.where}: the state database is read-only; this command needs to write to it"
            )

    @contextmanager
    def _read(self, kind: str = "read") -> Iterator[Conn]:
        """One consistent read snapshot over several queries ("scratch": one that may also
        fill the table of numbers being synced)."""
        with self._lock, self._refusing():
            try:
                self._conn.begin(kind)
                yield self._conn
            finally:
                if self._conn.in_transaction:
                    self._conn.execute("COMMIT")

    @contextmanager
    def _write(
        self, *, fenced: bool = False, bump: bool = True, kind: str = "write"
    ) -> Iterator[Conn]:
        """A write transaction: one writer at a time, every read in it sees the latest.

        fenced: the apply's writes; checked against the lease in the same transaction.
        bump: increase the serial, so a saved plan made before this change is refused.
        kind: "lease" for the lease's own writes (see Conn.begin).
        """
        with self._lock:
            self._check_writable()
            with self._refusing():
                try:
                    # begun inside: a beginning refused half-way (a lease write that waited
                    # out the stall limit) leaves no transaction open on the connection
                    self._conn.begin(kind)
                    if fenced:
                        self._check_fence()
                    yield self._conn
                    if bump:
                        self._conn.execute("UPDATE meta SET serial = serial + 1 WHERE id = 1")
                    self._conn.execute("COMMIT")
                    self._conn.committed()
                except BaseException:
                    if self._conn.in_transaction:
                        # a connection the server ended (a stalled writer's) cannot roll
                        # back: what ended it is the error to tell
                        with contextlib.suppress(Exception):
                            self._conn.execute("ROLLBACK")
                    raise

    def _write_one(self, sql: str, parameters: Sequence[Any]) -> Any:
        """One statement of rows that are not the state's, in an "unflushed" transaction of
        its own (Conn.begin), begun and committed with it in one round trip; its first row."""
        with self._lock:
            self._check_writable()
            with self._refusing():
                row = self._conn.unflushed_one(sql, parameters)
                self._conn.committed()
                return row

    def _check_fence(self) -> None:
        """Inside a write: the lease must still be ours (or, holding none, be free)."""
        holder, token, expires_at = self._conn.execute(
            "SELECT holder, token, expires_at FROM lease WHERE id = 1"
        ).fetchone()
        if self._lease_token is not None:
            if holder is None or token != self._lease_token:
                now_held = f"now held by {holder} (token {token})" if holder else "now free"
                raise StateError(
                    f"{self.where}: lost the lease (token {self._lease_token}; {now_held}): "
                    "another process took over after it expired; stopping without writing"
                )
        elif holder is not None and expires_at > self._wall():
            raise LeaseHeld(
                f"{self.where}: {holder} holds the apply lease until "
                f"{wall_text(expires_at)}; acquire the lease before applying"
            )

    @property
    def serial(self) -> int:
        with self._lock:
            try:
                row = self._conn.execute("SELECT serial FROM meta WHERE id = 1").fetchone()
            except Exception as exc:
                if self._conn.is_database_error(exc):
                    raise self._refusal(exc) from exc
                raise
            return int(row[0])

    @staticmethod
    def _monotonic() -> float:
        return time.monotonic()
