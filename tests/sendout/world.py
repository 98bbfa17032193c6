"""The send-out tests' world: the fault suite's repo and emulator (tests/faults/world.py),
with a provider that answers after Twilio's usual latency, and the apply run in this
process with the real Twilio provider."""

from __future__ import annotations

import random
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from campaignctl.app.apply import apply_now
from campaignctl.app.executor import ApplyOptions, ApplyReport
from campaignctl.app.plan import Planned
from campaignctl.clock import Clock
from campaignctl.emulator import TwilioEmulator
from campaignctl.providers.twilio import TwilioProvider
from campaignctl.store import Store
from tests.faults.audit import audit
from tests.faults.world import ACCOUNT_SID, AUTH_TOKEN, phones

LATENCY = 0.15  # seconds: Twilio's usual answer to a create from a US host


class RunningClock:
    """The real passing of time, from a chosen start: an apply that takes as long as it
    takes, at a moment of the test's choosing. Safe to read from several threads."""

    def __init__(self, start: datetime) -> None:
        self.start = start.astimezone(UTC)
        self._began = time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self._began)


def twilio(emulator: TwilioEmulator, clock: Clock, timeout: float = 5.0) -> TwilioProvider:
    return TwilioProvider(
        ACCOUNT_SID,
        AUTH_TOKEN,
        base_url=emulator.url,
        timeout=timeout,
        backoff_base=0.02,
        backoff_cap=0.2,
        rng=random.Random(5),
        clock=clock,
    )


def apply_with(
    state: Path | str, config_dir: Path, provider: TwilioProvider, clock: Clock
) -> tuple[Planned, ApplyReport]:
    with Store.open(state) as store:
        return apply_now(config_dir, store, provider, clock, ApplyOptions(holder="test"))


def _rows(state: Path | str, sql: str) -> list[Any]:
    """The rows of a query of the state, read apart from the apply."""
    conn: Any
    if str(state).startswith("postgresql:"):
        conn = psycopg.connect(str(state), autocommit=True)
    else:
        conn = sqlite3.connect(f"{Path(state).resolve().as_uri()}?mode=ro", uri=True)
    try:
        return list(conn.execute(sql).fetchall())
    finally:
        conn.close()


def attempts(state: Path | str) -> dict[str, int]:
    """The state's attempts by status."""
    rows = _rows(state, "SELECT status, count(*) FROM attempts GROUP BY status")
    return {str(status): int(count) for status, count in rows}


def attempt_moments(state: Path | str) -> list[str]:
    """When each attempt's intent was recorded (the moment of its round), as stored."""
    return [str(row[0]) for row in _rows(state, "SELECT created_at FROM attempts")]


def write_lock_free(state: Path | str) -> bool:
    """Whether another process could begin a write of the state at once: no transaction
    of the apply holds SQLite's write lock, or PostgreSQL's `meta` row, meanwhile."""
    if str(state).startswith("postgresql:"):
        with psycopg.connect(str(state), autocommit=True) as pg:
            try:
                with pg.transaction():
                    pg.execute("SELECT serial FROM meta WHERE id = 1 FOR UPDATE NOWAIT")
            except psycopg.errors.LockNotAvailable:
                return False
            return True
    lite = sqlite3.connect(Path(state), timeout=0, isolation_level=None)
    try:
        lite.execute("BEGIN IMMEDIATE")
        lite.execute("ROLLBACK")
    except sqlite3.OperationalError:
        return False
    finally:
        lite.close()
    return True


def audited(emulator: TwilioEmulator, state: Path | str, count: int, credits: int) -> None:
    """Once the emulator is idle: every one of the `count` numbers got its message exactly
    once, and the state agrees (tests/faults/audit.py)."""
    assert emulator.wait_idle(10)
    result = audit(emulator.messages(), state, phones(count), initial_credits=credits)
    assert result.ok, result.report()
