"""Faults of the state: a full disk, a read-only file or mount, a database locked by another
process, an older schema, a truncated or corrupt file.

What must hold: one clear line and exit 1 where a command cannot go on, never a traceback;
what was recorded before is kept; a damaged file is never written over; once the fault is
gone, the next apply finishes the work and every due message went out exactly once.
"""

from __future__ import annotations

import hashlib
import os
import random
import sqlite3
import time
from pathlib import Path

import pytest
from sqlite_utils import Database

from campaignctl.store import Store, schema
from tests.cli.repo import Repo
from tests.faults.audit import audit
from tests.faults.system import HeldLock, fill, immutable, read_only_mount, small_disk
from tests.faults.tally import TALLY, sized
from tests.faults.world import (
    campaign_repo,
    clean_env,
    emulator_at_noon,
    phones,
    run,
    start,
    twilio_env,
)

FULL_DISK = "the disk holding the state database is full"
READ_ONLY = "the state database is read-only; this command needs to write to it"
BUSY = "the state database is busy (locked by another process); try again"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_clean_line(stderr: str, expected: str) -> None:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1 and expected in lines[0], stderr


def integrity(state: Path) -> str:
    conn = sqlite3.connect(state)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


# ------------------------------------------------------------------------------ full disk


def test_a_full_disk_stops_cleanly_and_the_next_apply_finishes_exactly_once(
    tmp_path: Path,
) -> None:
    count = 300
    rng = random.Random(64)
    # how much room the disk has left when the apply starts: none, then ever more, so the
    # write that fails falls at opening, enrolling, an intent, or an outcome after a send
    levels = [0, 48 << 10, 192 << 10, 512 << 10]
    levels += [rng.randrange(0, 640 << 10) for _ in range(sized(0, 8))]
    logs = tmp_path / "logs"
    sent_before_failing = []
    with small_disk(tmp_path / "disk", "8m") as disk:
        for number, room in enumerate(levels):
            repo = campaign_repo(disk / f"r{number}", count, credits=2 * count)
            filler = fill(disk, room)
            with emulator_at_noon() as emulator:
                env = twilio_env(emulator)
                code, _out, err = run(repo, ["apply"], env, f"full-{number}.log", logs)
                TALLY.fault("state full disk")
                if code != 0:
                    assert code == 1
                    one_clean_line(err, FULL_DISK)
                    sent_before_failing.append(len(emulator.messages()))
                filler.unlink()
                code, _out, err = run(repo, ["apply"], env, f"freed-{number}.log", logs)
                assert code == 0, err
                assert emulator.wait_idle(10)
                result = audit(
                    emulator.messages(), repo.state, phones(count), initial_credits=2 * count
                )
            assert result.ok, f"room {room}: {result.report()}"
            assert integrity(repo.state) == "ok"
            for leftover in disk.iterdir():  # room for the next level
                if leftover.is_dir():
                    for path in sorted(leftover.rglob("*"), reverse=True):
                        path.unlink() if path.is_file() else path.rmdir()
                    leftover.rmdir()
    # the disk filled up at opening, and after some sends (an outcome could not be recorded)
    assert 0 in sent_before_failing and max(sent_before_failing) > 0, sent_before_failing


def test_the_controller_survives_a_full_disk_and_resumes_when_space_returns(
    tmp_path: Path,
) -> None:
    count = 200
    with small_disk(tmp_path / "disk", "8m") as disk:
        repo = campaign_repo(disk / "repo", count, credits=2 * count)
        filler = fill(disk, 128 << 10)
        with emulator_at_noon() as emulator:
            controller = start(
                repo, ["reconcile", "--interval", "1s", "--no-watch"], twilio_env(emulator),
                "reconcile.log", tmp_path / "logs",
            )  # fmt: skip
            TALLY.fault("state full disk")
            wait_for(lambda: FULL_DISK in controller.stderr(), controller.stderr)
            time.sleep(1.5)
            assert controller.alive(), controller.stderr()
            filler.unlink()
            wait_for(lambda: len(emulator.messages()) >= count, controller.stderr, timeout=60)
            wait_for(lambda: not in_flight(repo.state), controller.stderr)
            assert controller.stop() == 0, controller.stderr()
            assert emulator.wait_idle(10)
            result = audit(
                emulator.messages(), repo.state, phones(count), initial_credits=2 * count
            )
        assert "Traceback" not in controller.stderr()
        assert "tick failed unexpectedly" not in controller.stderr()
    assert result.ok, result.report()


def wait_for(check: object, describe: object, timeout: float = 30.0) -> None:
    assert callable(check) and callable(describe)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"condition not met in {timeout}s:\n{describe()}")


def in_flight(state: Path) -> int:
    with Store.open(state) as store:
        return len(store.in_flight())


# ------------------------------------------------------------------------------ read-only


