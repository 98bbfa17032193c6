"""The CLI as real processes on a PostgreSQL state: apply, status and explain through
`--state postgresql://...` (and CAMPAIGNCTL_STATE), two applies at once sending each message
once, and the password never in what a command prints."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psycopg

from campaignctl.store import mask
from tests.cli.repo import Repo, env_without_twilio
from tests.postgres import PASSWORD, Server

NOON = "2026-03-02T17:00:00Z"  # 12:00 in New York, 11:00 in Chicago


def campaignctl(
    repo: Repo, *args: str, state: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = env_without_twilio()
    full_env.update(env or {})
    where = ["--state", state] if state is not None else []
    return subprocess.run(
        [sys.executable, "-m", "campaignctl", "--dir", str(repo.dir), *where, *args],
        capture_output=True, text=True, timeout=120, env=full_env,
    )  # fmt: skip


def test_apply_status_and_explain_on_postgresql(tmp_path: Path, postgres_server: Server) -> None:
    url = postgres_server.create_database(empty=True)
    repo = Repo(tmp_path).standard()
    added = campaignctl(repo, "credits", "add", "10", "--now", NOON, state=url)
    assert added.returncode == 0, added.stderr
    applied = campaignctl(repo, "apply", "--now", NOON, state=url)
    assert applied.returncode == 0, applied.stderr
    assert "2 sent" in applied.stdout
    from_env = {"CAMPAIGNCTL_STATE": url}
    status = campaignctl(repo, "status", "--format", "json", "--now", NOON, env=from_env)
    assert status.returncode == 0, status.stderr
    assert "spring-buyers" in status.stdout and '"balance": 8' in status.stdout
    explained = campaignctl(repo, "explain", "+12125550100", "--now", NOON, state=url)
    assert explained.returncode == 0, explained.stderr
    assert "spring-buyers" in explained.stdout and "sent" in explained.stdout
    missing = campaignctl(repo, "status", "nope", "--now", NOON, state=url)
    assert missing.returncode == 1
    assert missing.stderr.strip() == f"error: no campaign 'nope' in the state {mask(url)}"
    for done in (added, applied, status, explained, missing):
        assert PASSWORD not in done.stdout + done.stderr
    with psycopg.connect(url) as conn:
        sent = conn.execute('SELECT "to" FROM outbox ORDER BY "to"').fetchall()
    assert sent == [("+12125550100",), ("+13125550101",)]


def test_two_applies_at_once_send_each_message_once(
    tmp_path: Path, postgres_server: Server
) -> None:
    url = postgres_server.create_database()
    repo = Repo(tmp_path).standard(mps=50)
    numbers = [f"+1212555{n:04d}" for n in range(40)]
    repo.group(rows=[(number, "Ana") for number in numbers])
    assert campaignctl(repo, "credits", "add", "100", "--now", NOON, state=url).returncode == 0
    command = [sys.executable, "-m", "campaignctl", "--dir", str(repo.dir), "--state", url,
               "apply", "--now", NOON, "--format", "json"]  # fmt: skip
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    runs = [
        subprocess.Popen(command, env=env_without_twilio(), text=True, **pipes)  # type: ignore[call-overload]
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120) for run in runs]
    codes = [run.returncode for run in runs]
    for (out, err), code in zip(outputs, codes, strict=True):
        assert PASSWORD not in out + err
        # the second waits for the lease, or says another apply is running: never both send
        assert code == 0 or (code == 1 and "another apply is running" in err), err
    with psycopg.connect(url) as conn:
        sent = [r[0] for r in conn.execute('SELECT "to" FROM outbox')]
        balance = conn.execute("SELECT balance FROM meta").fetchone()
    assert sorted(sent) == sorted(numbers)  # each once
    assert balance == (100 - len(numbers),)
    reports = [json.loads(out) for (out, _), code in zip(outputs, codes, strict=True) if code == 0]
    assert reports
