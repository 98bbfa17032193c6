"""`apply` and `reconcile --once` say when sending stopped early: exit status 3 and
"stopped" in the JSON, with what was not sent still due; the summary counts what was really
sent and debited."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from campaignctl.errors import EXIT_SENDING_STOPPED
from tests.cli.repo import Repo

NOON = "2026-03-02T17:00:00Z"


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens: the provider is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def twilio_down() -> dict[str, str]:
    return {
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "f" * 32,
        "CAMPAIGNCTL_TWILIO_BASE_URL": f"http://127.0.0.1:{closed_port()}",
    }


def test_the_provider_down_exits_3_and_the_messages_stay_due(tmp_path: Path) -> None:
    repo = Repo(tmp_path).standard()
    assert repo.process("credits", "add", "10").returncode == 0
    down = repo.process("--now", NOON, "--format", "json", "apply", env=twilio_down())
    assert down.returncode == EXIT_SENDING_STOPPED == 3, down.stderr
    report = json.loads(down.stdout)
    assert report["stopped"] and "not taking messages" in report["stopped"]
    assert report["applied"]["sent"] == 0 and report["applied"]["debited"] == 0
    assert report["applied"]["balance"] == 10
    assert report["summary"].get("send", 0) == 0  # nothing is reported sent
    assert "Sending stopped early" in down.stderr and "still due" in down.stderr

    once = repo.process("--now", NOON, "reconcile", "--once", "--no-watch", env=twilio_down())
    assert once.returncode == 3, once.stderr
    assert "stopped: the provider is not taking messages" in once.stderr

    # the provider is back (the outbox here): both messages go out, none was lost
    back = repo.process("--now", NOON, "apply")
    assert back.returncode == 0, back.stderr
    assert "2 sent; 2 credits debited, balance 8" in back.stdout
    outbox = json.loads(repo.process("outbox", "--format", "json").stdout)["messages"]
    assert sorted(m["to"] for m in outbox) == ["+12125550100", "+13125550101"]
