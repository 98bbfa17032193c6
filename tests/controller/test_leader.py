"""Several controllers on one state, in this process: the one holding the lease leads and
keeps it across ticks, the others stand by and take over when it is gone; a leader that may
have lost its lease hands nothing more to the provider."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import timedelta

import pytest

from campaignctl.clock import FrozenClock
from campaignctl.controller.loop import Controller, ControllerOptions
from campaignctl.providers.base import Outcome, OutgoingMessage, Provider
from campaignctl.providers.outbox import OutboxProvider, OutboxTable
from campaignctl.store import Store
from tests.cli.repo import Repo
from tests.controller.test_loop import NOON, sent
from tests.faults.system import immutable


class Once:
    """A Sleeper that stops the loop at its first wait, noting the seconds asked."""

    def __init__(self) -> None:
        self.controller: Controller | None = None
        self.asked: list[float] = []

    def wait(self, seconds: float, wake: threading.Event) -> bool:
        assert self.controller is not None
        self.asked.append(seconds)
        self.controller.stop.set()
        return True


def controller(
    repo: Repo, provider: Callable[[OutboxTable], Provider] | None = None
) -> tuple[Controller, Once]:
    clock = FrozenClock(NOON)
    sleeper = Once()
    options = ControllerOptions(repo.dir, repo.state, interval=timedelta(hours=1), watch=False)
    made = Controller(
        options,
        clock,
        provider or (lambda store: OutboxProvider(store, clock)),
        sleeper=sleeper,
    )
    sleeper.controller = made
    return made, sleeper


def holder(repo: Repo) -> str | None:
    with Store.open(repo.state) as store:
        return store.current_lease()[0]


def dead_pid() -> int:
    """The id of a process of this host that has exited."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(timeout=30)
    return proc.pid


def test_the_leader_keeps_the_lease_across_ticks_and_a_standby_waits_then_takes_over(
    repo: Repo, logged: pytest.LogCaptureFixture
) -> None:
    first, _ = controller(repo)
    first.holder = first.leadership.holder = f"reconcile:{socket.gethostname()}:{dead_pid()}"
    assert first.tick()
    assert first.leadership.leading
    assert holder(repo) == first.holder  # held between ticks, not freed after the tick
    assert first.tick() and first.leadership.leading  # the next tick holds it again

    second, _ = controller(repo)
    with Store.open(repo.state) as store:  # a live holder of another host: not gone
        store.acquire_lease("reconcile:other-host:7", 60)
        token = store.lease_token
        store.detach_lease()
    assert second.tick() and not second.leadership.leading
    assert "standing by: reconcile:other-host:7 leads" in logged.messages[-1]
    with Store.open(repo.state) as store:  # that holder gone, the dead-pid one again
        store.resume_lease("reconcile:other-host:7", token or 0, 60)
        store.release_lease(token or 0)
        store.acquire_lease(first.holder, 60)
        store.detach_lease()
    assert second.tick() and second.leadership.leading  # its process is gone: at once
    assert holder(repo) == second.holder
    messages = [r.getMessage() for r in logged.records]
    assert any(
        m.startswith(f"leading as {second.holder}") and "taken over from" in m for m in messages
    )
    assert first.tick() and not first.leadership.leading  # the old leader stands by
    assert not [r for r in logged.records if r.levelno >= logging.ERROR]


def test_a_leader_that_may_have_lost_its_lease_hands_nothing_more_over(
    repo: Repo, logged: pytest.LogCaptureFixture
) -> None:
    now = [1000.0]
    handed: list[str] = []

    class Stalling:
        """Sends through the outbox; after the first, the lease's renewals stop arriving
        (the monotonic clock jumps past the time the lease is surely ours)."""

        name = "outbox"

        def __init__(self, inner: Provider) -> None:
            self.inner = inner

        def send(self, message: OutgoingMessage) -> Outcome:
            handed.append(message.to)
            now[0] += 60.0
            return self.inner.send(message)

        def lookup(self, message: OutgoingMessage) -> Outcome | None:
            return self.inner.lookup(message)

    clock = FrozenClock(NOON)
    made, _ = controller(repo, lambda store: Stalling(OutboxProvider(store, clock)))
    made.leadership.monotonic = lambda: now[0]
    assert made.tick()
    assert len(handed) == 1, handed  # two were due; the second was never handed over
    assert list(sent(repo)) == handed
    assert made.stopped_early


def test_a_leader_that_cannot_reach_the_state_for_a_tick_still_leads_after(
    repo: Repo, logged: pytest.LogCaptureFixture
) -> None:
    """A tick that fails on the state (here: the file made immutable) is not a lost lease:
    the next tick leads on with the same token, rather than waiting for its own lease."""
    made, _ = controller(repo)
    assert made.tick()
    token = made.leadership.token
    with immutable(repo.state):
        assert not made.tick()
    assert made.leadership.token == token
    assert made.tick() and made.leadership.token == token
    assert not any("standing by" in m for m in logged.messages)
