"""A small campaign repository for `campaignctl` run as a process (one template, one group of
San Francisco numbers, one active campaign, credits), and what its state records."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from campaignctl.emulator import TwilioEmulator
from tests.cli.repo import Repo
from tests.delivery.helpers import ACCOUNT_SID, AUTH_TOKEN, SENDER

NOW = "2026-03-02T20:00:00Z"  # noon in San Francisco: inside the window
NOW_AT = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)


def project(repo: Repo, phones: tuple[str, ...]) -> Repo:
    """The repository at `repo.root`, every number in one active campaign, with credits."""
    repo.template()
    repo.group(rows=[(phone, f"N{i}") for i, phone in enumerate(phones)])
    repo.campaign(sender=SENDER, mps=10)
    result = repo.process("credits", "add", "100", "--now", NOW)
    assert result.returncode == 0, result.stderr
    return repo


def command(repo: Repo, *args: str) -> list[str]:
    """The command line that runs campaignctl on `repo`."""
    return [sys.executable, "-m", "campaignctl", "--dir", str(repo.dir),
            "--state", str(repo.state), *args]  # fmt: skip


def attempts(repo: Repo) -> list[tuple[str, str, str | None]]:
    """(phone, status, provider id) of every attempt in the state, oldest first."""
    if not repo.state.exists():
        return []
    with sqlite3.connect(repo.state) as conn:
        rows = conn.execute("SELECT phone, status, provider_id FROM attempts ORDER BY id")
        return [(str(p), str(s), p_id) for p, s, p_id in rows]


@contextmanager
def emulator_at(now: datetime, skew: timedelta = timedelta(0)) -> Iterator[TwilioEmulator]:
    """The emulator with its clock at `now` moved by `skew` (negative: behind campaignctl)."""
    with TwilioEmulator(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        now=now,
        clock_offset=skew,
        delivery_delay=0.01,
    ) as emulator:
        yield emulator
