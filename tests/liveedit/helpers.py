"""A campaign repository run through the real CLI on a state given as `--state` takes it
(a SQLite file or a PostgreSQL URL), and the files the live-edit tests write into it."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from campaignctl.cli.main import cli
from tests.cli.repo import SETTINGS, Repo, env_without_twilio

NOON = "2026-03-02T17:00:00Z"  # 12:00 in New York, 11:00 in Chicago
LATER = "2026-03-02T17:15:00Z"
ANA, BO = "+12125550100", "+13125550101"


def days_after_noon(days: int) -> str:
    at = datetime(2026, 3, 2, 17, tzinfo=UTC) + timedelta(days=days)
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def template(name: str, steps: list[tuple[int, str]], status: str = "published") -> str:
    """A template's YAML: (waitDays, body) a step; the first step's waitDays is left out."""
    lines = [
        "apiVersion: campaignctl/v1",
        "kind: Template",
        "metadata:",
        f"  name: {name}",
        "spec:",
        f"  status: {status}",
        "  steps:",
    ]
    for index, (wait, body) in enumerate(steps):
        if index == 0:
            lines.append(f"    - body: {json.dumps(body)}")
        else:
            lines += [f"    - waitDays: {wait}", f"      body: {json.dumps(body)}"]
    return "\n".join(lines) + "\n"


FIRST = "Hi {{ first_name }}, it's Sam at Acme Realty. Reply STOP to opt out."
SECOND = "Hi {{ first_name | default('there') }}, new listings this month."
FIXED = "Hi {{ first_name | default('there') }}, new listings in Austin this month."
THIRD = "Hi {{ first_name | default('there') }}, prices dropped this spring."


def campaign(
    name: str = "spring-buyers",
    template_name: str = "buyer-followup",
    group: str = "open-house",
    *,
    sender: str = "+15125550147",
    extra: str = "",
) -> str:
    return (
        "apiVersion: campaignctl/v1\nkind: Campaign\nmetadata:\n"
        f"  name: {name}\nspec:\n  template: {template_name}\n  prospectGroup: {group}\n"
        f'  status: active\n  sender:\n    from: "{sender}"\n{extra}'
    )


@dataclass
class Live:
    """A repository and the state it is applied to."""

    repo: Repo
    state: str

    @classmethod
    def standard(cls, root: Path, state: str) -> Live:
        live = cls(Repo(root), state)
        live.write(
            "templates/buyer-followup.yaml", template("buyer-followup", [(0, FIRST), (30, SECOND)])
        )
        live.repo.group()
        live.write("campaigns/spring-buyers.yaml", campaign())
        live.write("settings.yaml", SETTINGS)
        return live

    def write(self, relative: str, text: str) -> Path:
        return self.repo.write(relative, text)

    def run(self, *args: str, now: str = NOON) -> Result:
        base = ["--dir", str(self.repo.dir), "--state", self.state, "--now", now]
        return CliRunner().invoke(cli, [*base, *args], catch_exceptions=False)

    def json(self, *args: str, now: str = NOON, code: int = 0) -> dict[str, Any]:
        result = self.run(*args, "--format", "json", now=now)
        assert result.exit_code == code, result.output
        data: dict[str, Any] = json.loads(result.stdout)
        return data

    def process(self, *args: str, now: str = NOON) -> subprocess.CompletedProcess[str]:
        """The CLI as a real process: exit status, stdout and stderr apart."""
        return subprocess.run(
            [sys.executable, "-m", "campaignctl", "--dir", str(self.repo.dir),
             "--state", self.state, "--now", now, *args],
            capture_output=True,
            text=True,
            timeout=120,
            env=env_without_twilio(),
        )  # fmt: skip

    def sends(self, plan: dict[str, Any]) -> list[tuple[str, str, int, str]]:
        return sorted(
            (a["campaign"], a["phone"], a["step"], a["body"])
            for a in plan["actions"]
            if a["type"] == "send"
        )
