"""Two controllers on one state: one leads and holds the lease across its ticks, the other
stands by saying whom it waits for; when the leader is killed with -9 in the middle of its
sends, the standby takes over at once (not after the lease's TTL); nothing is sent twice,
nothing is lost. Here on one SQLite file; test_postgres_faults runs it on PostgreSQL."""

from __future__ import annotations

import random
import signal
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from campaignctl.emulator import Fault, TwilioEmulator
from campaignctl.store import Store
from tests.faults.audit import audit
from tests.faults.tally import TALLY, sized
from tests.faults.world import (
    Process,
    Script,
    campaign_repo,
    emulator_at_noon,
    phones,
    start,
    twilio_env,
)

STANDS_BY = "standing by: "
TAKES_OVER = "taken over from"
TTL_SECONDS = 60.0  # the lease's time to live (reconcile --lease-ttl)


def lease_holder(state: Path | str) -> str | None:
    with Store.open(state) as store:
        return store.current_lease()[0]


def in_flight(state: Path | str) -> bool:
    with Store.open(state) as store:
        return bool(store.in_flight())


def wait_until(check: object, what: str, timeout: float) -> float:
    """Seconds until `check()` held; fails saying `what` after `timeout`. (Typed object: a
    lambda with a default argument, bound at the loop's turn, has no inferable type.)"""
    assert callable(check)
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout}s: {what}")