def more_contacts_due(repo: Repo, count: int) -> None:
    """Append contacts to the group: an apply would have something to send."""
    repo.group(rows=[(p, f"Name{i}") for i, p in enumerate(phones(count))])


def check_read_only(repo: Repo, tmp_path: Path, name: str) -> None:
    """Writes refused in one line, reads served, the file untouched, nothing sent."""
    before = digest(repo.state)
    beside = sorted(p.name for p in repo.state.parent.iterdir())
    with emulator_at_noon() as emulator:
        env = twilio_env(emulator)
        for args in (["apply"], ["credits", "add", "5"], ["optout", "add", phones(1)[0]]):
            code, _out, err = run(repo, args, env, f"{name}-{args[0]}.log", tmp_path / "logs")
            TALLY.fault(f"state {name}")
            assert code == 1, err
            one_clean_line(err, READ_ONLY)
        once = ["reconcile", "--once"]
        code, _out, err = run(repo, once, env, f"{name}-once.log", tmp_path / "logs")
        assert code == 1 and READ_ONLY in err and "Traceback" not in err, err
        for args in (["status"], ["explain", phones(1)[0]], ["outbox"]):
            code, _out, err = run(repo, args, env, f"{name}-{args[0]}.log", tmp_path / "logs")
            assert code == 0, err
        assert emulator.messages() == []
    assert digest(repo.state) == before
    if not os.access(repo.state.parent, os.W_OK):  # a read-only mount: nothing created
        assert sorted(p.name for p in repo.state.parent.iterdir()) == beside


def sent_some(tmp_path: Path, count: int) -> Repo:
    repo = campaign_repo(tmp_path, count, credits=4 * count)
    code, _out, err = run(repo, ["apply"], clean_env(), "first-apply.log")
    assert code == 0, err
    more_contacts_due(repo, 2 * count)
    return repo


def test_an_immutable_state_file_refuses_writes_and_serves_reads(tmp_path: Path) -> None:
    repo = sent_some(tmp_path / "repo", 20)
    with immutable(repo.state):
        check_read_only(repo, tmp_path, "immutable file")


def test_a_read_only_mount_refuses_writes_and_serves_reads(tmp_path: Path) -> None:
    repo = sent_some(tmp_path / "repo", 20)
    with read_only_mount(repo.root):
        check_read_only(repo, tmp_path, "read-only mount")


# ------------------------------------------------------------------------------ locked


def test_a_database_locked_by_another_process(tmp_path: Path) -> None:
    count = 30
    repo = campaign_repo(tmp_path, count, credits=2 * count)
    with emulator_at_noon() as emulator:
        env = twilio_env(emulator)
        # held for longer than the busy timeout: refused in one line, nothing sent
        lock = HeldLock(repo.state)
        TALLY.fault("state locked")
        try:
            code, _out, err = run(repo, ["apply"], env, "locked.log")
        finally:
            lock.release()
        assert code == 1
        one_clean_line(err, BUSY)
        assert emulator.messages() == []

        # held for a moment: the apply waits for it, then does the work
        lock = HeldLock(repo.state)
        TALLY.fault("state locked")
        waiting = start(repo, ["apply"], env, "waits.log")
        time.sleep(1.5)
        assert waiting.alive() and emulator.messages() == []
        lock.release()
        assert waiting.wait() == 0, waiting.stderr()
        assert emulator.wait_idle(10)
        result = audit(emulator.messages(), repo.state, phones(count), initial_credits=2 * count)
    assert result.ok, result.report()


# ------------------------------------------------------------------------------ older schema


def old_state(path: Path, credits: int, opted_out: str) -> None:
    """A state as the first release wrote it: the first migration only, with data in it."""
    db = Database(path)
    db.execute("PRAGMA journal_mode = WAL")
    schema.migrations.apply(db, stop_before=schema.MIGRATIONS[1].__name__)
    db.execute(f"PRAGMA application_id = {schema.APPLICATION_ID}")
    db.execute("PRAGMA user_version = 1")
    db.execute(
        "INSERT INTO ledger (at, amount, note) VALUES ('2026-01-05T10:00:00.000000Z', ?, 'old')",
        [credits],
    )
    db.execute(
        "INSERT INTO optouts (phone, at, source, note)"
        " VALUES (?, '2026-01-06T10:00:00.000000Z', 'sms', 'STOP by SMS')",
        [opted_out],
    )
    db.close()


