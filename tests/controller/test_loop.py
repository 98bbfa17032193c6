"""The controller's loop in this process: its ticks on a real state and real files, at the
time of a clock the waits between ticks move on, with the world changed between them."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaignctl.clock import FrozenClock
from campaignctl.controller.loop import (
    DEBOUNCE_SECONDS,
    MAX_BACKOFF_SECONDS,
    Controller,
    ControllerOptions,
)
from campaignctl.providers.base import Provider
from campaignctl.providers.outbox import OutboxProvider, OutboxTable
from campaignctl.store import Store
from tests.cli.repo import Repo

NOON = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)  # 12:00 in New York, 11:00 in Chicago
NY, CHICAGO, OAKLAND = "+12125550100", "+13125550101", "+14155550102"
HOUR = 3600.0

Scene = Callable[[Controller], None]


def idle(_: Controller) -> None:
    """A wait in which nothing happens."""


class Script:
    """A Sleeper that plays the world between ticks. Each wait for the next tick runs the
    next scene (it may edit files, set `wake` as the watcher does, or `stop`), then, unless
    woken, moves the clock on by the seconds waited. With no scene left it stops the loop."""

    def __init__(self, clock: FrozenClock, scenes: list[Scene]) -> None:
        self.clock = clock
        self.scenes = scenes
        self.controller: Controller | None = None
        self.waits: list[tuple[str, float]] = []  # ("tick" or "debounce", seconds asked)

    def wait(self, seconds: float, wake: threading.Event) -> bool:
        assert self.controller is not None
        if wake is self.controller.stop:
            self.waits.append(("debounce", seconds))
        else:
            self.waits.append(("tick", seconds))
            if self.scenes:
                self.scenes.pop(0)(self.controller)
            else:
                self.controller.stop.set()
        if wake.is_set():
            return True
        self.clock.advance(timedelta(seconds=seconds))
        return False


def outbox_provider(clock: FrozenClock) -> Callable[[OutboxTable], Provider]:
    return lambda store: OutboxProvider(store, clock)


def play(
    repo: Repo,
    scenes: list[Scene],
    *,
    at: datetime = NOON,
    interval: timedelta | None = timedelta(hours=1),
    jitter: float = 0.5,
) -> Script:
    """Run the loop on `repo` until the scenes are played; the script, for its waits and
    its controller."""
    clock = FrozenClock(at)
    script = Script(clock, scenes)
    options = ControllerOptions(repo.dir, repo.state, interval=interval, watch=False)
    script.controller = Controller(
        options, clock, outbox_provider(clock), sleeper=script, jitter=lambda: jitter
    )
    assert script.controller.loop() == 0
    return script


def sent(repo: Repo) -> dict[str, datetime]:
    """Each number sent to, and when (the outbox dates a message at the clock's time)."""
    with Store.open(repo.state) as store:
        return {m.to: m.at for m in store.outbox()}


def ticks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("tick")]


def test_a_broken_configuration_sends_nothing_and_backs_off_until_fixed(
    repo: Repo, logged: pytest.LogCaptureFixture
) -> None:
    # an edit refused on a live campaign: the whole plan is refused (a broken file only
    # holds the campaigns depending on it: tests/liveedit/test_held.py)
    def break_it_and_add_a_contact(_: Controller) -> None:
        assert set(sent(repo)) == {NY, CHICAGO}
        repo.campaign(sender="+15125550199")
        with (repo.dir / "groups/open-house.csv").open("a") as f:
            f.write(f"{OAKLAND},Cy,Oakland\n")

    def still_broken(_: Controller) -> None:
        assert OAKLAND not in sent(repo)  # a tick ran on the broken files and sent nothing

    def fixed(_: Controller) -> None:
        assert OAKLAND not in sent(repo)
        repo.campaign()

    script = play(repo, [break_it_and_add_a_contact, still_broken, fixed])

    # backoff after 1 and 2 failures: 2 s and 4 s, jittered to three quarters
    assert script.waits == [("tick", HOUR), ("tick", 1.5), ("tick", 3.0), ("tick", HOUR)]
    assert sent(repo)[OAKLAND] == NOON + timedelta(seconds=HOUR + 1.5 + 3.0)
    errors = [r.getMessage() for r in logged.records if r.levelno == logging.ERROR]
    assert len(errors) == 2
    assert all("tick failed" in e and "spring-buyers.yaml:" in e for e in errors)
    assert "next try in 1.5s" in logged.messages
    assert ticks(logged)[-1].startswith(
        "tick at 2026-03-02T18:00:04Z: spring-buyers: enroll 1; send 1 (1 credits)"
    )


