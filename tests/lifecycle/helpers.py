"""Campaign repositories for the lifecycle tests, run through the real CLI on a state of
either backend (`state`: a file path or a PostgreSQL URL)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from click.testing import CliRunner, Result

from campaignctl.cli.main import cli
from tests.cli.repo import Repo

NOON = "2026-03-02T17:00:00Z"  # 12:00 in New York
ANA, BO, CY = "+12125550100", "+13125550101", "+12125550102"

ONE_STEP = """\
apiVersion: campaignctl/v1
kind: Template
metadata:
  name: {name}
spec:
  status: published
  steps:
    - body: "Hi {{{{ first_name }}}}, it's Sam at Acme Realty. Reply STOP to opt out."
"""


def at(days: int = 0, minutes: int = 0) -> str:
    """NOON plus days and minutes, as `--now` takes it."""
    moment = datetime(2026, 3, 2, 17, tzinfo=UTC) + timedelta(days=days, minutes=minutes)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class StateRepo(Repo):
    """A repository whose commands run on `where` (an SQLite path or a PostgreSQL URL)."""

    where: str = ""

    def run(self, *args: str, now: str | None = None) -> Result:
        base = ["--dir", str(self.dir), "--state", self.where]
        if now is not None:
            base += ["--now", now]
        return CliRunner().invoke(cli, [*base, *args], catch_exceptions=False)

    def one_step(self, name: str = "hello") -> None:
        self.write(f"templates/{name}.yaml", ONE_STEP.format(name=name))

    def apply(self, now: str) -> dict[str, Any]:
        result = self.run("apply", "--format", "json", now=now)
        assert result.exit_code == 0, result.output
        data: dict[str, Any] = json.loads(result.output)
        return data

    def status_row(self, name: str) -> dict[str, Any]:
        rows = self.json("status", "--status", "all")["campaigns"]
        return next(r for r in rows if r["name"] == name)

    def funded(self, credits: int = 100) -> StateRepo:
        assert self.run("credits", "add", str(credits), now=NOON).exit_code == 0
        return self


def kinds(plan: dict[str, Any], campaign: str | None = None) -> list[tuple[str, str | None]]:
    """(type, phone) of each action of a plan, of one campaign or all."""
    return [
        (a["type"], a.get("phone"))
        for a in plan["actions"]
        if campaign is None or a["campaign"] == campaign
    ]
