"""Panels too slow for a request, computed beside it: what waits now (the planner over every
due enrollment) and the forecast (the planner run forward over 90 days).

Each is computed on its own thread for a moment (the state's serial and the time, rounded),
at most once per moment; a request waits for it briefly, then shows the last one computed (with
when it was computed) or says it is being computed. So the page answers in its own time on
a large state, and a slow panel never holds it.

    waits = Background("waits", lambda moment, stopped: waits_now(config_dir, store,
                                                                    moment.now, stopped), clock)
    shown = waits.get(Moment(serial, now), wait=0.5)   # a Result; None while the first computes
    waits.close()   # the computation running, if any, gives up at its next step; then returns

A computation is given `stopped`, to ask between its steps (a simulated tick, a batch of
enrollments): a panel closing ends it there (Cancelled) instead of letting it run on, a
minute on a large state, beside whatever the process does next.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from campaignctl.errors import CampaignctlError, Cancelled

T = TypeVar("T")


@dataclass(frozen=True)
class Moment:
    """What a panel is computed for: the state as of its serial, at a time (rounded, so that
    a page refreshed every few seconds does not compute it again each time)."""

    serial: int
    now: datetime


@dataclass(frozen=True)
class Result(Generic[T]):
    """A panel's value (or the one line that says why there is none) for one moment."""

    moment: Moment
    value: T | None
    error: str | None
    computed_at: datetime


class Background(Generic[T]):
    """One slow panel: computed on a thread of its own, once per moment."""

    def __init__(
        self,
        name: str,
        compute: Callable[[Moment, Callable[[], bool]], T],
        clock: Callable[[], datetime],
    ) -> None:
        self._compute = compute
        self._closing = threading.Event()
        self._clock = clock
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"dashboard-{name}")
        self._lock = threading.Lock()
        self._latest: Result[T] | None = None
        self._running: tuple[Moment, Future[Result[T]]] | None = None

    def get(self, moment: Moment, wait: float) -> Result[T] | None:
        """The value for `moment`, waited for at most `wait` seconds; else the last one
        computed, for an earlier moment (None before the first)."""
        with self._lock:
            latest = self._latest
            if latest is not None and latest.moment == moment:
                return latest
            if self._running is None or self._running[0] != moment:
                self._running = (moment, self._pool.submit(self._run, moment))
            future = self._running[1]
        try:
            return future.result(timeout=wait)
        except FutureTimeout:
            return latest

    def latest(self) -> Result[T] | None:
        """The last value computed, for whatever moment."""
        with self._lock:
            return self._latest

    def _run(self, moment: Moment) -> Result[T]:
        try:
            result = Result(
                moment, self._compute(moment, self._closing.is_set), None, self._clock()
            )
        except Cancelled as exc:  # closing: nobody is left to show it
            return Result(moment, None, str(exc), self._clock())
        except CampaignctlError as exc:  # a configuration or state that cannot be read
            result = Result(moment, None, str(exc).splitlines()[0], self._clock())
        except Exception as exc:  # shown on the panel; the page itself goes on
            result = Result(moment, None, f"{type(exc).__name__}: {exc}", self._clock())
        with self._lock:
            self._latest = result
            if self._running is not None and self._running[0] == moment:
                self._running = None
        return result

    def close(self) -> None:
        """Stop: what is queued is dropped, what runs gives up at its next step, and this
        returns once the panel's thread has ended."""
        self._closing.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
