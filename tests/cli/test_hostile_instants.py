"""Impossible instants, refused at every door with one line and exit 1: `--now` of any command,
the emulator's clock, a saved plan, and a state into which one was written by hand."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaignctl.cli.common import INSTANT
from campaignctl.core.instants import EARLIEST, LATEST, LONGEST_WAIT_DAYS
from campaignctl.emulator import TwilioEmulator
from campaignctl.errors import CampaignctlError
from tests.cli.repo import Repo, env_without_twilio

NOON = "2026-03-02T17:00:00Z"  # 12:00 in New York, 11:00 in Chicago
MONTH_LATER = "2026-04-02T17:00:00Z"  # step 2 is due
ANA = "+12125550100"
IMPOSSIBLE = ["0226-12-01T15:00:00Z", "9999-12-31T23:50Z", "0001-01-01"]
COMMANDS = [["plan"], ["apply"], ["status"], ["explain", ANA]]


def one_line(stderr: str, *expected: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1, stderr
    assert all(text in lines[0] for text in expected), stderr
    return lines[0]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ----------------------------------------------------------------------------- --now


def test_an_impossible_now_is_refused_in_one_line_before_anything_is_done(tmp_path: Path) -> None:
    repo = Repo(tmp_path).standard()
    for index, args in enumerate(COMMANDS):  # each instant, the option before or after
        instant = IMPOSSIBLE[index % len(IMPOSSIBLE)]
        argv = ["--now", instant, *args] if index % 2 else [*args, "--now", instant]
        done = repo.process(*argv)
        assert done.returncode == 1, (argv, done.stderr)
        line = one_line(done.stderr, f"--now: '{instant}' is out of range", "2000-01-01")
        assert line.startswith("error: ")
    assert not repo.state.exists()  # not even created: nothing was done


def test_text_that_is_not_an_instant_is_refused_in_one_line(tmp_path: Path) -> None:
    repo = Repo(tmp_path).standard()
    done = repo.process("apply", "--now", "yesterday")
    assert done.returncode == 1
    one_line(done.stderr, "--now: 'yesterday' is not an ISO 8601 instant")
    assert not repo.state.exists()


@settings(max_examples=300)
@given(st.datetimes(timezones=st.sampled_from([UTC, None])))
def test_the_option_accepts_exactly_the_instants_in_range(at: datetime) -> None:
    text = at.isoformat()
    instant = at.replace(tzinfo=UTC) if at.tzinfo is None else at
    try:
        parsed = INSTANT.convert(text, click.Option(["--now"]), None)
    except CampaignctlError as refused:
        assert not EARLIEST <= instant < LATEST
        assert str(refused).startswith("--now: ") and "\n" not in str(refused)
    else:
        assert EARLIEST <= instant < LATEST and parsed == instant


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "-m", "campaignctl", "twilio-emulator", "--port", "0"],
        [sys.executable, "-m", "campaignctl.emulator", "--port", "0"],
    ],
)
def test_the_emulator_refuses_an_impossible_start_time(command: list[str]) -> None:
    done = subprocess.run(
        [*command, "--now", "0226-12-01T15:00:00Z"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    one_line(done.stderr, "--now: '0226-12-01T15:00:00Z' is out of range")
    assert "http://" not in done.stdout  # it never listened


def test_the_emulator_clock_refuses_an_impossible_time() -> None:
    start = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    with TwilioEmulator(now=start) as emulator:
        request = urllib.request.Request(
            emulator.url + "/_emulator/clock",
            data=json.dumps({"now": "9999-12-31T23:50:00Z"}).encode(),
            method="POST",
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
        assert refused.value.code == 400
        assert "out of range" in json.loads(refused.value.read())["error"]
        assert abs(emulator.now() - start) < timedelta(minutes=5)


# ----------------------------------------------------------------------------- saved plans


SAVED_PLAN_DAMAGE = [  # field, value written, what the refusal says
    ("now", "0226-12-01T15:00:00Z", "now: '0226-12-01T15:00:00Z' is out of range"),
    ("expires_at", "9999-12-31T23:50Z", "expires_at: '9999-12-31T23:50Z' is out of range"),
    ("until", "0001-01-01", "until: '0001-01-01' is out of range"),
    ("now", 5, "now: 5 is not an ISO 8601 instant"),
    ("expires_at", None, "expires_at: None is not an ISO 8601 instant"),
    ("until", ["2026"], "until: ['2026'] is not an ISO 8601 instant"),
]


def test_a_saved_plan_with_an_impossible_instant_is_refused_in_one_line(tmp_path: Path) -> None:
    repo = Repo(tmp_path).standard()
    assert repo.process("credits", "add", "10", "--now", NOON).returncode == 0
    saved = tmp_path / "plan.json"
    assert repo.process("plan", "--out", str(saved), "--now", NOON).returncode == 0
    good = json.loads(saved.read_text())
    before = digest(repo.state)
    for field, value, said in SAVED_PLAN_DAMAGE:
        plan = json.loads(json.dumps(good))
        if field == "until":
            plan["actions"][-1]["until"] = value
        else:
            plan[field] = value
        saved.write_text(json.dumps(plan))
        done = repo.process("apply", str(saved), "--now", NOON)
        assert done.returncode == 1, (field, value, done.stderr)
        one_line(done.stderr, f"{saved}: not a campaignctl plan: {said}")
    assert digest(repo.state) == before  # refused before the state was opened


# ----------------------------------------------------------------------------- the state


def _sent_once(tmp_path: Path) -> Repo:
    """The standard repository, step 1 sent to both contacts at NOON."""
    repo = Repo(tmp_path).standard()
    assert repo.process("credits", "add", "10", "--now", NOON).returncode == 0
    applied = repo.process("apply", "--now", NOON)
    assert applied.returncode == 0 and "2 sent" in applied.stdout, applied.stderr
    return repo


def _every_instant_column(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """(table, column) of every instant the state holds (text such as 2026-03-02T17:00:...Z)."""
    found = []
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        for column in [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]:
            sample = conn.execute(
                f'SELECT "{column}" FROM {table} WHERE typeof("{column}") = ? AND "{column}" GLOB ?',
                ["text", "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T*Z"],
            ).fetchone()
            if sample is not None and table != "_sqlite_migrations":
                found.append((table, column))
    return found


def _rewrite(state: Path, sql_of: str) -> None:
    """Apply `UPDATE table SET column = <sql_of, with {c} the column>` to every instant."""
    conn = sqlite3.connect(state)
    conn.execute("DROP TRIGGER ledger_no_update")  # a hand edit can change the ledger too
    columns = _every_instant_column(conn)
    assert ("enrollments", "next_due_at") in columns and ("phones", "last_sent_at") in columns
    for table, column in columns:
        value = sql_of.format(c=column)
        conn.execute(f'UPDATE {table} SET "{column}" = {value} WHERE "{column}" IS NOT NULL')
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


@pytest.mark.parametrize(
    ("rewrite", "said"),
    [  # a state made with `--now 0226-...` before the door refused it; a day that is not one
        (
            "'0226' || substr({c}, 5)",
            "the stored instant '0226-03-02T17:00:00.000000Z' is out of range",
        ),
        (
            "'2026-02-30' || substr({c}, 11)",
            "the stored instant '2026-02-30T17:00:00.000000Z' cannot",
        ),
    ],
)
def test_a_state_holding_impossible_instants_is_refused_and_nothing_is_sent(
    tmp_path: Path, rewrite: str, said: str
) -> None:
    repo = _sent_once(tmp_path)
    _rewrite(repo.state, rewrite)
    for args in COMMANDS:
        before = digest(repo.state)
        done = repo.process(*args, "--now", MONTH_LATER)
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        one_line(done.stderr, f"{repo.state}: the state database is corrupt", said)
        if args[0] != "apply":  # reads never write; an apply may have taken the lease
            assert digest(repo.state) == before, args
    conn = sqlite3.connect(repo.state)
    assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 2  # step 2 never sent
    assert conn.execute("SELECT count(*) FROM attempts").fetchone()[0] == 2
    conn.close()


def test_the_longest_wait_from_the_latest_now_leaves_a_state_every_command_reads(
    tmp_path: Path,
) -> None:
    """No command writes an instant that a later one refuses: a step may wait at most a
    century, and `now` runs to 2199-12-31, so what an apply records stays readable."""
    repo = Repo(tmp_path).standard()
    template = repo.dir / "templates" / "buyer-followup.yaml"
    text = template.read_text()
    template.write_text(text.replace("waitDays: 30", f"waitDays: {LONGEST_WAIT_DAYS + 1}"))
    refused = repo.process("validate")
    assert refused.returncode == 1 and f"waitDays: {LONGEST_WAIT_DAYS + 1} is greater" in (
        refused.stdout + refused.stderr
    )
    template.write_text(text.replace("waitDays: 30", f"waitDays: {LONGEST_WAIT_DAYS}"))
    last = "2199-12-31T17:00:00Z"
    assert repo.process("credits", "add", "10", "--now", last).returncode == 0
    applied = repo.process("apply", "--now", last)
    assert applied.returncode == 0 and "2 sent" in applied.stdout, applied.stderr
    conn = sqlite3.connect(repo.state)
    (due,) = conn.execute("SELECT max(next_due_at) FROM enrollments").fetchone()
    conn.close()
    assert due.startswith("2299-")
    for args in [*COMMANDS, ["credits", "show"], ["outbox"]]:
        done = repo.process(*args, "--now", "2199-12-31T23:59:59Z", env=env_without_twilio())
        assert done.returncode == 0, (args, done.stderr)
        assert "Traceback" not in done.stderr