def stopped(pid: int) -> bool:
    """Whether the process is stopped (SIGSTOP taken: state T in /proc)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2] == "T"


def writable(state: Path) -> bool:
    """Whether another process could begin writing the SQLite state now."""
    conn = sqlite3.connect(state, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:  # locked
        return False
    finally:
        conn.close()


def freeze_between_writes(process: Process, state: Path | str) -> None:
    """Stop the process (SIGSTOP) at a moment it holds no write of an SQLite state open.
    Frozen inside one, it would hold SQLite's write lock, and every other process would
    wait for it to resume: the lock of a file cannot be taken from a process that holds it
    (README, "State on PostgreSQL"). On PostgreSQL, whose server ends a frozen transaction,
    it is stopped at once."""
    for _ in range(200):
        process.proc.send_signal(signal.SIGSTOP)
        wait_until(lambda: stopped(process.proc.pid), "the process stops", 10)
        if not isinstance(state, Path) or writable(state):
            return
        process.proc.send_signal(signal.SIGCONT)
        time.sleep(0.005)
    raise AssertionError("the process held a write at each of 200 tries")


@contextmanager
def reaping() -> Iterator[list[Process]]:
    """The processes a test puts in the list are killed at its end, should it fail while
    they run (a controller left running would go on writing to the next test's state)."""
    started: list[Process] = []
    try:
        yield started
    finally:
        for process in started:
            if process.alive():
                process.proc.kill()
                process.proc.wait(timeout=30)


def audited(
    emulator: TwilioEmulator, script: Script, state: Path | str, total: int, credits: int
) -> None:
    """Once the emulator is idle: the faults counted, and the audit of the first `total`
    numbers (each sent exactly once, the state agreeing)."""
    assert emulator.wait_idle(10)
    script.settle(emulator)
    result = audit(emulator.messages(), state, phones(total), initial_credits=credits)
    assert result.ok, result.report()


def leader_killed_standby_takes_over(tmp_path: Path, url: str | None = None) -> None:
    """The scenario, on the repo's SQLite file or on the PostgreSQL database at `url`."""
    rng = random.Random(2)
    rounds, first, later = sized(1, 3), 40, 30
    credits = 2 * (first + 2 * rounds * later)
    repo = campaign_repo(tmp_path, first, credits, state=url)
    state: Path | str = url or repo.state
    script = Script()
    slow = {"slow answer": lambda r: Fault(delay=r.uniform(0.05, 0.15))}
    total = first
    with emulator_at_noon() as emulator, reaping() as started:
        env = twilio_env(emulator)
        for round_ in range(rounds):
            if round_:  # new contacts, so that there is work to share
                total += later
                repo.group(rows=[(p, f"Name{i}") for i, p in enumerate(phones(total))])
            script.plant(emulator, rng, "create", 1.0, slow, 3 * total)
            args = ["reconcile", "--interval", "1s"]
            pair = [start(repo, args, env, f"ctl-{round_}-{n}.log", state=url) for n in "ab"]
            started += pair
            before = len(emulator.messages())
            wait_until(lambda n=before: len(emulator.messages()) >= n + 5, "sending starts", 30)
            wait_until(lambda ps=pair: any(STANDS_BY in p.stderr() for p in ps), "a standby", 30)
            # the lease's holder is the leader, in the middle of its sends: kill it
            holder = lease_holder(state) or ""
            leader = [p for p in pair if holder.endswith(f":{p.proc.pid}")]
            assert len(leader) == 1, (holder, [p.proc.pid for p in pair])
            (standby,) = [p for p in pair if p is not leader[0]]
            assert f"{STANDS_BY}{holder} leads" in standby.stderr(), standby.stderr()
            assert leader[0].kill()
            TALLY.fault("leader killed holding the lease")
            total += later  # contacts keep coming
            repo.group(rows=[(p, f"Name{i}") for i, p in enumerate(phones(total))])
            took = wait_until(
                lambda n=total: len(emulator.messages()) >= n and not in_flight(state),
                f"the standby takes over and sends all {total}",
                TTL_SECONDS / 2,  # a dead leader's lease is not waited out
            )
            assert TAKES_OVER in standby.stderr(), standby.stderr()
            assert lease_holder(state) == f"{holder.rsplit(':', 1)[0]}:{standby.proc.pid}"
            assert standby.stop() == 0, standby.stderr()
            assert lease_holder(state) is None  # a leader that stops frees the lease
            logs = "".join(p.stderr() for p in pair)
            assert "Traceback" not in logs, logs
            assert took < TTL_SECONDS / 2
        audited(emulator, script, state, total, credits)


def test_two_controllers_one_leads_the_other_stands_by_and_takes_over(tmp_path: Path) -> None:
    leader_killed_standby_takes_over(tmp_path)


def leader_stalled_standby_takes_over(tmp_path: Path, url: str | None = None) -> None:
    """The leader stopped (SIGSTOP: a process stalled, or cut off from the state) in the
    middle of its sends, with a short lease: the standby waits the lease out and takes over;
    the old leader, let go on, hands nothing more to the provider and writes nothing, and
    stands by."""
    rng = random.Random(3)
    total = 60
    credits = 2 * total
    repo = campaign_repo(tmp_path, total, credits, state=url)
    state: Path | str = url or repo.state
    script = Script()
    slow = {"slow answer": lambda r: Fault(delay=r.uniform(0.05, 0.15))}
    with emulator_at_noon() as emulator, reaping() as started:
        script.plant(emulator, rng, "create", 1.0, slow, 3 * total)
        args = ["reconcile", "--interval", "1s", "--lease-ttl", "3s"]
        pair = [start(repo, args, twilio_env(emulator), f"ctl-{n}.log", state=url) for n in "ab"]
        started += pair
        wait_until(lambda: len(emulator.messages()) >= 5, "sending starts", 30)
        wait_until(lambda: any(STANDS_BY in p.stderr() for p in pair), "a standby", 30)
        holder = lease_holder(state) or ""
        (leader,) = [p for p in pair if holder.endswith(f":{p.proc.pid}")]
        (standby,) = [p for p in pair if p is not leader]
        freeze_between_writes(leader, state)
        TALLY.fault("leader stalled (SIGSTOP) holding the lease")
        try:
            wait_until(lambda: TAKES_OVER in standby.stderr(), "the standby takes over", 30)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the standby said:\n{standby.stderr()}") from None
        finally:
            leader.proc.send_signal(signal.SIGCONT)
        wait_until(lambda: "no longer leading" in leader.stderr(), "the old leader yields", 30)
        wait_until(
            lambda: len(emulator.messages()) >= total and not in_flight(state),
            f"all {total} sent",
            60,
        )
        for process in pair:
            assert process.stop() == 0, process.stderr()
        logs = "".join(p.stderr() for p in pair)
        assert "Traceback" not in logs, logs
        audited(emulator, script, state, total, credits)


def test_a_stalled_leader_is_waited_out_and_hands_nothing_more_over(tmp_path: Path) -> None:
    leader_stalled_standby_takes_over(tmp_path)
