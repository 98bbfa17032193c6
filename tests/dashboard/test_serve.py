"""`campaignctl dashboard` as a real process serving real HTTP: it says where it listens,
answers, stops on SIGTERM with exit 0, and works with a read-only PostgreSQL role."""

from __future__ import annotations

import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from campaignctl.store import mask
from tests.cli.repo import Repo, env_without_twilio
from tests.cli.test_readonly_role import readme_grants
from tests.dashboard.test_app import contents
from tests.dashboard.world import LATER, SPRING, World, build
from tests.postgres import PASSWORD, Server

LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")
START_SECONDS = 60


class Served:
    def __init__(self, process: subprocess.Popen[str], url: str, lines: list[str]) -> None:
        self.process, self.url, self.lines = process, url, lines

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
        request = urllib.request.Request(self.url + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()


@contextmanager
def served(
    world: World, state: str, *args: str, env: dict[str, str] | None = None
) -> Iterator[Served]:
    """`campaignctl dashboard --port 0` in its own process, until the block ends."""
    full_env = {**env_without_twilio(), **(env or {})}
    process = subprocess.Popen(
        [sys.executable, "-m", "campaignctl", "--dir", str(world.repo.dir), "--state", state,
         "--now", LATER.strftime("%Y-%m-%dT%H:%M:%SZ"), "dashboard", "--port", "0", *args],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=full_env,
    )  # fmt: skip
    assert process.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + START_SECONDS
    url = None
    while url is None and time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        lines.append(line)
        found = LISTENING.search(line)
        url = found.group(1) if found else None
    try:
        assert url is not None, "".join(lines)
        yield Served(process, url, lines)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


def test_it_serves_the_page_and_stops_on_sigterm(world: World) -> None:
    with served(world, world.state) as server:
        assert "(no token (this machine only))" in server.lines[0]
        status, body = server.get("/")
        assert status == 200 and 'data-campaign="spring-buyers"' in body
        assert server.get("/healthz") == (200, "ok\n")
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=30) == 0
        rest = server.process.stderr.read() if server.process.stderr else ""
        assert "Traceback" not in rest


def test_a_token_from_the_environment_guards_it(world: World) -> None:
    token = secrets.token_hex(16)
    with served(world, world.state, env={"CAMPAIGNCTL_DASHBOARD_TOKEN": token}) as server:
        assert "(a token)" in server.lines[0]
        assert server.get("/")[0] == 401
        status, body = server.get("/", {"Authorization": f"Bearer {token}"})
        assert status == 200 and "spring-buyers" in body
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=30) == 0


def test_a_read_only_postgresql_role_is_enough(tmp_path: Path, postgres_server: Server) -> None:
    url = postgres_server.create_database(empty=True)
    world = build(Repo(tmp_path), url)
    role, password = f"ro_{secrets.token_hex(4)}", "ro-" + secrets.token_hex(8)
    parts = urlsplit(url)
    for statement in readme_grants(role, password, parts.path.lstrip("/")):
        postgres_server.run_sql(url, statement)
    reader = urlunsplit(parts._replace(netloc=f"{role}:{password}@{parts.hostname}:{parts.port}"))
    before = contents(url)
    with served(world, reader) as server:
        assert mask(reader) in server.lines[0] and password not in "".join(server.lines)
        deadline = time.monotonic() + START_SECONDS  # what waits now is computed beside it
        status, body = server.get("/")
        while 'data-wait="' not in body and time.monotonic() < deadline:
            status, body = server.get("/")
        assert status == 200 and 'data-campaign="spring-buyers"' in body, body
        assert "7" in re.findall(
            r'data-wait="not due yet"><td>[^<]+</td><td data-field="count">(\d+)', body
        )
        status, body = server.get(f"/explain?phone={SPRING[2].replace('+', '%2B')}")
        assert status == 200 and "delivery delivered" in body
        assert PASSWORD not in body and password not in body
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=30) == 0
    assert contents(url) == before
