"""What waits now, by reason: for every live enrollment, what the next apply would do with
its next step, counted per campaign.

Not kept in the state (a defer is not history): asked of the pure planner at this moment, as
`explain` asks it for one number (app/waiting.py), over every due enrollment in the order an
apply takes them (oldest due first, a batch at a time), so the pace of each sender and the
balance are spent as the apply would spend them. Enrollments not yet due wait for their
step's gap; those with an attempt in flight wait for its outcome.

    waits = waits_now(Path("campaigns.d"), store, now)
    waits.counts["spring-buyers"]   # {"not due yet": 900, "waits: quiet_hours": 20, ...}
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from campaignctl import config
from campaignctl.core.planner import Planning
from campaignctl.errors import Cancelled
from campaignctl.store import DueBatch
from campaignctl.store.protocols import SnapshotReader

BATCH = 20_000  # due enrollments decided at a time (as a streamed apply reads them)
EXAMINED = 200_000  # due enrollments decided at most; the rest are counted, not decided

NOT_DUE = "not due yet"
IN_FLIGHT = "in flight"
SEND = "sends at the next apply"
UNEXAMINED = "due, not examined"


class WaitsReader(SnapshotReader, Protocol):
    """What counting the waits reads: the snapshot, the due enrollments a batch at a time,
    and how many are live, due and in flight per campaign."""

    def due_batches(self, now: datetime, size: int, last_id: int) -> Iterator[DueBatch]: ...

    def last_enrollment_id(self) -> int: ...

    def due_counts(self, now: datetime) -> dict[str, tuple[int, int, int]]: ...


@dataclass(frozen=True)
class Waits:
    """Per campaign, how many live enrollments wait for what: `not due yet`, `in flight`,
    `sends at the next apply`, `waits: <rule>` (e.g. quiet_hours), `skipped: <rule>`, or
    why the planner decides nothing (e.g. `no decision: its campaign is draft`)."""

    at: datetime
    counts: dict[str, Counter[str]] = field(default_factory=dict)

    def of(self, campaign: str) -> list[tuple[str, int]]:
        """The campaign's waits, most first."""
        found = self.counts.get(campaign, Counter())
        return sorted(found.items(), key=lambda item: (-item[1], item[0]))


def _label(action_type: str, reason: str | None) -> str:
    if action_type == "send":
        return SEND
    what = {"defer": "waits", "skip": "skipped"}.get(action_type, action_type)
    return f"{what}: {reason}" if reason else what


def waits_now(
    config_dir: Path,
    store: WaitsReader,
    now: datetime,
    stopped: Callable[[], bool] = lambda: False,
) -> Waits:
    """Count what waits now, per campaign (see the module). ConfigError or PlanError when
    the configuration cannot be read or the planner refuses it; Cancelled when `stopped`
    says so, asked before each batch."""
    desired = config.load(config_dir, parse_contacts=lambda name, digest: False).require()
    planning = Planning(desired, store.snapshot(desired, now, with_due=False), now)
    counts: dict[str, Counter[str]] = {}
    live_due_flying = store.due_counts(now)
    for campaign, (live, due, flying) in live_due_flying.items():
        counts[campaign] = Counter({NOT_DUE: live - due, IN_FLIGHT: flying})
    examined = 0
    for batch in store.due_batches(now, BATCH, store.last_enrollment_id()):
        if stopped():
            raise Cancelled(f"stopped after {examined:,} due enrollments")
        decided: set[tuple[str, str]] = set()
        for action in planning.due(batch.enrollments, batch.last_sent).actions:
            if action.phone is None:
                continue  # a campaign's pause: its enrollments are counted by their own
            decided.add((action.campaign, action.phone))
            counts.setdefault(action.campaign, Counter())[_label(action.type, action.reason)] += 1
        for enrollment, _ in batch.enrollments:
            if (enrollment.campaign, enrollment.phone) not in decided:
                why = f"no decision: {planning.why_idle(enrollment)}"
                counts.setdefault(enrollment.campaign, Counter())[why] += 1
        examined += len(batch.enrollments)
        if examined >= EXAMINED:  # the rest are due too: counted, not decided
            for campaign, (_, due, flying) in live_due_flying.items():
                told = sum(n for label, n in counts[campaign].items()
                           if label not in (NOT_DUE, IN_FLIGHT))  # fmt: skip
                counts[campaign][UNEXAMINED] = due - flying - told
            break
    return Waits(now, {name: +found for name, found in counts.items()})
