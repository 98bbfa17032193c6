"""Apply throughput: the engine's own cost per message (intent, outcome, ledger, decision),
with the outbox provider and with the local Twilio-compatible server.

The group is enrolled at night (every first message deferred), then one apply in the
afternoon sends them all. Its time minus the time spent inside the provider's `send`, divided
by the messages, is the engine's cost per message: what the engine adds to the provider.
"""

from __future__ import annotations

import os
import subprocess
import sys
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
        started, cpu = time.perf_counter(), time.process_time()
        try:
            return self.inner.send(message)
        finally:
            self.seconds += time.perf_counter() - started
            self.cpu += time.process_time() - cpu
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


def prepare(config_dir: Path, state_path: Path) -> None:
    """A state where every contact is enrolled and its first message due."""
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
def local_twilio_server() -> Iterator[str]:
    """The emulator (campaignctl's local Twilio-compatible server) in its own process. Its
    simulated deliveries (queued -> sent -> delivered) wait a minute, so they do not compete
    with the engine for this machine's two cores while the engine is being measured."""
    process = subprocess.Popen(
        [sys.executable, "-m", "campaignctl.emulator", "--port", "0", "--delivery-delay", "60"],
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
