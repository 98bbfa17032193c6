"""`campaignctl state copy`: a state made by real applies, webhooks and commands, copied
SQLite -> PostgreSQL -> SQLite, answers every command the same on all three; a destination
holding a state, and a source whose schema is not this code's, are refused; small random
states round-trip exactly."""

from __future__ import annotations

import json
import os
import pty
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaignctl.store import Store
from campaignctl.store.copy import TABLES
from tests.cli.repo import Repo, env_without_twilio
from tests.delivery.helpers import SENDER, inbound, post_signed, webhook_server
from tests.postgres import PASSWORD, Server

NOON = "2026-03-02T17:00:00Z"
LATER = "2026-03-03T17:00:00Z"
ANA, BO = "+12125550100", "+13125550101"


def run(repo: Repo, state: str | Path, *args: str, now: str = LATER) -> Result:
    from click.testing import CliRunner

    from campaignctl.cli.main import cli

    base = ["--dir", str(repo.dir), "--state", str(state), "--now", now]
    return CliRunner().invoke(cli, [*base, *args], catch_exceptions=False)


def copy(repo: Repo, source: str | Path, destination: str | Path, *extra: str) -> Result:
    return run(repo, source, "state", "copy", str(source), str(destination), *extra)


def dump(state: str | Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every copied table's rows, and meta, as the database holds them."""
    with Store.open(state, create=False, read_only=True) as store, store._read() as conn:
        tables = {
            t.name: [tuple(r) for r in conn.execute(
                f'SELECT {t.column_list} FROM {t.name} ORDER BY "{t.key}"').fetchall()]
            for t in TABLES
        }  # fmt: skip
        tables["meta"] = [
            tuple(conn.execute(
                "SELECT serial, balance, suspended_reason, suspended_at FROM meta").fetchone())
        ]  # fmt: skip
        lease = conn.execute("SELECT holder FROM lease").fetchone()
    tables["lease"] = [tuple(lease)]
    return tables


@pytest.fixture
def built(tmp_path: Path) -> tuple[Repo, Path]:
    """A state made the way it is in use: credits, an apply through the outbox provider, a
    delivery callback and a STOP through the webhook server, manual opt-outs (one lifted),
    a suspension."""
    repo = Repo(tmp_path).standard()
    state = repo.state
    assert run(repo, state, "credits", "add", "10", "--note", "inv 1", now=NOON).exit_code == 0
    assert run(repo, state, "apply", now=NOON).exit_code == 0
    sent = json.loads(run(repo, state, "outbox", "--format", "json").output)["messages"]
    assert len(sent) == 2
    with webhook_server(state) as base:
        for message in sent:
            status = {
                "AccountSid": "AC" + "ab" * 16,
                "MessageSid": message["id"],
                "MessageStatus": "delivered",
                "From": SENDER,
                "To": message["to"],
            }
            code, _, _ = post_signed(f"{base}/twilio/status", status)
            assert code == 200
        code, _, _ = post_signed(f"{base}/twilio/inbound", inbound(BO, "STOP"))
        assert code == 200
    assert run(repo, state, "optout", "add", "+14155550123", "--note", "called").exit_code == 0
    assert run(repo, state, "optout", "add", "+14155550124").exit_code == 0
    removed = run(repo, state, "optout", "remove", "+14155550124", "--reason", "asked back")
    assert removed.exit_code == 0, removed.output
    assert run(repo, state, "suspend", "--reason", "carrier audit").exit_code == 0
    return repo, state


COMMANDS = [
    ("status",),
    ("status", "--format", "json"),
    ("status", "spring-buyers"),
    ("explain", ANA),
    ("explain", BO, "--format", "json"),
    ("outbox",),
    ("outbox", "--format", "json"),
    ("credits", "show", "--limit", "0"),
    ("credits", "show", "--format", "json"),
    ("optout", "list"),
    ("optout", "list", "--format", "json"),
    ("replies", "--format", "json"),
    ("plan", "--format", "json"),
]


def answers(repo: Repo, state: str | Path) -> list[tuple[int, str]]:
    done = [run(repo, state, *command) for command in COMMANDS]
    return [(r.exit_code, r.output.replace(str(state), "STATE")) for r in done]


def test_sqlite_to_postgresql_to_sqlite_answers_every_command_the_same(
    built: tuple[Repo, Path], postgres_server: Server, tmp_path: Path
) -> None:
    repo, original = built
    url = postgres_server.create_database(empty=True)
    back = tmp_path / "back" / "state.db"
    to_pg = copy(repo, original, url, "--format", "json")
    assert to_pg.exit_code == 0, to_pg.output
    assert PASSWORD not in to_pg.output
    report = json.loads(to_pg.output)
    assert report["verified"] is True
    assert report["tables"]["enrollments"] == 2 and report["tables"]["attempts"] == 2
    assert report["tables"]["webhook_events"] == 3 and report["tables"]["optout_history"] == 4
    with psycopg.connect(url) as conn:  # the planner knows the copied rows at once
        analyzed = conn.execute(
            "SELECT count(*) FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL"
            " AND relname IN ('enrollments', 'attempts', 'ledger')"
        ).fetchone()
    assert analyzed == (3,)
    to_file = copy(repo, url, back)
    assert to_file.exit_code == 0, to_file.output
    assert PASSWORD not in to_file.output and "verified" in to_file.output

    first = dump(original)
    assert first["lease"] == [(None,)]
    assert dump(url) == first
    assert dump(back) == first
    expected = answers(repo, original)
    assert all(code in (0, 2) for code, _ in expected), expected
    assert answers(repo, url) == expected
    assert answers(repo, back) == expected


def test_the_copy_goes_on_where_the_source_stopped(
    built: tuple[Repo, Path], postgres_server: Server
) -> None:
    """New rows continue after the copied ids (the sequences follow them), and an apply
    runs on the copy at once (its lease is free)."""
    repo, original = built
    url = postgres_server.create_database(empty=True)
    assert copy(repo, original, url).exit_code == 0
    before = dump(url)
    assert run(repo, url, "resume").exit_code == 0
    assert run(repo, url, "credits", "add", "5").exit_code == 0
    assert run(repo, url, "optout", "add", "+14155550125").exit_code == 0
    repo.group(rows=[(ANA, "Ana"), (BO, "Bo"), ("+16175550102", "Cy")])
    applied = run(repo, url, "apply", now=LATER)
    assert applied.exit_code == 0, applied.output
    after = dump(url)
    for table in ("ledger", "attempts", "enrollments", "optout_history", "runs"):
        old = max((row[0] for row in before[table]), default=0)
        new = [row[0] for row in after[table] if row not in before[table]]
        assert new and min(new) > old, table
    assert after["meta"][0][0] > before["meta"][0][0]


def test_a_destination_holding_a_state_is_refused(
    built: tuple[Repo, Path], postgres_server: Server, tmp_path: Path
) -> None:
    repo, original = built
    other = Repo(tmp_path / "other").standard()
    assert run(other, other.state, "suspend", "--reason", "audit").exit_code == 0  # meta only
    kept = dump(other.state)
    refused = copy(repo, original, other.state)
    assert refused.exit_code == 1
    assert refused.output.strip() == (
        f"error: {other.state}: the destination already holds a state (meta is not empty); "
        "copy into a new file or an empty database"
    )
    assert dump(other.state) == kept
    url = postgres_server.create_database(empty=True)
    assert copy(repo, original, url).exit_code == 0
    again = copy(repo, original, url)
    assert again.exit_code == 1 and len(again.output.strip().splitlines()) == 1
    assert "already holds a state (campaigns is not empty)" in again.output
    assert PASSWORD not in again.output


@pytest.mark.parametrize(
    ("damage", "detail"),
    [
        ("ALTER TABLE attempts ADD COLUMN extra TEXT", "column attempts.extra"),
        ("DROP TABLE webhook_events", "missing table webhook_events"),
        ("CREATE TABLE notes (x TEXT)", "unknown table notes"),
    ],
)
def test_a_source_whose_schema_differs_is_refused(
    built: tuple[Repo, Path], tmp_path: Path, damage: str, detail: str
) -> None:
    repo, original = built
    with sqlite3.connect(original) as conn:
        conn.execute(damage)
    conn.close()
    destination = tmp_path / "copy.db"
    refused = copy(repo, original, destination)
    assert refused.exit_code == 1
    assert refused.output.strip() == (
        f"error: {original}: the state's schema differs from this campaignctl's ({detail}); "
        "refusing to copy it"
    )
    assert not destination.exists()  # the file it would have made is not left behind


def test_a_damaged_source_file_is_refused(built: tuple[Repo, Path], tmp_path: Path) -> None:
    repo, original = built
    data = original.read_bytes()
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(data[: len(data) // 2 + 3])
    refused = copy(repo, damaged, tmp_path / "copy.db")
    assert refused.exit_code == 1 and len(refused.output.strip().splitlines()) == 1
    assert str(damaged) in refused.output
    assert not (tmp_path / "copy.db").exists()


def test_progress_is_shown_on_a_terminal_only(built: tuple[Repo, Path], tmp_path: Path) -> None:
    _, original = built
    command = [sys.executable, "-m", "campaignctl", "state", "copy", str(original)]
    main, terminal = pty.openpty()
    with subprocess.Popen(
        [*command, str(tmp_path / "on-a-terminal.db")],
        stdout=subprocess.PIPE, stderr=terminal, env=env_without_twilio(),
    ) as process:  # fmt: skip
        os.close(terminal)
        shown = b""
        while True:  # until the process closes the terminal (EIO) or ends it
            try:
                chunk = os.read(main, 4096)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
        assert process.wait(timeout=120) == 0
    os.close(main)
    lines = shown.decode().replace("\r\n", "\n").split("\r")
    assert "  enrollments: 2 of 2 rows" in [line.strip("\n") for line in lines]
    assert "  webhook_events: 3 of 3 rows\n" in lines
    piped = subprocess.run(
        [*command, str(tmp_path / "piped.db")],
        capture_output=True, text=True, timeout=120, env=env_without_twilio(),
    )  # fmt: skip
    assert piped.returncode == 0 and piped.stderr == ""


# ------------------------------------------------------------------ random round trips

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12).filter(
    lambda s: "\x00" not in s
)
INSTANT = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)


@st.composite
def small_states(draw: st.DrawFn) -> dict[str, Any]:
    phones = draw(st.lists(st.from_regex(r"\+1[2-9]\d{9}", fullmatch=True), max_size=5,
                           unique=True))  # fmt: skip
    return {
        "campaigns": draw(st.lists(st.sampled_from(["a", "b", "c"]), unique=True, max_size=3)),
        "phones": phones,
        "credits": draw(st.lists(st.tuples(st.integers(1, 10**6), TEXT | st.none()), max_size=4)),
        "optouts": draw(st.lists(st.tuples(st.sampled_from(phones or [ANA]), TEXT), max_size=4)),
        "events": draw(st.lists(TEXT.filter(bool), max_size=3, unique=True)),
        "at": draw(INSTANT),
        "suspended": draw(st.none() | TEXT.filter(str.strip)),
    }


def make_state(state: Path, spec: dict[str, Any]) -> None:
    from tests.delivery.helpers import launch

    at: datetime = spec["at"]
    with Store.open(state) as store:
        for amount, note in spec["credits"]:
            store.add_credits(amount, note, at)
        for name in spec["campaigns"]:
            store.set_campaign_status(name, "active", None, at, launch=launch(True))
            from campaignctl.core.types import Contact
            from campaignctl.errors import Location

            store.enroll_many(
                name,
                [Contact(p, {"first_name": "Zoë"}, ("America/Chicago",), None,
                         Location("g.csv", i + 2)) for i, p in enumerate(spec["phones"])],
                at,
            )  # fmt: skip
        for phone, note in spec["optouts"]:
            store.add_optout(phone, "manual", note, at + timedelta(seconds=1))
        for sid in spec["events"]:
            with store._write() as conn:
                conn.execute("INSERT INTO webhook_events (message_sid, at) VALUES (?, ?)",
                             [sid, "2026-01-01T00:00:00.000000Z"])  # fmt: skip
        if spec["suspended"] is not None:
            store.suspend(spec["suspended"], at)


@pytest.fixture
def scratch(postgres_server: Server) -> Iterator[list[str]]:
    made: list[str] = []
    yield made
    for url in made:
        postgres_server.drop_database(url)


@settings(max_examples=12, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=small_states())
def test_random_small_states_round_trip_exactly(
    spec: dict[str, Any], tmp_path_factory: pytest.TempPathFactory, postgres_server: Server,
    scratch: list[str],
) -> None:  # fmt: skip
    from campaignctl.store.copy import copy_between

    root = tmp_path_factory.mktemp("round")
    source = root / "source.db"
    make_state(source, spec)
    url = postgres_server.create_database(empty=True)
    scratch.append(url)
    # batches of two rows: every table of more than two is read over several pages
    there = copy_between(source, url, batch_rows=2)
    back = copy_between(url, root / "back.db", batch_rows=2)
    assert there == back
    assert dump(url) == dump(source) == dump(root / "back.db")
