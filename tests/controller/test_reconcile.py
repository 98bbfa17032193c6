"""The controller as a real process: first tick, file changes waking it, bad commits, signals,
metrics, --once. Its loop is tested in process in test_loop.py."""

from __future__ import annotations

import ctypes
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from campaignctl.store import Store
from tests.cli.repo import Repo, env_without_twilio

NOON = "2026-03-02T17:00:00Z"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def sent_to(repo: Repo) -> set[str]:
    if not repo.state.exists():
        return set()
    with Store.open(repo.state) as store:
        return {m.to for m in store.outbox()}


class Controller:
    def __init__(self, repo: Repo, *args: str) -> None:
        env = env_without_twilio()
        self.log_path = repo.root / "controller.log"
        self.log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "campaignctl",
                "--dir",
                str(repo.dir),
                "--state",
                str(repo.state),
                "--now",
                NOON,
                "reconcile",
                *args,
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=env,
        )

    def output(self) -> str:
        return self.log_path.read_text()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=20)
        self.log.close()
        return code


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Callable[..., Controller]]:
    started: list[Controller] = []

    def start(repo: Repo, *args: str) -> Controller:
        controller = Controller(repo, *args)
        started.append(controller)
        return controller

    yield start
    for controller in started:
        if controller.proc.poll() is None:
            controller.proc.kill()
            controller.proc.wait()


def test_controller_sends_follows_changes_survives_bad_yaml_and_stops(
    tmp_path: Path, running: Callable[..., Controller]
) -> None:
    repo = Repo(tmp_path).standard()
    repo.run("credits", "add", "50", now=NOON)
    ctl = running(repo, "--interval", "1h", "--log-format", "json")

    # first tick sends to both contacts
    wait_for(lambda: sent_to(repo) == {"+12125550100", "+13125550101"})

    # a contact appended to the CSV is picked up within seconds (the interval is an hour)
    csv = repo.dir / "groups/open-house.csv"
    with csv.open("a") as f:
        f.write("+14155550102,Cy,Oakland\n")
    wait_for(lambda: "+14155550102" in sent_to(repo), timeout=15)

    # a refused edit of the live campaign: the tick fails and is logged, the loop goes on
    # (that such a tick sends nothing is shown in process, tests/controller/test_loop.py)
    repo.campaign(sender="+15125550199")
    wait_for(lambda: "tick failed" in ctl.output(), timeout=15)
    assert ctl.proc.poll() is None
    with csv.open("a") as f:
        f.write("+16175550103,Di,Boston\n")

    # fixed: the next change brings the controller back, the new contact is sent to
    repo.campaign()
    wait_for(lambda: "+16175550103" in sent_to(repo), timeout=20)

    assert ctl.stop() == 0
    lines = [json.loads(line) for line in ctl.output().splitlines() if line.startswith("{")]
    assert any(
        entry["level"] == "error" and "spring-buyers.yaml:" in entry["message"] for entry in lines
    )
    assert lines[-1]["message"] == "stopped"
    assert len(sent_to(repo)) == 4


def test_a_sigterm_taken_by_any_thread_stops_the_controller_waiting_between_ticks(
    tmp_path: Path, running: Callable[..., Controller]
) -> None:
    """The kernel may hand a signal to any thread of the process (one that is starting a
    thread, say); the main thread, asleep until the next tick an hour away, still stops."""
    repo = Repo(tmp_path).standard()
    repo.run("credits", "add", "50", now=NOON)
    ctl = running(repo, "--interval", "1h", "--no-watch")
    wait_for(lambda: "tick at" in ctl.output())
    pid = ctl.proc.pid
    others = sorted(int(t.name) for t in Path(f"/proc/{pid}/task").iterdir() if int(t.name) != pid)
    assert others, "the controller runs threads besides its main one"
    # the one of the lowest id (usually the first started: the lease's renewal)
    assert ctypes.CDLL(None).tgkill(pid, others[0], signal.SIGTERM) == 0
    assert ctl.proc.wait(timeout=20) == 0, ctl.output()
    assert ctl.output().rstrip().endswith("stopped")


def test_once_and_metrics(tmp_path: Path, running: Callable[..., Controller]) -> None:
    repo = Repo(tmp_path).standard()
    repo.run("credits", "add", "50", now=NOON)
    once = repo.process("reconcile", "--once", "--now", NOON)
    assert once.returncode == 0, once.stderr
    assert "spring-buyers: draft -> active (launch); enroll 2; send 2 (2 credits)" in once.stderr

    port = free_port()
    ctl = running(repo, "--interval", "1s", "--metrics-port", str(port))

    def metrics() -> str:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                return str(r.read().decode())
        except OSError:
            return ""

    # the gauges read 0 until the first tick has run
    wait_for(lambda: "campaignctl_credit_balance 48.0" in metrics())
    text = metrics()
    assert "campaignctl_last_successful_tick_timestamp_seconds 0.0" not in text
    assert "campaignctl_tick_duration_seconds_count" in text
    assert ctl.stop() == 0


def test_once_fails_with_exit_1_on_bad_config(tmp_path: Path) -> None:
    repo = Repo(tmp_path).standard()
    repo.write("campaigns/broken.yaml", "apiVersion: campaignctl/v1\nkind: Campaign\n: :\n")
    result = repo.process("reconcile", "--once")
    assert result.returncode == 1
    assert "campaigns/broken.yaml:" in result.stderr
    assert "Traceback" not in result.stderr
