"""A slow panel closing: the computation that runs gives up at its next step, and its
thread ends before `close` returns (nothing of the dashboard runs on after it)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

from campaignctl.dashboard.background import Background, Moment
from campaignctl.errors import Cancelled

NOW = datetime(2026, 6, 2, 15, 0, tzinfo=UTC)


def test_closing_stops_what_computes_and_ends_the_panels_thread() -> None:
    started = threading.Event()
    steps: list[int] = []

    def compute(moment: Moment, stopped: Callable[[], bool]) -> int:
        started.set()
        while not stopped():  # a long computation, a step at a time
            steps.append(1)
            threading.Event().wait(0.001)
        raise Cancelled(f"stopped after {len(steps)} steps")

    panel: Background[int] = Background("slow", compute, lambda: NOW)
    assert panel.get(Moment(1, NOW), wait=0) is None  # started; nothing computed yet
    assert started.wait(30)
    panel.close()
    assert steps  # it was computing when asked to stop
    assert not [t.name for t in threading.enumerate() if t.name.startswith("dashboard-slow")]
    assert panel.latest() is None  # a computation given up is shown nowhere


def test_a_panel_computed_before_closing_keeps_its_value() -> None:
    panel: Background[int] = Background("quick", lambda moment, stopped: moment.serial, lambda: NOW)
    shown = panel.get(Moment(7, NOW), wait=30)
    panel.close()
    assert shown is not None and shown.value == 7 and shown.error is None
    assert panel.latest() == shown