def test_ticks_plan_at_the_clock_the_waits_move_on(
    repo: Repo, logged: pytest.LogCaptureFixture
) -> None:
    """Enrolled at 01:00 in New York, each number is sent to at the first tick after 08:00
    where it lives: an hour apart, New York then Chicago."""
    night = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
    play(repo, [idle] * 8, at=night)

    assert sent(repo) == {
        NY: datetime(2026, 3, 2, 13, 0, tzinfo=UTC),
        CHICAGO: datetime(2026, 3, 2, 14, 0, tzinfo=UTC),
    }
    lines = ticks(logged)
    assert len(lines) == 9
    assert lines[0].startswith(
        "tick at 2026-03-02T06:00:00Z: spring-buyers: draft -> active (launch); enroll 2; "
        "defer 2 (quiet_hours 2)"
    )
    assert lines[7].startswith(
        "tick at 2026-03-02T13:00:00Z: spring-buyers: send 1 (1 credits); defer 1 (quiet_hours 1)"
        " | provider: sent 1"
    )
    assert lines[8].startswith("tick at 2026-03-02T14:00:00Z: spring-buyers: send 1 (1 credits)")


def test_a_change_wakes_the_loop_and_it_ticks_once_the_writes_settle(
    repo: Repo, logged: pytest.LogCaptureFixture
) -> None:
    def a_contact_added(controller: Controller) -> None:
        with (repo.dir / "groups/open-house.csv").open("a") as f:
            f.write(f"{OAKLAND},Cy,Oakland\n")
        controller.wake.set()  # as the watcher does

    script = play(repo, [a_contact_added])

    assert script.waits == [("tick", HOUR), ("debounce", DEBOUNCE_SECONDS), ("tick", HOUR)]
    assert sent(repo)[OAKLAND] == NOON + timedelta(seconds=DEBOUNCE_SECONDS)
    assert script.controller is not None and not script.controller.wake.is_set()


def test_a_stop_during_a_wait_ends_the_loop_without_another_tick(
    repo: Repo, logged: pytest.LogCaptureFixture
) -> None:
    def sigterm(controller: Controller) -> None:
        controller._signal(signal.SIGTERM, None)

    script = play(repo, [sigterm])

    assert script.waits == [("tick", HOUR)]  # no debounce, no second tick
    assert len(ticks(logged)) == 1
    assert logged.messages[-1] == "stopped"


def test_a_tick_while_another_process_holds_the_lease_stands_by(
    repo: Repo, logged: pytest.LogCaptureFixture
) -> None:
    with Store.open(repo.state) as store:
        store.acquire_lease("apply:other-host:42", ttl_seconds=60)
        script = play(repo, [])
    assert script.waits == [("tick", 1.0)]  # a standby tries again soon: no failure, no backoff
    assert not sent(repo)
    assert any("standing by: apply:other-host:42 leads" in m for m in logged.messages)
    assert not [r for r in logged.records if r.levelno >= logging.ERROR]


def test_the_interval_is_the_settings_unless_given(repo: Repo) -> None:
    repo.write(
        "settings.yaml",
        "apiVersion: campaignctl/v1\nkind: Settings\nmetadata:\n  name: settings\n"
        "spec:\n  creditsPerSegment: 1\n  reconcileInterval: 5m\n",
    )
    script = play(repo, [idle], interval=None)
    assert script.waits == [("tick", 300.0), ("tick", 300.0)]


@given(
    failures=st.integers(min_value=1, max_value=40),
    jitter=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
    interval=st.integers(min_value=1, max_value=24 * 3600),
)
def test_backoff_doubles_with_each_failure_jittered_and_capped(
    failures: int, jitter: float, interval: int
) -> None:
    options = ControllerOptions(
        Path("unused"), Path("unused.db"), interval=timedelta(seconds=interval)
    )
    controller = Controller(
        options, FrozenClock(NOON), lambda store: OutboxProvider(store), jitter=lambda: jitter
    )
    controller.failures = failures
    base = min(MAX_BACKOFF_SECONDS, 2.0 ** min(failures, 10))
    delay = controller.backoff()
    assert delay <= interval
    assert delay == pytest.approx(min(interval, base * (0.5 + jitter / 2)))
    assert min(interval, base / 2) <= delay <= min(interval, base)
