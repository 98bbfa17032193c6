"""What the enrollment and tick benchmarks run: the bare phonenumbers work (the baseline), the
launch of a campaign on a new group, and a steady controller tick over its enrollments."""

from __future__ import annotations

import csv
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat
from phonenumbers.timezone import time_zones_for_number

from campaignctl.clock import FrozenClock
from campaignctl.core import phones
from campaignctl.core.planner import plan as make_core_plan
from campaignctl.engine import Applier, Lease, Planned, apply_now, load_desired, resolve_in_flight
from campaignctl.providers.outbox import OutboxProvider
from campaignctl.store import Store
from campaignctl.store.db import to_text

from bench.repo import SENDER

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
    """The stages of one launch, in seconds, as engine.apply_now runs them."""

    load: float = 0.0  # config.load: YAML, CSV, every phone parsed (engine.load_desired)
    snapshot: float = 0.0  # store.snapshot
    plan: float = 0.0  # core planner: enroll/skip every contact, consider every first step
    apply: float = 0.0  # Applier.run: enrollments written, decisions and the run recorded
    total: float = 0.0
    summary: dict[str, int] = field(default_factory=dict)


def fresh_state(state_path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{state_path}{suffix}").unlink(missing_ok=True)
    with Store.open(state_path) as store:
        store.add_credits(CREDITS, "benchmark", NIGHT - timedelta(days=1))


def launch(config_dir: Path, state_path: Path, now: datetime) -> LaunchTimes:
    """One apply that launches the campaign: engine.apply_now, stage by stage."""
    times = LaunchTimes()
    phones._zone_memo.clear()  # each run starts cold, as a new process would
    started = time.perf_counter()
    clock = FrozenClock(now)
    with Store.open(state_path) as store, Lease(store, "bench", 30.0) as lease:
        mark = time.perf_counter()
        desired = load_desired(config_dir, store)
        times.load, mark = time.perf_counter() - mark, time.perf_counter()
        snapshot = store.snapshot(desired, now)
        provider = OutboxProvider(store, clock)
        if resolve_in_flight(store, provider, snapshot, clock):
            snapshot = store.snapshot(desired, now)
        times.snapshot, mark = time.perf_counter() - mark, time.perf_counter()
        plan = make_core_plan(desired, snapshot, now)
        times.plan, mark = time.perf_counter() - mark, time.perf_counter()
        planned = Planned(desired, snapshot, plan)
        Applier(store, provider, planned, clock, heartbeat=lease.renew_if_due).run()
        times.apply = time.perf_counter() - mark
        times.summary = plan.summary()
    times.total = time.perf_counter() - started
    return times


def age_state(state_path: Path, now: datetime, due: int) -> None:
    """Make a launched state steady at `now`: every live enrollment had step 1 sent two days
    ago (its attempt, debit and the phone's last send recorded), so step 2 waits 28 more days;
    then `due` of them had it sent 31 days ago, so their step 2 is due now."""
    recent, old = now - timedelta(days=2), now - timedelta(days=31)
    conn = sqlite3.connect(state_path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "UPDATE enrollments SET steps_sent = 1, last_sent_at = ?, next_due_at = ?"
            " WHERE status = 'live' AND steps_sent = 0",
            [to_text(recent), to_text(recent + timedelta(days=30))],
        )
        conn.execute(
            "UPDATE enrollments SET last_sent_at = ?, next_due_at = ? WHERE id IN"
            " (SELECT id FROM enrollments WHERE status = 'live' ORDER BY phone LIMIT ?)",
            [to_text(old), to_text(old + timedelta(days=30)), due],
        )
        conn.execute(
            "INSERT INTO attempts (campaign, phone, step, body, segments, credits, sender_key,"
            " provider, status, provider_id, created_at, updated_at)"
            " SELECT campaign, phone, 1, 'Hi, it''s Sam at Acme Realty.', 1, 1, ?, 'outbox',"
            " 'sent', 'OB' || id, last_sent_at, last_sent_at FROM enrollments"
            " WHERE status = 'live' AND steps_sent = 1",
            [SENDER],
        )
        conn.execute(
            "INSERT INTO ledger (at, amount, note, attempt_id)"
            " SELECT created_at, -credits, 'send', id FROM attempts"
        )
        conn.execute(
            "INSERT OR REPLACE INTO phones (phone, last_sent_at)"
            " SELECT phone, last_sent_at FROM enrollments WHERE steps_sent = 1"
        )
        conn.execute("UPDATE meta SET serial = serial + 1")
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def tick(config_dir: Path, state_path: Path, now: datetime) -> dict[str, int]:
    """One controller tick (as `reconcile` runs it): open the state, plan and apply."""
    clock = FrozenClock(now)
    with Store.open(state_path) as store:
        planned, report = apply_now(
            config_dir, store, OutboxProvider(store, clock), clock, holder="bench", wait_seconds=0
        )
    return planned.plan.summary()