def test_a_state_from_an_older_schema_is_migrated_and_keeps_its_data(tmp_path: Path) -> None:
    count = 25
    repo = Repo(tmp_path)
    repo.template()
    more_contacts_due(repo, count)
    repo.campaign()
    opted_out = phones(count)[3]
    old_state(repo.state, 100, opted_out)
    TALLY.fault("state older schema")
    with emulator_at_noon() as emulator:
        code, _out, err = run(repo, ["apply"], twilio_env(emulator), "migrate.log")
        assert code == 0, err
        assert emulator.wait_idle(10)
        expected = [p for p in phones(count) if p != opted_out]
        result = audit(emulator.messages(), repo.state, expected, initial_credits=100)
    assert result.ok, result.report()
    conn = sqlite3.connect(repo.state)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(schema.known_migrations())
    conn.close()
    with Store.open(repo.state) as store:
        assert store.ledger()[0].note == "old"
        optout = store.optout_of(opted_out)
        assert optout is not None and optout.note == "STOP by SMS"


def test_an_older_schema_on_a_read_only_file_is_refused_untouched(tmp_path: Path) -> None:
    repo = Repo(tmp_path)
    repo.standard()
    old_state(repo.state, 100, phones(1)[0])
    before = digest(repo.state)
    with immutable(repo.state):
        for args in (["apply"], ["status"]):
            code, _out, err = run(repo, args, clean_env(), f"old-ro-{args[0]}.log")
            TALLY.fault("state older schema, read-only")
            assert code == 1
            one_clean_line(err, "has the older schema version 1 and is read-only")
    assert digest(repo.state) == before


# ------------------------------------------------------------------------------ damaged files

COMMANDS = [["apply"], ["plan"], ["status"], ["credits", "add", "5"], ["reconcile", "--once"]]
REFUSED = ("corrupt", "truncated", "not a campaignctl state database")


def damaged(good: bytes, how: str) -> bytes:
    page = int.from_bytes(good[16:18], "big")
    if how == "truncated to half":
        return good[: len(good) // 2]
    if how == "truncated mid-page":
        return good[: 3 * page + 1000]
    if how == "header only":
        return good[:100]
    if how == "garbage":
        return random.Random(5).randbytes(len(good))
    if how == "zeroed header":
        return b"\0" * 100 + good[100:]
    if how == "bad page size":
        return good[:16] + b"\x00\x07" + good[18:]
    if how == "damaged schema":
        at = good.index(b"CREATE TRIGGER")
        return good[:at] + b"CREATE TRIGGER ((((" + good[at + 19 :]
    raise AssertionError(how)


DAMAGES = [
    "truncated to half",
    "truncated mid-page",
    "header only",
    "garbage",
    "zeroed header",
    "bad page size",
    "damaged schema",
]


def test_a_truncated_or_corrupt_state_is_refused_and_never_written(tmp_path: Path) -> None:
    repo = sent_some(tmp_path / "repo", 60)
    conn = sqlite3.connect(repo.state)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    good = repo.state.read_bytes()
    commands = COMMANDS if sized(0, 1) else [["apply"], ["reconcile", "--once"]]
    for how in DAMAGES:
        repo.state.write_bytes(damaged(good, how))
        before = digest(repo.state)
        for args in commands:
            code, _out, err = run(repo, args, clean_env(), f"{how}-{args[0]}.log".replace(" ", "-"))
            TALLY.fault(f"state {how}")
            assert code == 1, (how, args, err)
            lines = [line for line in err.splitlines() if "error" in line.lower()]
            assert "Traceback" not in err, err
            assert lines and any(word in lines[-1] for word in REFUSED), (how, args, err)
            assert digest(repo.state) == before, (how, args)
            assert sorted(p.name for p in repo.state.parent.iterdir() if "state" in p.name) == [
                "state.db"
            ], (how, args)
    # and the real file, put back, works and has kept everything
    repo.state.write_bytes(good)
    with Store.open(repo.state) as store:
        assert store.balance() == 4 * 60 - 60


@pytest.mark.parametrize("seed", range(sized(3, 12)))
def test_random_damage_never_shows_a_traceback(tmp_path: Path, seed: int) -> None:
    """Bytes flipped anywhere but the header: SQLite may only notice when it reads the page,
    so a command may succeed; it must never crash, and a read command never writes."""
    repo = sent_some(tmp_path / "repo", 40)
    conn = sqlite3.connect(repo.state)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    rng = random.Random(seed)
    data = bytearray(repo.state.read_bytes())
    for _ in range(rng.randint(1, 6)):
        at = rng.randrange(100, len(data) - 32)
        data[at : at + rng.randint(1, 32)] = rng.randbytes(rng.randint(1, 32))
    for args in (["status"], ["plan"], ["apply"], ["reconcile", "--once"]):
        repo.state.write_bytes(bytes(data))
        before = digest(repo.state)
        code, out, err = run(repo, args, clean_env(), f"random-{args[0]}.log")
        TALLY.fault("state random damage")
        assert code in (0, 1), err
        assert "Traceback" not in out + err, err
        if code == 1:
            assert err.strip(), "an error without a message"
        if args[0] in ("status", "plan"):
            assert digest(repo.state) == before, args
