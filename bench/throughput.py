"""Apply throughput: the engine's own cost per message (intent, outcome, ledger, decision),
with the outbox provider and with the local Twilio-compatible server; and the send-out of a
100-a-second sender against that server answering each create after Twilio's usual 150 ms.

The group is enrolled at night (every first message deferred), then one apply in the
afternoon sends them all. Its time minus the time spent inside the provider's `send`, divided
by the messages, is the engine's cost per message: what the engine adds to the provider.

The send-out hands a sender's messages over concurrently (app.handover), so time inside the
provider overlaps and cannot be subtracted: its engine cost is the CPU of the apply's own
thread (planning, intents, outcomes, ledger; the calls run on the pool's threads) divided
by the messages, and its rate is the messages over the whole apply.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bench.scenarios import AFTERNOON, NIGHT, fresh_state, launch
from campaignctl.app import apply as engine
from campaignctl.app.executor import ApplyOptions
from campaignctl.clock import FrozenClock
from campaignctl.emulator.server import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN
from campaignctl.providers.base import Outcome, OutgoingMessage, Provider
from campaignctl.providers.outbox import OutboxProvider
from campaignctl.store import Store
from campaignctl.store.location import StateArg


class TimedProvider:
    """A provider that measures the time spent inside another one."""

    def __init__(self, inner: Provider) -> None:
        self.inner = inner
        self.name = inner.name
        self.seconds = 0.0
        self.cpu = 0.0
        self.sends = 0

    def send(self, message: OutgoingMessage) -> Outcome:
        # both clocks read inside the wall-clock window, so that their own cost is counted
        # to the provider and not to the engine; the CPU clock is the thread's (the provider
        # is called on this thread): reading the process's CPU clock costs up to 0.2 ms here
        started = time.perf_counter()
        cpu = time.thread_time()
        try:
            return self.inner.send(message)
        finally:
            self.cpu += time.thread_time() - cpu
            self.seconds += time.perf_counter() - started
            self.sends += 1

    def lookup(self, message: OutgoingMessage) -> Outcome | None:
        return self.inner.lookup(message)


@dataclass(frozen=True)
class ApplyCost:
    messages: int
    total: float  # seconds of the whole apply (engine.apply_now)
    provider: float  # seconds inside provider.send
    total_cpu: float  # CPU seconds of this process during the apply
    provider_cpu: float  # of which inside provider.send

    @property
    def engine_per_message(self) -> float:
        return (self.total - self.provider) / max(1, self.messages)

    @property
    def engine_cpu_per_message(self) -> float:
        return (self.total_cpu - self.provider_cpu) / max(1, self.messages)

    @property
    def per_message(self) -> float:
        return self.total / max(1, self.messages)


class OverlapProvider:
    """A provider that notes how many calls to another one are in flight at once, and the
    span from the first call's start to the last one's end (calls come from several
    threads)."""

    def __init__(self, inner: Provider) -> None:
        self.inner = inner
        self.name = inner.name
        self._lock = threading.Lock()
        self.flying = 0
        self.peak = 0
        self.sends = 0
        self.first: float | None = None
        self.last = 0.0

    def send(self, message: OutgoingMessage) -> Outcome:
        with self._lock:
            self.flying += 1
            self.peak = max(self.peak, self.flying)
            if self.first is None:
                self.first = time.perf_counter()
        try:
            return self.inner.send(message)
        finally:
            with self._lock:
                self.flying -= 1
                self.sends += 1
                self.last = time.perf_counter()

    def lookup(self, message: OutgoingMessage) -> Outcome | None:
        return self.inner.lookup(message)

    @property
    def span(self) -> float:
        return self.last - self.first if self.first is not None else 0.0


@dataclass(frozen=True)
class SendoutCost:
    messages: int
    rate: float  # the sender's messagesPerSecond
    total: float  # seconds of the whole apply
    span: float  # seconds from the first hand-over to the last answer
    engine_cpu: float  # CPU seconds of the apply's own thread
    process_cpu: float  # CPU seconds of this process (the pool's threads too)
    peak: int  # calls in flight at once, at the most

    @property
    def achieved(self) -> float:
        """Messages handed over a second, over the whole apply."""
        return self.messages / self.total

    @property
    def share(self) -> float:
        return self.achieved / self.rate

    @property
    def engine_per_message(self) -> float:
        return self.engine_cpu / max(1, self.messages)


def send_out(config_dir: Path, state: StateArg, url: str, rate: float) -> SendoutCost:
    """One apply that hands every due message to the local Twilio server (which answers
    each create after its latency), on a fresh copy of the prepared state."""
    from campaignctl.providers.twilio import TwilioProvider

    clock = FrozenClock(AFTERNOON)
    with Store.open(state) as store:
        provider = OverlapProvider(
            TwilioProvider(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, base_url=url)
        )
        started, cpu, own = time.perf_counter(), time.process_time(), time.thread_time()
        _, report = engine.apply_now(
            config_dir, store, provider, clock, ApplyOptions(holder="bench")
        )
        total = time.perf_counter() - started
        own, cpu = time.thread_time() - own, time.process_time() - cpu
    sent = report.outcomes.get("sent", 0)
    if sent != provider.sends or report.stopped:
        raise RuntimeError(f"{provider.sends} handed to the provider but {sent} sent: {report}")
    return SendoutCost(sent, rate, total, provider.span, own, cpu, provider.peak)


def prepare(config_dir: Path, state_path: Path, *, concurrency: int | None = 1) -> None:
    """A state where every contact is enrolled and its first message due; the campaign's
    sender hands over `concurrency` messages at once (None: derived from its rate). The
    apply benchmark measures what the engine adds to each call, one call at a time."""
    for path in (config_dir / "campaigns").glob("*.yaml"):
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [line for line in lines if not line.strip().startswith("concurrency:")]
        if concurrency is not None:
            at = next(i for i, line in enumerate(kept) if "messagesPerSecond:" in line)
            kept.insert(at + 1, f"    concurrency: {concurrency}\n")
        path.write_text("".join(kept), encoding="utf-8")
    fresh_state(state_path)
    launch(config_dir, state_path, NIGHT)


def send_all(config_dir: Path, state: StateArg, make_provider: str, url: str | None) -> ApplyCost:
    """One apply, on a fresh copy of the prepared state, that sends every due message."""
    now: datetime = AFTERNOON
    clock = FrozenClock(now)
    with Store.open(state) as store:
        inner: Provider
        if make_provider == "twilio":
            from campaignctl.providers.twilio import TwilioProvider

            inner = TwilioProvider(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, base_url=url)
        else:
            inner = OutboxProvider(store, clock)
        provider = TimedProvider(inner)
        started, cpu = time.perf_counter(), time.process_time()
        _, report = engine.apply_now(
            config_dir, store, provider, clock, ApplyOptions(holder="bench")
        )
        total, total_cpu = time.perf_counter() - started, time.process_time() - cpu
    sent = report.outcomes.get("sent", 0)
    if sent != provider.sends:
        raise RuntimeError(f"{provider.sends} handed to the provider but {sent} sent: {report}")
    return ApplyCost(sent, total, provider.seconds, total_cpu, provider.cpu)


@contextmanager
def local_twilio_server(latency: float = 0.0) -> Iterator[str]:
    """The emulator (campaignctl's local Twilio-compatible server) in its own process,
    answering each create after `latency` seconds. Its simulated deliveries (queued -> sent
    -> delivered) wait a minute, so they do not compete with the engine for this machine's
    two cores while the engine is being measured."""
    command = ["-m", "campaignctl.emulator", "--port", "0", "--delivery-delay", "60"]
    process = subprocess.Popen(
        [sys.executable, *command, "--latency", f"{latency}s"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "TWILIO_ACCOUNT_SID": "", "TWILIO_AUTH_TOKEN": ""},
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        if "listening on" not in first:
            raise RuntimeError(f"the emulator did not start: {first!r}")
        yield first.rsplit(" ", 1)[1].strip()
    finally:
        process.terminate()
        process.wait(10)
