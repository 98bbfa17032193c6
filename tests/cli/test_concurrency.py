"""Two appliers on one state: one works, the other waits or says clearly why it cannot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from campaignctl.store import Store
from tests.cli.repo import Repo, env_without_twilio

NOON = "2026-03-02T17:00:00Z"


def big_repo(tmp_path: Path, n: int) -> Repo:
    repo = Repo(tmp_path)
    repo.template()
    repo.group(rows=[(f"+1212555{i:04d}", f"Name{i}") for i in range(n)])
    repo.campaign()
    repo.run("credits", "add", str(n * 2), now=NOON)
    return repo


def test_two_concurrent_applies_send_each_message_once(tmp_path: Path) -> None:
    repo = big_repo(tmp_path, 300)
    env = env_without_twilio()
    base = [
        sys.executable,
        "-m",
        "campaignctl",
        "--dir",
        str(repo.dir),
        "--state",
        str(repo.state),
        "--now",
        NOON,
        "apply",
        "--wait",
        "60",
    ]
    procs = [
        subprocess.Popen(base, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    outputs = [out for out, _err in results]
    assert sum("Applied via outbox: 300 sent; 300 credits debited" in out for out in outputs) == 1
    assert sum("Applied via outbox: no sends; 0 credits debited" in out for out in outputs) == 1
    messages = repo.json("outbox")["messages"]
    assert len(messages) == 300
    assert len({m["to"] for m in messages}) == 300


def test_apply_while_another_holds_the_lease_fails_clearly(tmp_path: Path) -> None:
    repo = big_repo(tmp_path, 3)
    with Store.open(repo.state) as store:
        store.acquire_lease("reconcile:other-host:42", ttl_seconds=60)
        result = repo.process("apply", "--wait", "0", "--now", NOON)
    assert result.returncode == 1
    assert "reconcile:other-host:42" in result.stderr
    assert "Traceback" not in result.stderr
    assert repo.json("outbox")["messages"] == []
