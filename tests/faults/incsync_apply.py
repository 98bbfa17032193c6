"""`python -m tests.faults.incsync_apply CONFIG_DIR STATE`: one apply at night (nothing is
sent), ten contacts a batch, so that a kill lands between many transactions of a sync."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from campaignctl.app import apply as engine
from campaignctl.app.executor import ApplyOptions
from campaignctl.app.plan import make_plan
from campaignctl.clock import FrozenClock
from campaignctl.core.instants import parse_instant
from campaignctl.providers.outbox import OutboxProvider
from campaignctl.store import Store

NIGHT = parse_instant("2026-03-02T08:00:00Z")  # 03:00 in New York
BATCH = 10


def apply(config_dir: Path, state: str, *, saved: bool = False) -> None:
    """One apply: streamed (only the rows that changed, when the state keeps the group's
    file), or from a saved plan (every group read whole)."""
    clock = FrozenClock(NIGHT)
    # the lease held as `apply:host:pid`: a killed holder's lease is taken over at once
    options = ApplyOptions(batch=BATCH, wait_seconds=60)
    with Store.open(state) as store:
        provider = OutboxProvider(store, clock)
        if saved:
            planned = make_plan(config_dir, store, NIGHT)
            engine.apply_now(config_dir, store, provider, clock, options, saved=planned.plan)
        else:
            engine.apply_now(config_dir, store, provider, clock, options)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    apply(Path(sys.argv[1]), sys.argv[2])
