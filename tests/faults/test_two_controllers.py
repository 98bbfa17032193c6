"""Two controllers on one state: one applies, the other waits its turn; when the one that
works is killed with -9, the other takes over at once (not after the lease's TTL); nothing is
sent twice, nothing is lost."""

from __future__ import annotations

import random
import sqlite3
import time
from pathlib import Path

from campaignctl.emulator import Fault
from campaignctl.store import Store
from tests.faults.audit import audit
from tests.faults.tally import TALLY, sized
from tests.faults.world import (
    Script,
    campaign_repo,
    emulator_at_noon,
    phones,
    start,
    twilio_env,
)

WAITS = "another process is applying; this tick waits for the next"
TTL_SECONDS = 60.0  # the lease's time to live (engine.Lease)


def lease_holder(state: Path) -> str | None:
    conn = sqlite3.connect(f"{state.resolve().as_uri()}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT holder FROM lease WHERE id = 1").fetchone()
        return None if row is None else row[0]
    finally:
        conn.close()


def wait_until(check: object, what: str, timeout: float) -> float:
    assert callable(check)
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout}s: {what}")


def test_two_controllers_one_works_the_other_waits_and_takes_over(tmp_path: Path) -> None:
    rng = random.Random(2)
    rounds, first, later = sized(1, 3), 40, 30
    credits = 2 * (first + 2 * rounds * later)
    repo = campaign_repo(tmp_path, first, credits)
    script = Script()
    slow = {"slow answer": lambda r: Fault(delay=r.uniform(0.05, 0.15))}
    total = first
    with emulator_at_noon() as emulator:
        env = twilio_env(emulator)
        for round_ in range(rounds):
            if round_:  # new contacts, so that there is work to share
                total += later
                repo.group(rows=[(p, f"Name{i}") for i, p in enumerate(phones(total))])
            script.plant(emulator, rng, "create", 1.0, slow, 3 * total)
            args = ["reconcile", "--interval", "1s"]
            pair = [start(repo, args, env, f"ctl-{round_}-{n}.log") for n in "ab"]
            before = len(emulator.messages())
            wait_until(lambda n=before: len(emulator.messages()) >= n + 5, "sending starts", 30)
            wait_until(lambda ps=pair: any(WAITS in p.stderr() for p in ps), "one waits", 30)
            # whoever holds the lease now is the one working: kill it in the middle
            wait_until(lambda: lease_holder(repo.state) is not None, "a lease holder", 10)
            holder = lease_holder(repo.state) or ""
            working = [p for p in pair if holder.endswith(f":{p.proc.pid}")]
            assert len(working) == 1, (holder, [p.proc.pid for p in pair])
            assert working[0].kill()
            TALLY.fault("controller killed holding the lease")
            (survivor,) = [p for p in pair if p is not working[0]]
            total += later  # contacts keep coming
            repo.group(rows=[(p, f"Name{i}") for i, p in enumerate(phones(total))])
            took = wait_until(
                lambda n=total: len(emulator.messages()) >= n and not in_flight(repo.state),
                f"the survivor sends all {total}",
                TTL_SECONDS / 2,  # a dead holder's lease is not waited out
            )
            assert survivor.stop() == 0, survivor.stderr()
            logs = "".join(p.stderr() for p in pair)
            assert "Traceback" not in logs, logs
            assert WAITS in logs, "the second controller never had to wait"
            assert took < TTL_SECONDS / 2
        assert emulator.wait_idle(10)
        script.settle(emulator)
        result = audit(emulator.messages(), repo.state, phones(total), initial_credits=credits)
    assert result.ok, result.report()


def in_flight(state: Path) -> bool:
    with Store.open(state) as store:
        return bool(store.in_flight())
