"""A throwaway PostgreSQL server for the tests, made from the machine's server binaries.

Each pytest process (each xdist worker) starts its own cluster in a temporary directory, on
a free port of 127.0.0.1 and a unix socket in that directory, and stops it at the end; every
test gets a fresh database in it. initdb refuses to run as root, so as root the cluster is
made and run by the `postgres` user (`runuser`). With CAMPAIGNCTL_TEST_POSTGRES_DSN set, the
tests use that server instead (a role that may create databases), and start nothing.

The cluster asks a password over TCP (the URL the tests use carries it, so every test also
shows that the password is never printed) and trusts the unix socket (the fixture's own
administration). fsync is off: a test server needs no durability, and the state's own
guarantees are about what a commit means, which fsync does not change.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from campaignctl.store import Store

DSN_VARIABLE = "CAMPAIGNCTL_TEST_POSTGRES_DSN"
PASSWORD = "pw-" + secrets.token_hex(8)  # a secret no output may ever show
START_SECONDS = 60


def server_bindir() -> Path | None:
    """Where initdb and pg_ctl are: `pg_config --bindir`, else Debian's newest."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        found = subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        if found and (Path(found) / "initdb").exists():
            return Path(found)
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return debian[-1].parent if debian else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    """A PostgreSQL server the tests may create databases in."""

    url: str  # of the maintenance database, with credentials
    cluster: Path | None = None  # the data directory of a cluster we started
    owner: str | None = None  # the user that runs it (as root: postgres)
    bindir: Path | None = None
    template: str | None = None  # a database holding the schema, copied for each test
    _names: Iterator[int] = field(default_factory=itertools.count)

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.url, autocommit=True)

    def database_url(self, name: str) -> str:
        parts = urlsplit(self.url)
        return urlunsplit(parts._replace(path="/" + name))

    def create_database(self, *, empty: bool = False) -> str:
        """A new database holding the state's schema (copied from the template: migrating
        costs more than copying), or an empty one; returns its URL (with the password)."""
        if empty:
            return self._create(None)
        if self.template is None:
            self.template = self._create(None)
            Store.open(self.template).close()  # the schema, as any first open makes it
        return self.clone_database(self.template)

    def clone_database(self, url: str, *, file_copy: bool = False) -> str:
        """A new database copied from the one at `url` (which nobody may be connected to);
        `file_copy` copies its files instead of writing every page to the WAL (faster for a
        large database, at the price of a checkpoint)."""
        return self._create(urlsplit(url).path.lstrip("/"), file_copy=file_copy)

    def _create(self, template: str | None, *, file_copy: bool = False) -> str:
        name = f"state_{os.getpid()}_{next(self._names)}_{secrets.token_hex(3)}"
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        if file_copy:
            statement += sql.SQL(" STRATEGY FILE_COPY")
        with self._admin() as conn:
            conn.execute(statement)
        return self.database_url(name)

    def drop_database(self, url: str) -> None:
        name = urlsplit(url).path.lstrip("/")
        with self._admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def run_sql(self, url: str, statement: str) -> None:
        """One statement on a database, as the administrator (for a test's setup)."""
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(statement.encode())

    def restart(self) -> None:
        """Stop the cluster (fast: every session is cut) and start it again, on the same
        port; returns once it takes connections."""
        if self.cluster is None or self.bindir is None:
            raise RuntimeError("only a cluster these tests started can be restarted")
        log = self.cluster.parent / "log"
        done = _as_owner(self.owner, [
            str(self.bindir / "pg_ctl"), "-D", str(self.cluster), "-l", str(log),
            "-m", "fast", "-w", "-t", str(START_SECONDS), "restart",
        ])  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl restart failed: {done.stderr.strip()}")

    def stop(self) -> None:
        if self.template is not None:
            self.drop_database(self.template)
        if self.cluster is None or self.bindir is None:
            return
        _as_owner(
            self.owner,
            [str(self.bindir / "pg_ctl"), "-D", str(self.cluster), "-m", "immediate", "-w", "stop"],
        )
        shutil.rmtree(self.cluster.parent, ignore_errors=True)


def _as_owner(owner: str | None, argv: list[str]) -> subprocess.CompletedProcess[str]:
    command = ["runuser", "-u", owner, "--", *argv] if owner else argv
    return subprocess.run(
        command, capture_output=True, text=True, timeout=START_SECONDS, check=False
    )


def start_server(*, durable: bool = False) -> Server:
    """The server of CAMPAIGNCTL_TEST_POSTGRES_DSN, or a new cluster of our own: fsync off
    for the tests, or, `durable`, with PostgreSQL's defaults (the benchmarks)."""
    given = os.environ.get(DSN_VARIABLE)
    if given:
        return Server(url=given)
    bindir = server_bindir()
    if bindir is None:
        raise FileNotFoundError("no PostgreSQL server binaries (initdb, pg_ctl) on this machine")
    owner = "postgres" if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="campaignctl-pg-"))
    if owner:
        shutil.chown(root, owner)
    data, password_file = root / "data", root / "password"
    password_file.write_text(PASSWORD + "\n")
    if owner:
        shutil.chown(password_file, owner)
    made = _as_owner(owner, [
        str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-E", "UTF8",
        "--locale=C.UTF-8", "--auth-local=trust", "--auth-host=scram-sha-256",
        f"--pwfile={password_file}",
    ])  # fmt: skip
    if made.returncode != 0:
        raise RuntimeError(f"initdb failed: {made.stderr.strip()}")
    port = _free_port()
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=200"
    if not durable:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    started = _as_owner(owner, [
        str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-o", options,
        "-w", "-t", str(START_SECONDS), "start",
    ])  # fmt: skip
    if started.returncode != 0:
        log = (root / "log").read_text() if (root / "log").exists() else started.stderr
        raise RuntimeError(f"pg_ctl start failed: {log.strip()}")
    url = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{port}/postgres"
    return Server(url=url, cluster=data, owner=owner, bindir=bindir)
