"""The command line a newcomer meets (SPEC section 4): every global option before or after
every command, subcommand groups included; a usage error in one line plus the usage, exit
1; and with `--format json`, every error as a JSON object."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.repo import Repo, env_without_twilio
from tests.newcomer.helpers import cli

COMMANDS = [
    ["validate"],
    ["plan"],
    ["apply"],
    ["reconcile", "--once"],
    ["status"],
    ["explain", "+12125550100"],
    ["credits", "add", "5"],
    ["credits", "show"],
    ["optout", "add", "+12125550100"],
    ["optout", "remove", "+12125550100", "--reason", "asked"],
    ["optout", "list"],
    ["suspend", "--reason", "x"],
    ["resume"],
    ["outbox"],
    ["webhooks", "serve", "--public-url", "https://hooks.example.com"],
    ["twilio-emulator"],
    ["template", "copy", "a", "b"],
    ["schema", "export", "out"],
    ["state", "copy", "a.db", "b.db"],
]


def placements(command: list[str], option: list[str]) -> list[list[str]]:
    """The option before the command, after it, and (for a group) between the group and
    its command."""
    words = [w for w in command]
    out = [option + words, words + option]
    if command[0] in ("credits", "optout", "webhooks", "template", "schema", "state"):
        out.append(words[:1] + option + words[1:])
    return out


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_every_global_option_is_taken_in_every_place(tmp_path: Path, command: list[str]) -> None:
    """A directory given as --state is refused by the option itself: the refusal proves the
    option was read where it stands (an option not taken there reads "no such option")."""
    for option in (
        ["--state", str(tmp_path)],
        ["--now", "0226-01-01"],
        ["--dir", str(tmp_path / "f")],
    ):
        (tmp_path / "f").write_text("")
        for words in placements(command, option):
            result = cli(*words)
            assert result.exit_code == 1, (words, result.output)
            assert "no such option" not in result.stderr.lower(), (words, result.stderr)
            assert option[0] in result.stderr or "is a file" in result.stderr, result.stderr


def test_a_global_option_between_a_group_and_its_command_is_used(tmp_path: Path) -> None:
    repo = Repo(tmp_path).standard()
    done = cli("template", "--dir", str(repo.dir), "copy", "buyer-followup", "buyer-v2")
    assert done.exit_code == 0, done.output
    assert (repo.dir / "templates").joinpath("buyer-v2.yaml").exists()
    served = cli("credits", "--state", str(repo.state), "--format", "json", "add", "7")
    assert json.loads(served.stdout)["balance"] == 7


def process(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "campaignctl", *args],
        capture_output=True, text=True, timeout=60, env=env_without_twilio(),
    )  # fmt: skip


def test_a_usage_error_is_one_line_and_the_usage_exit_1() -> None:
    for words in (["status", "--bogus"], ["plan", "--format", "yaml"], ["credits", "add", "x"],
                  ["nosuchcommand"]):  # fmt: skip
        result = process(*words)
        assert result.returncode == 1, result
        lines = result.stderr.splitlines()
        assert len(lines) == 2, result.stderr
        assert lines[0].startswith("error: ")
        assert lines[1].startswith("Usage: campaignctl") and "--help" in lines[1]
        assert result.stdout == ""


def test_with_format_json_every_error_is_json(tmp_path: Path) -> None:
    repo = Repo(tmp_path).standard()
    usage = process("status", "--bogus", "--format", "json")
    assert usage.returncode == 1
    body = json.loads(usage.stderr)
    assert "--bogus" in body["error"] and body["usage"].startswith("campaignctl status")
    assert repo.process("credits", "add", "50").returncode == 0
    assert repo.process("apply", "--now", "2026-03-02T17:00:00Z").returncode == 0
    repo.campaign(sender="+15125550148")  # a live campaign may not change its sender
    refused = repo.process("plan", "--format=json", "--now", "2026-03-02T17:05:00Z")
    assert refused.returncode == 1, refused
    body = json.loads(refused.stderr)
    assert body["file"].endswith("spring-buyers.yaml"), body
    assert isinstance(body["line"], int) and "sender" in body["error"], body
    assert refused.stdout == ""
    unknown = repo.process("--format", "json", "explain", "+14155550100")
    assert unknown.returncode == 1
    assert "unknown number" in json.loads(unknown.stderr)["error"]
    text = repo.process("explain", "+14155550100")
    assert text.stderr.startswith("error: ") and text.returncode == 1
