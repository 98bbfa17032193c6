"""The dashboard tests' state: built by real applies and real webhooks, on each backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from campaignctl.clock import FrozenClock
from campaignctl.dashboard.app import DashboardApp
from campaignctl.dashboard.pages import Options
from tests.cli.repo import Repo
from tests.dashboard.world import LATER, World, build


@pytest.fixture
def world(tmp_path: Path, state: str) -> World:
    return build(Repo(tmp_path), state)


@pytest.fixture
def make_app(world: World) -> Iterator[Callable[..., DashboardApp]]:
    """Makes dashboard apps on the world's state (closed at the end), at LATER."""
    made: list[DashboardApp] = []

    def make(token: str | None = None, **options: bool | float | int) -> DashboardApp:
        app = DashboardApp(world.state, world.repo.dir, FrozenClock(LATER).now, token=token,
                           options=Options(**options))  # type: ignore[arg-type]  # fmt: skip
        made.append(app)
        return app

    yield make
    for app in made:
        app.close()
