"""The read-only role CI plans with (the GRANTs the README gives), as a real role of the
test's PostgreSQL: `plan` in every form, `validate`, `status` and `explain` work with it;
`apply` and `credits add` refuse in one line, exit 1, and write nothing."""

from __future__ import annotations

import secrets
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from campaignctl.store import mask
from tests.cli.repo import Repo, env_without_twilio
from tests.postgres import PASSWORD, Server

NOON = "2026-03-02T17:00:00Z"
ANA = "+12125550100"
README = Path(__file__).resolve().parents[2] / "README.md"


def readme_grants(role: str, password: str, database: str) -> list[str]:
    """The statements README.md gives for the role, its name, password and database filled
    in: the test runs what the documentation says."""
    text = README.read_text(encoding="utf-8")
    block = text.split("**A read-only role for CI.**", 1)[1].split("```sql\n", 1)[1]
    lines = block.split("```", 1)[0].splitlines()
    statements = [line for line in lines if line.strip() and not line.startswith("--")]
    assert len(statements) >= 4
    return [
        line.replace("campaignctl_ci", role)
        .replace("'...'", f"'{password}'")
        .replace("DATABASE campaigns", f"DATABASE {database}")
        for line in statements
    ]


def campaignctl(repo: Repo, state: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "campaignctl", "--dir", str(repo.dir), "--state", state,
         "--now", NOON, *args],
        capture_output=True, text=True, timeout=120, env=env_without_twilio(),
    )  # fmt: skip


def contents(url: str) -> list[object]:
    """Everything a command could write: meta, the lease, and every table's rows."""
    with psycopg.connect(url) as conn:
        tables = [
            str(r[0])
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        return [(t, conn.execute(f'SELECT * FROM "{t}" ORDER BY 1').fetchall()) for t in tables]


@pytest.fixture
def readonly(tmp_path: Path, postgres_server: Server) -> tuple[Repo, str, str]:
    """A repository, the owner's URL of a state with a run in it, and the URL of a role
    given only the README's GRANTs."""
    url = postgres_server.create_database(empty=True)
    repo = Repo(tmp_path).standard()
    assert campaignctl(repo, url, "credits", "add", "1").returncode == 0
    assert campaignctl(repo, url, "apply").returncode == 0  # one sent, one short of credits
    role, password = f"ci_{secrets.token_hex(4)}", "ro-" + secrets.token_hex(8)
    parts = urlsplit(url)
    database = parts.path.lstrip("/")
    for statement in readme_grants(role, password, database):
        postgres_server.run_sql(url, statement)
    netloc = f"{role}:{password}@{parts.hostname}:{parts.port}"
    return repo, url, urlunsplit(parts._replace(netloc=netloc))


@pytest.mark.parametrize(
    "command",
    [
        ("plan",),
        ("plan", "--format", "json"),
        ("plan", "--format", "markdown"),
        ("validate",),
        ("status",),
        ("status", "--format", "json"),
        ("explain", ANA),
    ],
)
def test_the_commands_that_read_work_with_the_role(
    readonly: tuple[Repo, str, str], command: tuple[str, ...]
) -> None:
    repo, owner, ci = readonly
    before = contents(owner)
    done = campaignctl(repo, ci, *command)
    assert done.returncode in (0, 2), done.stderr  # plan: 2 when there are changes
    assert done.stderr == ""

    # the first line of plan names the state, with the role it reads as
    def body(out: str) -> str:
        return out.split("\n", 1)[1] if out.startswith("State: ") else out

    assert body(campaignctl(repo, owner, *command).stdout) == body(done.stdout)
    assert contents(owner) == before


@pytest.mark.parametrize("command", [("apply",), ("credits", "add", "5")])
def test_the_commands_that_write_refuse_in_one_line(
    readonly: tuple[Repo, str, str], command: tuple[str, ...]
) -> None:
    repo, owner, ci = readonly
    assert campaignctl(repo, owner, "credits", "add", "5").returncode == 0  # more to send
    before = contents(owner)
    refused = campaignctl(repo, ci, *command)
    assert refused.returncode == 1
    assert refused.stdout == "" or refused.stdout.startswith("State: ")  # apply names it
    assert refused.stdout.count("\n") <= 1
    assert refused.stderr == (
        f"error: {mask(ci)}: the state database is read-only; this command needs to write to it\n"
    )
    assert PASSWORD not in refused.stderr and urlsplit(ci).password not in refused.stderr
    assert contents(owner) == before
