"""The fixtures of the controller's tests: a standard repo with credits, and the
controller's log lines."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.repo import Repo


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """The controller's log lines (its logger may not propagate once the CLI set it up)."""
    logger = logging.getLogger("campaignctl")
    handlers, propagate = logger.handlers[:], logger.propagate
    logger.handlers[:], logger.propagate = [caplog.handler], False
    caplog.set_level(logging.INFO, logger="campaignctl")
    yield caplog
    logger.handlers[:], logger.propagate = handlers, propagate


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    repo = Repo(tmp_path).standard()
    repo.run("credits", "add", "50", now="2026-03-01T00:00:00Z")
    return repo
