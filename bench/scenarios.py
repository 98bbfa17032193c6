"""What the enrollment and tick benchmarks run: the bare phonenumbers work (the baseline), the
launch of a campaign on a new group, and a steady controller tick over its enrollments."""

from __future__ import annotations

import csv
import os
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import phonenumbers
import psycopg
from phonenumbers import NumberParseException, PhoneNumberFormat
from phonenumbers.timezone import time_zones_for_number

from bench.repo import SENDER
from campaignctl import config
from campaignctl.app import apply as engine
from campaignctl.app.executor import ApplyOptions
from campaignctl.app.streamed import StreamedApply
from campaignctl.clock import FrozenClock
from campaignctl.config import ContactSource
from campaignctl.core import phones
from campaignctl.providers.outbox import OutboxProvider
from campaignctl.store import Store
from campaignctl.store.db import to_text
from campaignctl.store.location import StateArg, parse_state
from campaignctl.store.postgres import translate

# a Wednesday: 03:00 in New York, 22:00 (the day before) in Honolulu: every contact is in
# quiet hours, so a launch enrolls everyone and defers every first message to the morning
NIGHT = datetime(2026, 3, 4, 8, 0, tzinfo=UTC)
# the same Wednesday, 14:00 in New York, 09:00 in Honolulu: every contact may be texted
AFTERNOON = datetime(2026, 3, 4, 19, 0, tzinfo=UTC)
CREDITS = 10_000_000


def raw_numbers(csv_path: Path) -> list[str]:
    """Every phone number as written in the CSV (the rows the baseline parses)."""
    with csv_path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        at = header.index("phone")
        return [n.strip() for row in reader for n in row[at].split(";") if n.strip()]


def bare_phonenumbers(numbers: list[str]) -> int:
    """The bare work of phonenumbers on each number: parse, is_valid_number, E.164, zones.
    Returns how many were valid."""
    valid = 0
    for text in numbers:
        try:
            number = phonenumbers.parse(text, "US")
        except NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            phonenumbers.format_number(number, PhoneNumberFormat.E164)
            time_zones_for_number(number)
            valid += 1
    return valid


def warm_up() -> None:
    """Load phonenumbers' metadata (lazily loaded on first use) before anything is timed."""
    bare_phonenumbers(["(212) 555-0100", "+1 907 555 0100", "+44 20 7946 0958"])
    phones.normalize("(415) 555-0100")


@dataclass
class LaunchTimes:
    """One engine.apply_now that launches the campaign, and its stages, in seconds."""

    load: float = 0.0  # config.load: YAML and the groups' digests (no contact read)
    check: float = 0.0  # ContactSource.check: the CSV looked through for errors
    sync: float = 0.0  # the group read, every number parsed, checked, enrolled, considered
    due: float = 0.0  # the due enrollments considered (none but the new ones at a launch)
    total: float = 0.0  # open the state + apply_now
    summary: dict[str, int] = field(default_factory=dict)


