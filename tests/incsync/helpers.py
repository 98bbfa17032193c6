"""A campaign over a large group, applied by the engine as `reconcile` applies it, and what
the state keeps of the group's file."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from campaignctl.app import apply as engine
from campaignctl.app.executor import ApplyOptions
from campaignctl.clock import FrozenClock
from campaignctl.core.instants import parse_instant
from campaignctl.providers.outbox import OutboxProvider
from campaignctl.store import Store
from tests.cli.repo import SETTINGS, Repo

NIGHT = parse_instant("2026-03-02T08:00:00Z")  # 03:00 in New York: enrolled, nothing sent
CAMPAIGN = "spring-buyers"
WHOLE = "synced: "  # the log line of a sync that read the whole group
ROWS = "synced by its changes: "  # and of one that read only the rows that changed


def numbers(count: int, area: str = "212") -> list[str]:
    """`count` valid numbers of an area code, distinct (ten thousand to an exchange)."""
    return [f"+1{area}{555 + i // 10_000}{i % 10_000:04d}" for i in range(count)]


def big_repo(root: Path, count: int) -> tuple[Repo, list[tuple[str, str]]]:
    repo = Repo(root)
    repo.template()
    repo.write("settings.yaml", SETTINGS)
    repo.campaign(CAMPAIGN)
    rows = [(phone, f"Name{i}") for i, phone in enumerate(numbers(count))]
    repo.group(rows=rows)
    return repo, rows


def apply(
    repo: Repo, state: str, caplog: pytest.LogCaptureFixture, batch: int = 500
) -> tuple[dict[str, int], str]:
    """One apply at night: its summary, and the log line of each group it synced."""
    caplog.clear()
    caplog.set_level(logging.INFO, logger="campaignctl.engine")
    clock = FrozenClock(NIGHT)
    with Store.open(state) as store:
        planned, _ = engine.apply_now(
            repo.dir, store, OutboxProvider(store, clock), clock,
            ApplyOptions(holder="test", batch=batch),
        )  # fmt: skip
    synced = [r.getMessage() for r in caplog.records if " synced" in r.getMessage()]
    return planned.plan.summary(), "\n".join(synced)


def kept_file(state: str, campaign: str = CAMPAIGN) -> bytes | None:
    """The group's file as the state keeps it, put together from its blocks."""
    with Store.open(state) as store:
        kept = store.synced_group(campaign)
        if kept is None:
            return None
        digests = [d for d, _, _ in json.loads(kept.manifest)]
        blocks = store.synced_blocks(campaign, digests)
    return b"".join(blocks[d] for d in digests)


def enrollment(state: str, phone: str) -> tuple[str, str | None, str, str]:
    """(status, end reason, fields, source) of the campaign's enrollment of a number."""
    with Store.open(state) as store:
        row = store._conn.execute(
            "SELECT status, end_reason, fields, source FROM enrollments"
            " WHERE campaign = ? AND phone = ?",
            [CAMPAIGN, phone],
        ).fetchone()
    assert row is not None, phone
    return (str(row[0]), row[1], str(row[2]), str(row[3]))
