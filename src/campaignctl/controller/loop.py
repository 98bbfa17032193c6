"""The reconcile loop: every interval and soon after any file change, load the files as they
are now, plan and apply under the lease, log one line. Several controllers may run on one
state: the one holding the lease leads and keeps it across ticks, the others stand by and
try to take it at a short interval (see `controller.leader`). A failing tick never ends the loop:
it is logged, the state stays as the last good tick left it, and the next try backs off.

The time the ticks plan at (a Clock), the waits between them (a Sleeper) and the jitter of
the backoff (a random source) are given to the Controller, so a test drives its ticks in
the test's own process, one after the other, with a clock it moves on.
"""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Protocol

from campaignctl.app.apply import apply_now
from campaignctl.app.executor import ApplyOptions, ApplyReport
from campaignctl.app.plan import Planned
from campaignctl.clock import Clock
from campaignctl.controller.forward import SECRET_VARIABLE, Forwarder
from campaignctl.controller.leader import DEFAULT_TTL_SECONDS, GuardedProvider, Leadership
from campaignctl.controller.metrics import Metrics
from campaignctl.controller.signals import waking
from campaignctl.controller.watcher import ConfigWatcher
from campaignctl.core.instants import format_instant
from campaignctl.core.types import Plan
from campaignctl.errors import EXIT_SENDING_STOPPED, CampaignctlError
from campaignctl.providers.base import Provider
from campaignctl.providers.outbox import OutboxTable
from campaignctl.render.plan import tick_parts
from campaignctl.store import LeaseHeld, StateLocation, Store

log = logging.getLogger("campaignctl.controller")

DEBOUNCE_SECONDS = 1.0
SETTLE_SECONDS = 0.25  # a save's events come this close together: one burst, one wake
MAX_SETTLE_SECONDS = 2.0  # the longest a burst of events may hold the tick back
MAX_BACKOFF_SECONDS = 300.0


@dataclass
class ControllerOptions:
    config_dir: Path
    state_path: Path | StateLocation  # str() masks a URL: it is logged
    interval: timedelta | None = None  # None: Settings.reconcileInterval
    once: bool = False
    watch: bool = True
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    allow_empty: bool = False
    lease_ttl: float = DEFAULT_TTL_SECONDS  # seconds a leader that stopped renewing holds on


class Sleeper(Protocol):
    """How the loop waits between ticks."""

    def wait(self, seconds: float, wake: threading.Event) -> bool:
        """Wait `seconds`, or less when `wake` is set meanwhile; True when it was."""
        ...


class EventSleeper:
    """Waits in real time, on the event itself."""

    def wait(self, seconds: float, wake: threading.Event) -> bool:
        return wake.wait(timeout=seconds)


def summary_line(planned: Planned, report: ApplyReport) -> str:
    """One line a tick: per campaign, what was done and why the rest waits."""
    named = [
        f"{name}: " + ("; ".join(parts) if parts else "nothing to do")
        for name, parts in tick_parts(planned.plan).items()
    ]
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(report.outcomes.items()))
    named += [f"{name}: held (config_error: {error})" for name, error in planned.plan.held.items()]
    text = " | ".join(named) if named else "nothing due"
    return text + (f" | provider: {outcomes}" if outcomes else "")


def fields(event: str, **values: object) -> dict[str, object]:
    """The structured fields of a log line (`extra=`): JSON lines carry them as keys."""
    return {"fields": {"event": event, **values}}


def campaign_counts(plan: Plan) -> dict[str, dict[str, int]]:
    """What a tick did per campaign: actions by type (tallied ones included)."""
    counts: dict[str, dict[str, int]] = {}
    for action in plan.actions:
        mine = counts.setdefault(action.campaign, {})
        mine[action.type] = mine.get(action.type, 0) + 1
    for tally in plan.tallies:
        mine = counts.setdefault(tally.campaign, {})
        mine[tally.type] = mine.get(tally.type, 0) + tally.count
    return counts


