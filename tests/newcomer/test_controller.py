"""The controller as a real process, as an operator reads it: deferrals counted once per
message with a gauge of what waits now, JSON log lines with structured fields, and one tick
per file change."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.repo import Repo, env_without_twilio
from tests.controller.test_reconcile import Controller, free_port, wait_for

NIGHT = "2026-03-02T08:00:00Z"  # 03:00 in New York: every contact waits for quiet hours
NOON = "2026-03-02T17:00:00Z"


class NightController(Controller):
    """`campaignctl reconcile --log-format json` as a real process, ticking at a frozen
    `now` (the tests of the controller's own start at noon); its log lines read as JSON."""

    def __init__(self, repo: Repo, now: str, *args: str) -> None:
        self.log_path = repo.root / "controller.log"
        self.log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "campaignctl", "--dir", str(repo.dir), "--state",
             str(repo.state), "--now", now, "reconcile", "--log-format", "json", *args],
            stdout=self.log, stderr=subprocess.STDOUT, env=env_without_twilio(),
        )  # fmt: skip

    def entries(self) -> list[dict[str, Any]]:
        lines = self.output().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{") and line.endswith("}")]

    def ticks(self) -> list[dict[str, Any]]:
        return [e for e in self.entries() if e.get("event") == "tick"]


@pytest.fixture
def started() -> Iterator[Callable[..., NightController]]:
    controllers: list[NightController] = []

    def start(repo: Repo, now: str, *args: str) -> NightController:
        controller = NightController(repo, now, *args)
        controllers.append(controller)
        return controller

    yield start
    for controller in controllers:
        if controller.proc.poll() is None:
            controller.proc.kill()
            controller.proc.wait()


def scrape(port: int) -> dict[str, float]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as reply:
            text = reply.read().decode()
    except OSError:
        return {}
    found: dict[str, float] = {}
    for line in text.splitlines():
        match = re.fullmatch(r"([a-z_]+(?:\{[^}]*\})?) ([0-9.e+-]+)", line)
        if match:
            found[match[1]] = float(match[2])
    return found


def test_a_waiting_message_is_counted_once_and_the_gauge_shows_what_waits(
    tmp_path: Path, started: Callable[..., NightController]
) -> None:
    repo = Repo(tmp_path).standard()
    repo.run("credits", "add", "50", now=NIGHT)
    port = free_port()
    ctl = started(repo, NIGHT, "--interval", "1s", "--metrics-port", str(port))
    wait_for(lambda: len(ctl.ticks()) >= 4, timeout=30)  # the same two messages wait 4 ticks
    ticks = len(ctl.ticks())
    metrics = scrape(port)
    assert metrics['campaignctl_messages_deferred_total{reason="quiet_hours"}'] == 2.0
    assert metrics['campaignctl_messages_waiting{reason="quiet_hours"}'] == 2.0
    assert not any(k.startswith('campaignctl_actions_total{reason="quiet_hours"') for k in metrics)
    assert ticks >= 4
    assert ctl.stop() == 0


def test_json_log_lines_carry_structured_fields(
    tmp_path: Path, started: Callable[..., NightController]
) -> None:
    repo = Repo(tmp_path).standard()
    repo.run("credits", "add", "50", now=NOON)
    ctl = started(repo, NOON, "--interval", "1h")
    wait_for(lambda: len(ctl.ticks()) >= 1, timeout=30)
    assert ctl.stop() == 0
    tick = ctl.ticks()[0]
    assert tick["serial"] > 0
    assert tick["counts"]["send"] == 2 and tick["counts"]["credits"] == 2
    assert tick["campaigns"]["spring-buyers"]["send"] == 2
    assert isinstance(tick["seconds"], float)
    assert tick["now"] == NOON
    assert tick["balance"] == 48


def test_one_file_change_wakes_one_tick(
    tmp_path: Path, started: Callable[..., NightController]
) -> None:
    repo = Repo(tmp_path).standard()
    repo.run("credits", "add", "50", now=NOON)
    ctl = started(repo, NOON, "--interval", "1h")
    wait_for(lambda: len(ctl.ticks()) == 1, timeout=30)
    csv = repo.dir / "groups/open-house.csv"
    for number, name in (("+14155550102", "Cy"), ("+16175550103", "Di")):
        before = len(ctl.ticks())
        with csv.open("a") as f:  # one save: open, write, close
            f.write(f"{number},{name},Oakland\n")
        wait_for(lambda b=before: len(ctl.ticks()) > b, timeout=30)
    assert ctl.stop() == 0
    changes = [e for e in ctl.entries() if e.get("event") == "change"]
    assert len(changes) == 2, changes
    assert len(ctl.ticks()) == 3, [t["message"] for t in ctl.ticks()]
