"""kill -9 of `apply` and of `reconcile` at random moments, against the local Twilio server
answering slowly and failing (5xx after creating the message, resets, throttling, failed
lookups). After a final clean apply, every due message was sent exactly once and the state
agrees with the provider.

Each scenario starts a process, waits a seeded random delay, and SIGKILLs it if it is still
running (only those count as kills), again and again on the same state; then one apply
without faults, then the audit (tests/faults/audit.py).
"""

from __future__ import annotations

import os
import random
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from campaignctl.emulator import Fault
from campaignctl.store.lease import holder_gone, process_holder
from tests.faults.audit import audit
from tests.faults.tally import TALLY, sized
from tests.faults.world import (
    Process,
    Script,
    campaign_repo,
    emulator_at_noon,
    phones,
    run,
    start,
    twilio_env,
)

# what a create answers: slow, or failing after (or before) the message exists
CREATE_FAULTS = {
    "500 after create": lambda rng: Fault(status=rng.choice([500, 502, 503]), after_create=True),
    "500 before create": lambda rng: Fault(status=500),
    "slow answer": lambda rng: Fault(delay=rng.uniform(0.1, 0.8)),
    "slow 500 after create": lambda rng: Fault(status=503, after_create=True, delay=0.5),
    "reset after create": lambda rng: Fault(drop=True, after_create=True),
    "429": lambda rng: Fault(code=20429),
}
# what a lookup (a list of messages) answers
LIST_FAULTS = {
    "lookup 500": lambda rng: Fault(status=500),
    "lookup slow": lambda rng: Fault(delay=rng.uniform(0.1, 0.5)),
}

COMMANDS = {
    "apply": ["apply", "--wait", "60"],
    "reconcile": ["reconcile", "--interval", "1s", "--no-watch"],
}


def wait_or_kill(process: Process, delay: float) -> bool:
    """Let it run `delay` seconds, then SIGKILL it; True when the kill hit a live process."""
    deadline = time.monotonic() + delay
    while time.monotonic() < deadline and process.alive():
        time.sleep(0.02)
    if not process.alive():
        return False
    return process.kill()


def pending_attempts(state: Path) -> set[int]:
    """Attempts recorded as intents whose outcome was never written (a kill between them)."""
    conn = sqlite3.connect(f"{state.resolve().as_uri()}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT id FROM attempts WHERE status = 'pending'").fetchall()
        return {int(r[0]) for r in rows}
    finally:
        conn.close()


def crash_scenario(root: Path, command: str, seed: int, kills: int) -> None:
    """Kill `command` `kills` times while contacts keep arriving, then audit."""
    rng = random.Random(seed)
    contacts = 15
    most = contacts + 8 * 4 * kills
    repo = campaign_repo(root, contacts, credits=2 * most)
    script = Script()
    with emulator_at_noon() as emulator:
        env = twilio_env(emulator)
        hits, runs = 0, 0
        interrupted: set[int] = set()
        while hits < kills:
            runs += 1
            assert runs <= 4 * kills, f"only {hits} of {runs} runs could be killed"
            contacts += rng.randint(3, 8)  # new contacts keep every run busy
            repo.group(rows=[(p, f"Name{i}") for i, p in enumerate(phones(contacts))])
            script.plant(emulator, rng, "create", 0.35, CREATE_FAULTS, 400)
            script.plant(emulator, rng, "list", 0.2, LIST_FAULTS, 400)
            process = start(repo, COMMANDS[command], env, f"{command}-{runs}.log")
            hit = wait_or_kill(process, rng.uniform(0.2, 3.0))
            hits += hit
            output = process.output()
            assert "Traceback" not in output, output
            if not hit:  # it finished before the kill: it must have finished well
                assert process.proc.returncode == 0, output
            interrupted |= pending_attempts(repo.state)
            script.settle(emulator)

        TALLY.left_in_flight += len(interrupted)
        TALLY.sent_while_crashing += len(emulator.messages())
        code, out, err = run(repo, ["apply", "--wait", "60"], env, "final-apply.log")
        output = out + err
        assert code == 0, output
        assert "Traceback" not in output, output
        assert emulator.wait_idle(10)
        result = audit(emulator.messages(), repo.state, phones(contacts), initial_credits=2 * most)
    assert result.ok, result.report()


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_kill_9_at_random_moments_sends_every_message_exactly_once(
    tmp_path: Path, command: str
) -> None:
    # 200 kills in full size (100 per command), 20 reduced
    scenarios, kills = sized(1, 4), sized(10, 25)
    for number in range(scenarios):
        seed = 1000 * number + (1 if command == "apply" else 2)
        crash_scenario(tmp_path / f"s{number}", command, seed, kills=kills)


def test_an_apply_killed_holding_the_lease_does_not_block_the_next(tmp_path: Path) -> None:
    """Found by the crash runs: the next apply waited out the dead one's 60 s lease."""
    repo = campaign_repo(tmp_path, 20)
    with emulator_at_noon() as emulator:
        emulator.add_fault(Fault(delay=30))  # the first create hangs: the lease is held
        env = twilio_env(emulator)
        process = start(repo, ["apply"], env, "killed.log")
        deadline = time.monotonic() + 30
        while not emulator.requests("create") and time.monotonic() < deadline:
            time.sleep(0.02)
        assert emulator.requests("create"), process.output()
        assert process.kill()
        emulator.faults.clear()
        TALLY.fault("apply killed holding the lease")
        code, _out, err = run(repo, ["apply", "--wait", "0"], env, "next.log")
        assert code == 0, err
        assert emulator.wait_idle(10)
        result = audit(emulator.messages(), repo.state, phones(20), initial_credits=80)
    assert result.ok, result.report()


def test_a_holder_is_gone_only_when_its_process_on_this_host_is() -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = socket.gethostname()
    assert holder_gone(f"apply:{host}:{dead.pid}")
    assert not holder_gone(f"apply:{host}:{os.getpid()}")  # this process
    assert not holder_gone(f"apply:{host}:1")  # alive (init)
    assert not holder_gone(f"apply:other-{host}:{dead.pid}")  # another machine: cannot tell
    assert not holder_gone("apply")
    assert not holder_gone(f"apply:{host}:x")
    assert process_holder("reconcile") == f"reconcile:{host}:{os.getpid()}"
