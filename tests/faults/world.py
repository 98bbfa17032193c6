"""The world a fault test runs in: a campaign repo of N contacts, the local Twilio emulator,
campaignctl as real processes (started, waited for, killed), and scripted provider faults."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from campaignctl.emulator import Fault, TwilioEmulator
from campaignctl.store import Store
from tests.cli.repo import Repo
from tests.faults.tally import TALLY

NOW = "2026-03-02T17:00:00Z"  # noon in New York (the 212 numbers): inside every window
NOW_AT = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)
ACCOUNT_SID = "AC" + "fa" * 16
AUTH_TOKEN = "faults-" + os.urandom(8).hex()
SENDER = "+15125550147"
# the sender's calls in flight at once: the suite runs with concurrent hand-overs
CONCURRENCY = 8


def phones(count: int, first: int = 0) -> list[str]:
    return [f"+1212555{i:04d}" for i in range(first, first + count)]


def campaign_repo(
    root: Path,
    count: int,
    credits: int | None = None,
    state: str | None = None,
    *,
    mps: float = 1,
    sender: str = f"concurrency: {CONCURRENCY}",
) -> Repo:
    """A repo with one active campaign (two steps, 30 days apart) for `count` contacts;
    its state in the repo's file, or at `state` (a PostgreSQL URL). `sender`: more lines
    of the campaign's sender (YAML, one per line)."""
    repo = Repo(root)
    repo.template()
    repo.group(rows=[(p, f"Name{i}") for i, p in enumerate(phones(count))])
    repo.campaign(sender=SENDER, mps=mps)
    campaign = repo.dir / "campaigns" / "spring-buyers.yaml"
    lines = "".join(f"    {line.strip()}\n" for line in sender.splitlines() if line.strip())
    campaign.write_text(campaign.read_text(encoding="utf-8") + lines, encoding="utf-8")
    with Store.open(state or repo.state) as store:
        store.add_credits(credits if credits is not None else 4 * count, "faults", NOW_AT)
    return repo


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "CAMPAIGNCTL_"))}
    env.update(extra)
    return env


def twilio_env(emulator: TwilioEmulator) -> dict[str, str]:
    return clean_env(
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        CAMPAIGNCTL_TWILIO_BASE_URL=emulator.url,
    )


@contextmanager
def emulator_at_noon(
    delivery_delay: float = 0.02, latency: float = 0.0, now: datetime = NOW_AT
) -> Iterator[TwilioEmulator]:
    with TwilioEmulator(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        now=now,
        delivery_delay=delivery_delay,
        latency=latency,
    ) as emulator:
        yield emulator


@dataclass
class Process:
    """One campaignctl process; its stdout and stderr kept in files (a killed process has no
    pipes left to read)."""

    proc: subprocess.Popen[bytes]
    log_path: Path  # stdout; stderr is beside it, with ".err" added
    started: float = field(default_factory=time.monotonic)

    @property
    def err_path(self) -> Path:
        return self.log_path.with_name(self.log_path.name + ".err")

    def stdout(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stderr(self) -> str:
        return self.err_path.read_text(encoding="utf-8", errors="replace")

    def output(self) -> str:
        return self.stdout() + self.stderr()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> bool:
        """SIGKILL it; True when that is what ended it (it was still running)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        code = self.proc.wait(timeout=30)
        killed = code == -signal.SIGKILL
        TALLY.kills += killed
        return killed

    def stop(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def wait(self, timeout: float = 120) -> int:
        return self.proc.wait(timeout=timeout)


def start(
    repo: Repo,
    args: Sequence[str],
    env: dict[str, str],
    log_name: str,
    logs: Path | None = None,
    state: str | None = None,
) -> Process:
    """campaignctl on `repo` as its own process; output to `logs` (default: the repo's);
    the state the repo's file, or `state` (a PostgreSQL URL)."""
    log_path = (logs or repo.root / "logs") / log_name
    log_path.parent.mkdir(parents=True, exist_ok=True)
    err_path = log_path.with_name(log_path.name + ".err")
    with log_path.open("wb") as out, err_path.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "campaignctl", "--dir", str(repo.dir),
             "--state", state or str(repo.state), "--now", NOW, *args],
            stdout=out, stderr=err, env=env,
        )  # fmt: skip
    TALLY.runs += 1
    return Process(proc, log_path)


def run(
    repo: Repo, args: Sequence[str], env: dict[str, str], log_name: str, logs: Path | None = None
) -> tuple[int, str, str]:
    """Run to the end; returns (exit code, stdout, stderr)."""
    process = start(repo, args, env, log_name, logs)
    code = process.wait()
    return code, process.stdout(), process.stderr()


# ---------------------------------------------------------------------------- provider faults

FaultMaker = Callable[[random.Random], Fault]


@dataclass
class Script:
    """Scripted faults and pass-through slots, in order, so that a share of the requests
    of each operation fail; `consumed()` counts the faults the emulator really answered."""

    planted: list[tuple[str, Fault]] = field(default_factory=list)
    seen_requests: int = 0  # creates and lists already counted

    def plant(
        self,
        emulator: TwilioEmulator,
        rng: random.Random,
        op: str,
        share: float,
        kinds: dict[str, FaultMaker],
        slots: int,
    ) -> None:
        faults: list[Fault] = []
        names = sorted(kinds)
        first = rng.sample(names, len(names))  # every kind early on, then at random
        for _ in range(slots):
            if rng.random() < share:
                kind = first.pop() if first else rng.choice(names)
                fault = kinds[kind](rng)
                fault.op = op  # type: ignore[assignment]
                self.planted.append((kind, fault))
                faults.append(fault)
            else:
                faults.append(Fault(op=op))  # type: ignore[arg-type]  # answers normally
        emulator.add_fault(*faults)

    def add(self, emulator: TwilioEmulator, kind: str, *faults: Fault) -> None:
        """Faults for the next matching requests, in order (each with times=1)."""
        for fault in faults:
            assert fault.times == 1, "count faults one request each"
            self.planted.append((kind, fault))
        emulator.add_fault(*faults)

    def consumed(self, emulator: TwilioEmulator) -> dict[str, int]:
        pending = {id(f) for f in emulator.faults.pending()}
        counts: dict[str, int] = {}
        for kind, fault in self.planted:
            if id(fault) not in pending:
                counts[kind] = counts.get(kind, 0) + 1
        return counts

    def settle(self, emulator: TwilioEmulator) -> dict[str, int]:
        """Count what was answered into the tally, and drop what was not."""
        counts = self.consumed(emulator)
        for kind, count in counts.items():
            TALLY.fault(f"provider {kind}", count)
        requests = len(emulator.requests("create")) + len(emulator.requests("list"))
        TALLY.provider_requests += requests - self.seen_requests
        self.seen_requests = requests
        emulator.faults.clear()
        self.planted.clear()
        return counts
