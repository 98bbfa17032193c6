"""`campaignctl suspend` / `resume` through the real CLI on a real state file."""

from __future__ import annotations

import json
from pathlib import Path

from campaignctl.store import Store
from tests.store.helpers import cli, later, run


def test_suspend_is_kept_in_the_state_until_resume(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    result = cli(path, "suspend", "--reason", "wrong link in spring")
    assert result.exit_code == 0 and "Sending suspended: wrong link in spring." in result.output
    with Store.open(path) as store:
        assert store.suspended() == "wrong link in spring"
    resumed = cli(path, "resume", now=later(1))
    assert resumed.output == "Sending resumed (was suspended: wrong link in spring).\n"
    assert cli(path, "resume").output == "Sending was not suspended.\n"
    with Store.open(path) as store:
        assert store.suspended() is None


def test_json_and_usage(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    document = json.loads(cli(path, "suspend", "--reason", "audit", "--format", "json").output)
    assert document == {"suspended": True, "reason": "audit", "since": "2026-03-02T15:00:00Z"}
    missing = run(path, "suspend")
    assert missing.returncode == 1 and "Missing option '--reason'" in missing.stderr
    assert json.loads(cli(path, "resume", "--format", "json").output)["suspended"] is False