def log_progress(done: int, total: int) -> None:
    """A log line every 500 sends of a long tick."""
    if done % 500 == 0 and (total == 0 or done < total):
        log.info(
            "sent %d of %s",
            done,
            total or "those due",
            extra=fields("progress", sent=done, total=total or None),
        )


def log_import(campaign: str, read: int, enrolled: int) -> None:
    """A log line every batch of a large group being read."""
    log.info(
        "%s: %d numbers of its group read, %d enrolled", campaign, read, enrolled,
        extra=fields("import", campaign=campaign, read=read, enrolled=enrolled),
    )  # fmt: skip


class Controller:
    """Ticks until stopped. `clock` is the time ticks plan at, `sleeper` waits between them,
    `jitter` (a number in [0, 1) a call) spreads the backoff of failing ticks."""

    def __init__(
        self,
        options: ControllerOptions,
        clock: Clock,
        provider_factory: Callable[[OutboxTable], Provider],
        *,
        sleeper: Sleeper | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.options = options
        self.clock = clock
        self.provider_factory = provider_factory
        self.sleeper: Sleeper = sleeper or EventSleeper()
        self.jitter = jitter
        self.stop = threading.Event()
        self.wake = threading.Event()
        self.metrics = Metrics()
        self.failures = 0
        self.stopped_early = False  # the last tick's sending stopped early
        self.held = False  # the last tick found campaigns held by a broken file
        self.interval = options.interval or timedelta(minutes=15)
        self.holder = f"reconcile:{socket.gethostname()}:{os.getpid()}"
        self.leadership = Leadership(options.state_path, self.holder, options.lease_ttl)
        self.forwarder = Forwarder(
            self.leadership.borrowed, os.environ.get(SECRET_VARIABLE), self.leadership.safe
        )

    def _signal(self, signum: int, _frame: FrameType | None) -> None:
        log.info(
            "received %s: finishing the send in flight, then exiting", signal.Signals(signum).name
        )
        self.stop.set()
        self.wake.set()

    def tick(self) -> bool:
        started = time.monotonic()
        try:
            with self.leadership.store() as store:
                if not self.leadership.claim(store):
                    return True  # a standby: the next try comes soon
                planned, report = self._apply(store)
                balance = store.balance()
        except LeaseHeld as exc:
            log.info("another process is applying; this tick waits for the next: %s", exc)
            return True
        except CampaignctlError as exc:
            self.failures += 1
            self.metrics.ticks_failed.inc()
            log.error(
                "tick failed (every completed send is recorded; the next tick retries): %s",
                exc,
                extra=fields("tick_failed", error=str(exc), failures=self.failures),
            )
            return False
        except Exception as exc:  # a bug or the machine: log it, never die
            self.failures += 1
            self.metrics.ticks_failed.inc()
            log.exception(
                "tick failed unexpectedly: %s",
                exc,
                extra=fields("tick_failed", error=str(exc), failures=self.failures),
            )
            return False
        seconds = time.monotonic() - started
        self.failures = 0
        self.stopped_early = report.stopped is not None
        self.held = bool(planned.plan.held)
        if self.options.interval is None:
            self.interval = planned.desired.settings.reconcile_interval
        self.forwarder.configure(planned.desired.settings.forward_url)
        self.metrics.observe(planned.plan, report.outcomes, balance, seconds, time.time())
        log.info(
            "tick at %s: %s (%.2fs)%s",
            format_instant(planned.plan.now),
            summary_line(planned, report),
            seconds,
            f"; stopped: {report.stopped}" if report.stopped else "",
            extra=fields(
                "tick",
                now=format_instant(planned.plan.now),
                serial=planned.plan.state_serial,
                seconds=round(seconds, 3),
                counts=planned.plan.summary(),
                campaigns=campaign_counts(planned.plan),
                provider=dict(report.outcomes),
                balance=balance,
                stopped=report.stopped,
            ),
        )
        return True

    def _apply(self, store: Store) -> tuple[Planned, ApplyReport]:
        """One apply under the lease this controller holds; nothing is handed to the
        provider once the lease may be lost."""
        leadership = self.leadership
        provider = GuardedProvider(self.provider_factory(store), leadership.safe)
        options = ApplyOptions(
            holder=self.holder,
            wait_seconds=0.0,
            lease_ttl=self.options.lease_ttl,
            allow_empty=self.options.allow_empty,
            should_stop=lambda: self.stop.is_set() or not leadership.safe(),
            progress=log_progress,
            importing=log_import,
        )
        return apply_now(self.options.config_dir, store, provider, self.clock, options)

    def backoff(self) -> float:
        """Seconds before the next try after `failures` failed ticks in a row."""
        base = min(MAX_BACKOFF_SECONDS, 2.0 ** min(self.failures, 10))
        ceiling = self.interval.total_seconds()
        return min(ceiling, base * (0.5 + self.jitter() / 2))

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._signal)
        signal.signal(signal.SIGINT, self._signal)
        if self.options.metrics_port is not None:
            self.metrics.serve(self.options.metrics_port, self.options.metrics_host)
            log.info(
                "metrics on http://%s:%d/metrics",
                self.options.metrics_host,
                self.options.metrics_port,
            )
        watcher: ConfigWatcher | None = None
        if self.options.watch and not self.options.once:
            watcher = ConfigWatcher(self.options.config_dir)
            watcher.start()
            threading.Thread(target=self._relay, args=(watcher,), daemon=True).start()
        log.info("reconciling %s into %s", self.options.config_dir, self.options.state_path)
        renewing = threading.Event()
        if not self.options.once:
            threading.Thread(
                target=self.leadership.renew_until, args=(renewing,), daemon=True
            ).start()
            threading.Thread(target=self.forwarder.run, args=(renewing,), daemon=True).start()
        try:
            with waking(self.wake):
                return self.loop()
        finally:
            renewing.set()
            if watcher is not None:
                watcher.stop()

    def loop(self) -> int:
        """Tick until `stop` is set (with `once`, one tick: 0 when it went well, 1 when it
        failed or a broken file held campaigns (the others were applied), 3 when sending
        stopped early)."""
        while not self.stop.is_set():
            ok = self.tick()
            if self.options.once:
                self.forwarder.drain()
                self.leadership.release()
                if not ok:
                    return 1
                if self.stopped_early:
                    return EXIT_SENDING_STOPPED
                return 1 if self.held else 0
            self.pause(ok)
        self.leadership.release()
        log.info("stopped")
        return 0

    def pause(self, ok: bool) -> None:
        """Wait for the next tick: the interval after a good one, a backoff after a failure;
        `wake` (a file changed, a signal) ends the wait early, once a burst of writes settled."""
        delay = self.interval.total_seconds() if ok else self.backoff()
        if ok and not self.leadership.leading:
            delay = self.leadership.standby_every
        if not ok:
            log.info("next try in %.1fs", delay)
        if self.sleeper.wait(delay, self.wake) and not self.stop.is_set():
            self.sleeper.wait(DEBOUNCE_SECONDS, self.stop)
        self.wake.clear()

    def _relay(self, watcher: ConfigWatcher) -> None:
        """Wake the loop once per burst of file events: one save (an editor writes, renames,
        touches) is one change, logged once, whatever number of events it made."""
        while not self.stop.is_set():
            if not watcher.changed.wait(timeout=1.0):
                continue
            paths: list[str] = []
            settle_until = time.monotonic() + MAX_SETTLE_SECONDS  # files written non-stop
            while watcher.changed.is_set() and not self.stop.is_set():  # still wake a tick
                watcher.changed.clear()
                paths.extend(p for p in watcher.drain() if p not in paths)
                if time.monotonic() >= settle_until:
                    break
                watcher.changed.wait(timeout=SETTLE_SECONDS)
            shown = paths[-1] if paths else str(self.options.config_dir)
            more = f" (and {len(paths) - 1} more)" if len(paths) > 1 else ""
            log.info(
                "change to %s%s: reconciling", shown, more, extra=fields("change", paths=paths)
            )
            self.wake.set()


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": format_instant(datetime.fromtimestamp(record.created, UTC)),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def setup_logging(fmt: str, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S")
        )
    root = logging.getLogger("campaignctl")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
