"""Timing: wall and CPU seconds of a call, medians of several runs, and the figures a benchmark
reports (printed as it goes, then written to bench/RESULTS.md)."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Sample:
    wall: float  # seconds
    cpu: float  # seconds of CPU of this process (all its threads)


def timed(work: Callable[[], T]) -> tuple[Sample, T]:
    """Run `work` once, after a full collection, and measure it."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return Sample(time.perf_counter() - wall, time.process_time() - cpu), result


@dataclass
class Series:
    """Several runs of one measurement."""

    samples: list[Sample] = field(default_factory=list)

    def add(self, sample: Sample) -> None:
        self.samples.append(sample)

    @property
    def wall(self) -> float:
        return statistics.median(s.wall for s in self.samples)

    @property
    def cpu(self) -> float:
        return statistics.median(s.cpu for s in self.samples)

    @property
    def runs(self) -> int:
        return len(self.samples)

    def spread(self) -> str:
        walls = sorted(s.wall for s in self.samples)
        return ", ".join(seconds(w) for w in walls)


@dataclass
class Figure:
    """One line of the results: what was measured, its median, and how it compares."""

    benchmark: str
    size: str
    what: str
    value: str
    ratio: str = ""
    target: str = ""
    verdict: str = ""  # "met", "missed" or "" (recorded only)
    note: str = ""

    def line(self) -> str:
        parts = [f"[{self.benchmark} {self.size}] {self.what}: {self.value}"]
        if self.ratio:
            parts.append(f"ratio {self.ratio}")
        if self.target:
            parts.append(f"target {self.target}: {self.verdict.upper()}")
        if self.note:
            parts.append(self.note)
        return " | ".join(parts)


def seconds(value: float) -> str:
    if value < 0.001:
        return f"{value * 1e6:.0f} us"
    if value < 1:
        return f"{value * 1000:.1f} ms"
    return f"{value:.2f} s"


def verdict(ok: bool) -> str:
    return "met" if ok else "missed"