@contextmanager
def stage_timers(times: LaunchTimes, after_load: Callable[[], object]) -> Iterator[None]:
    """Time the stages of engine.apply_now by wrapping the functions it calls."""
    stages: list[tuple[object, str, str]] = [
        (config, "load", "load"),
        (ContactSource, "check", "check"),
        (StreamedApply, "_sync", "sync"),
        (StreamedApply, "_due", "due"),
    ]
    saved = [(owner, name, vars(owner).get(name)) for owner, name, _ in stages]

    def timing(stage: str, work: Callable[..., Any]) -> Callable[..., Any]:
        def timed_work(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return work(*args, **kwargs)
            finally:
                setattr(times, stage, getattr(times, stage) + time.perf_counter() - started)
                if stage == "load":
                    after_load()

        return timed_work

    for owner, name, stage in stages:
        setattr(owner, name, timing(stage, getattr(owner, name)))
    try:
        yield
    finally:
        for owner, name, original in saved:
            if original is None:
                delattr(owner, name)  # inherited (Store.snapshot comes from a mixin)
            else:
                setattr(owner, name, original)


def copy_state(source: Path, target: Path) -> None:
    """A copy of a state database (checkpointed first, so the copy is whole), written out
    to the disk before it is used: a state a controller ticks on has no hundreds of
    megabytes just written and waiting in the page cache, which the first commit of a timed
    tick would otherwise wait for."""
    conn = sqlite3.connect(source)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(source, target)
    os.sync()


def fresh_state(state_path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{state_path}{suffix}").unlink(missing_ok=True)
    with Store.open(state_path) as store:
        store.add_credits(CREDITS, "benchmark", NIGHT - timedelta(days=1))


def launch(
    config_dir: Path,
    state_path: Path,
    now: datetime,
    after_load: Callable[[], object] = lambda: None,
) -> LaunchTimes:
    """Open the state and run engine.apply_now (outbox provider), which launches the
    campaign; `after_load` runs once the config is loaded (its time is counted)."""
    times = LaunchTimes()
    phones._zone_memo.clear()  # each run starts cold, as a new process would
    clock = FrozenClock(now)
    with stage_timers(times, after_load):
        started = time.perf_counter()
        with Store.open(state_path) as store:
            planned, _ = engine.apply_now(
                config_dir, store, OutboxProvider(store, clock), clock, ApplyOptions(holder="bench")
            )
        times.total = time.perf_counter() - started
    times.summary = planned.plan.summary()
    return times


def _script(state: StateArg, statements: list[tuple[str, list[object]]]) -> None:
    """Run statements on a state in one transaction, as a change of the state (its serial
    moves); a PostgreSQL state's statistics are refreshed after, as autovacuum would."""
    location = parse_state(state)
    if location.url is not None:
        with psycopg.connect(location.url) as pg:
            for sql, params in statements:
                pg.execute(translate(sql).encode(), params)
            pg.execute(b"UPDATE meta SET serial = serial + 1")
        with psycopg.connect(location.url, autocommit=True) as pg:
            pg.execute(b"ANALYZE")
        return
    assert location.path is not None
    conn = sqlite3.connect(location.path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        for sql, params in statements:
            conn.execute(sql, params)
        conn.execute("UPDATE meta SET serial = serial + 1")
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def age_state(state_path: Path, now: datetime) -> None:
    """Make a launched state steady at `now`: every live enrollment had step 1 sent two days
    ago (its attempt, its debit and the number's last send recorded), so step 2 waits 28
    more days and nothing is due."""
    sent = to_text(now - timedelta(days=2))
    _script(
        state_path,
        [
            (
                "UPDATE enrollments SET steps_sent = 1, last_sent_at = ?, next_due_at = ?,"
                " next_at = ? WHERE status = 'live' AND steps_sent = 0",
                [sent, to_text(now + timedelta(days=28)), to_text(now + timedelta(days=28))],
            ),
            (
                "INSERT INTO attempts (campaign, phone, step, body, segments, credits,"
                " sender_key, provider, status, provider_id, created_at, updated_at)"
                " SELECT campaign, phone, 1, 'Hi, it''s Sam at Acme Realty.', 1, 1, ?,"
                " 'outbox', 'sent', 'OB' || id, ?, ? FROM enrollments WHERE steps_sent = 1",
                [SENDER, sent, sent],
            ),
            (
                "INSERT INTO ledger (at, amount, note, attempt_id)"
                " SELECT created_at, -credits, 'send', id FROM attempts WHERE created_at = ?",
                [sent],
            ),
            (
                "INSERT OR REPLACE INTO phones (phone, last_sent_at)"
                " SELECT phone, last_sent_at FROM enrollments WHERE steps_sent = 1",
                [],
            ),
        ],
    )


def make_due(state: StateArg, now: datetime, count: int) -> None:
    """Make step 2 of `count` steady enrollments due at `now`: their step 1 went out 31 days
    ago (the attempt, the enrollment and the number's last send say so)."""
    sent = to_text(now - timedelta(days=31))
    # the same numbers each time: the updates change neither status nor steps_sent
    chosen = (
        " WHERE phone IN (SELECT phone FROM enrollments WHERE status = 'live'"
        " AND steps_sent = 1 ORDER BY phone LIMIT ?)"
    )
    _script(
        state,
        [
            (
                "UPDATE enrollments SET last_sent_at = ?, next_due_at = ?, next_at = ?" + chosen,
                [sent, to_text(now - timedelta(days=1)), to_text(now - timedelta(days=1)), count],
            ),
            ("UPDATE attempts SET created_at = ?, updated_at = ?" + chosen, [sent, sent, count]),
            ("UPDATE phones SET last_sent_at = ?" + chosen, [sent, count]),
        ],
    )


def tick(config_dir: Path, state: StateArg, now: datetime) -> dict[str, int]:
    """One controller tick (as `reconcile` runs it): open the state, plan and apply. Its
    summary, and how many rows of due enrollments it read."""
    clock = FrozenClock(now)
    with Store.open(state) as store:
        planned, _ = engine.apply_now(
            config_dir,
            store,
            OutboxProvider(store, clock),
            clock,
            ApplyOptions(holder="bench", wait_seconds=0),
        )
        return {**planned.plan.summary(), "due rows read": store.due_read}
