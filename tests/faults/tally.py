"""What the fault suite observed, summed over the run and printed at its end.

Every figure is counted where it happens (a process started, a SIGKILL delivered to a live
process, a scripted fault the emulator answered, a message audited), never set by hand.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

FULL = os.environ.get("CAMPAIGNCTL_FAULTS", "").strip().lower() == "full"


def sized(reduced: int, full: int) -> int:
    """The reduced figure under `make test`, the full one under `make faults`."""
    return full if FULL else reduced


@dataclass
class Tally:
    runs: int = 0  # campaignctl processes started
    kills: int = 0  # SIGKILLs that hit a process still running
    left_in_flight: int = 0  # attempts a kill left between intent and outcome
    sent_while_crashing: int = 0  # messages the killed (or finished) runs sent before the audit
    faults: Counter[str] = field(default_factory=Counter)  # kind -> faults injected
    provider_requests: int = 0  # creates and lookups the emulator answered in scripted runs
    fuzzed: Counter[str] = field(default_factory=Counter)  # input kind -> inputs tried
    messages_checked: int = 0
    duplicates: int = 0
    losses: int = 0

    def fault(self, kind: str, count: int = 1) -> None:
        if count:
            self.faults[kind] += count

    def merge(self, other: dict[str, Any]) -> None:
        """Add the counts of another process (an xdist worker's `asdict` of its Tally)."""
        for name, value in other.items():
            mine = getattr(self, name)
            if isinstance(mine, Counter):
                mine.update(value)
            else:
                setattr(self, name, mine + value)

    def lines(self) -> list[str]:
        size = "full (make faults)" if FULL else "reduced (set CAMPAIGNCTL_FAULTS=full for all)"
        faults = ", ".join(f"{k} {v}" for k, v in sorted(self.faults.items())) or "none"
        fuzzed = ", ".join(f"{k} {v}" for k, v in sorted(self.fuzzed.items())) or "none"
        return [
            f"size: {size}",
            f"runs: {self.runs}",
            f"kills: {self.kills} (attempts left in flight by them: {self.left_in_flight}; "
            f"messages sent between kills: {self.sent_while_crashing})",
            f"faults injected: {sum(self.faults.values())} ({faults})",
            f"provider requests under scripted faults: {self.provider_requests}",
            f"fuzzed inputs: {sum(self.fuzzed.values())} ({fuzzed})",
            f"messages checked: {self.messages_checked}",
            f"duplicates found: {self.duplicates}",
            f"losses found: {self.losses}",
        ]


TALLY = Tally()
