"""Small campaign repositories written to a temporary folder, and a runner for the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from campaignctl.cli.main import _register, cli

_register()

TEMPLATE = """\
apiVersion: campaignctl/v1
kind: Template
metadata:
  name: {name}
spec:
  status: published
  steps:
    - body: "Hi {{{{ first_name }}}}, it's Sam at Acme Realty. Still looking in {{{{ city | default('town') }}}}? Reply STOP to opt out."
    - waitDays: 30
      body: "Hi {{{{ first_name | default('there') }}}}, new listings this month."
"""

CAMPAIGN = """\
apiVersion: campaignctl/v1
kind: Campaign
metadata:
  name: {name}
spec:
  template: {template}
  prospectGroup: {group}
  status: {status}
  sender:
    from: "{sender}"
    messagesPerSecond: {mps}
"""

SETTINGS = """\
apiVersion: campaignctl/v1
kind: Settings
metadata:
  name: settings
spec:
  creditsPerSegment: 1
"""


def env_without_twilio() -> dict[str, str]:
    """This environment minus Twilio credentials: subprocesses use the outbox provider."""
    return {k: v for k, v in os.environ.items() if not k.startswith("TWILIO_")}


@dataclass
class Repo:
    root: Path

    @property
    def dir(self) -> Path:
        return self.root / "campaigns.d"

    @property
    def state(self) -> Path:
        return self.root / "state.db"

    def write(self, relative: str, text: str) -> Path:
        path = self.dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def template(self, name: str = "buyer-followup") -> None:
        self.write(f"templates/{name}.yaml", TEMPLATE.format(name=name))

    def campaign(
        self,
        name: str = "spring-buyers",
        *,
        status: str = "active",
        template: str = "buyer-followup",
        group: str = "open-house",
        sender: str = "+15125550147",
        mps: float = 1,
    ) -> None:
        self.write(
            f"campaigns/{name}.yaml",
            CAMPAIGN.format(
                name=name, template=template, group=group, status=status, sender=sender, mps=mps
            ),
        )

    def group(self, name: str = "open-house", rows: list[tuple[str, str]] | None = None) -> None:
        rows = rows if rows is not None else [("+12125550100", "Ana"), ("+13125550101", "Bo")]
        csv = "phone,first_name,city\n" + "".join(f"{p},{n},Austin\n" for p, n in rows)
        self.write(f"groups/{name}.csv", csv)
        self.write(
            f"groups/{name}.yaml",
            f"apiVersion: campaignctl/v1\nkind: ProspectGroup\nmetadata:\n  name: {name}\n"
            f"spec:\n  defaultRegion: US\n  csv: {name}.csv\n",
        )

    def dnc(self, numbers: list[str]) -> None:
        self.write(
            "dnc.yaml",
            "apiVersion: campaignctl/v1\nkind: DoNotCallList\nmetadata:\n  name: house\n"
            f"spec:\n  numbers: {json.dumps(numbers)}\n",
        )

    def standard(self, **campaign: Any) -> Repo:
        self.template()
        self.group()
        self.campaign(**campaign)
        self.write("settings.yaml", SETTINGS)
        return self

    def run(self, *args: str, now: str | None = None) -> Result:
        base = ["--dir", str(self.dir), "--state", str(self.state)]
        if now is not None:
            base += ["--now", now]
        return CliRunner().invoke(cli, [*base, *args], catch_exceptions=False)

    def json(self, *args: str, now: str | None = None) -> dict[str, Any]:
        result = self.run(*args, "--format", "json", now=now)
        assert result.exit_code in (0, 2), result.output
        data: dict[str, Any] = json.loads(result.output)
        return data

    def process(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """The CLI as a real process (for exit codes, stderr, concurrency)."""
        full_env = env_without_twilio()
        full_env.update(env or {})
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "campaignctl",
                "--dir",
                str(self.dir),
                "--state",
                str(self.state),
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=full_env,
        )
