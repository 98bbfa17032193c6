"""Settings for the whole suite, and the state every store test runs on (SQLite and
PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings

from tests.postgres import Server, start_server

# The suite runs on both cores beside daemons and databases: an example's time says nothing
# of its correctness here, so no per-example deadline (speed is measured by `make bench`).
# No explain phase: it runs a failing example again under a line tracer, which on the
# histories of the engine's properties takes longer than the test's timeout, so a failure
# would be reported as a timeout instead of the example.
settings.register_profile(
    "campaignctl",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
)
settings.load_profile("campaignctl")


# ----------------------------------------------------------------------------- the state


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Server]:
    """This process's PostgreSQL server (each xdist worker starts its own, see postgres.py);
    the tests that need one are skipped, saying why, only where no server binaries exist."""
    try:
        server = start_server()
    except FileNotFoundError as exc:
        pytest.skip(f"PostgreSQL: {exc}")
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """Which database holds the state: every test that takes `state` runs on both."""
    return str(request.param)


@pytest.fixture
def state(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A new state: a file path (SQLite) or the URL of a fresh database (PostgreSQL), as
    `--state` takes it."""
    if backend == "sqlite":
        yield str(tmp_path / "state.db")
        return
    server: Server = request.getfixturevalue("postgres_server")
    url = server.create_database()
    yield url
    server.drop_database(url)


@pytest.fixture
def new_state(
    backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Callable[[], str]]:
    """Makes new states on demand (a property test wants one per example), on each backend;
    the databases made are dropped at the end."""
    if backend == "sqlite":
        yield lambda: str(tmp_path_factory.mktemp("state") / "state.db")
        return
    server: Server = request.getfixturevalue("postgres_server")
    made: list[str] = []

    def make() -> str:
        made.append(server.create_database())
        return made[-1]

    yield make
    for url in made:
        server.drop_database(url)
