"""The real CLI, run in process with its output streams kept apart."""

from __future__ import annotations

from click.testing import CliRunner, Result

import tests.cli.repo  # noqa: F401  (registers every command)
from campaignctl.cli.main import cli as campaignctl


def cli(*args: str) -> Result:
    return CliRunner().invoke(campaignctl, list(args), catch_exceptions=False)
