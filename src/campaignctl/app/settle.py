"""Settling the attempts whose outcome is unknown (a crash, a 5xx) by asking the provider."""

from __future__ import annotations

import logging

from campaignctl.app.executor import next_wait
from campaignctl.clock import Clock
from campaignctl.core.types import Snapshot
from campaignctl.providers.base import Outcome, Provider
from campaignctl.store.protocols import InFlight

log = logging.getLogger("campaignctl.engine")


def resolve_in_flight(store: InFlight, provider: Provider, snapshot: Snapshot, clock: Clock) -> int:
    """Found: recorded sent. Certainly absent: recorded retry, so the step is due again. Still
    unclear: left in flight, never sent again blindly. Returns how many were settled."""
    settled = 0
    for record in store.in_flight():
        campaign = snapshot.campaigns.get(record.campaign)
        steps = campaign.launch.steps if campaign and campaign.launch else ()
        found = provider.lookup(record.message())
        if found is None:
            outcome = Outcome("retry", detail="not found at the provider after an interruption")
            store.record_outcome(record.id, outcome, clock.now(), None)
        elif found.status == "sent":
            store.record_outcome(record.id, found, record.created_at, next_wait(steps, record.step))
        else:
            log.warning(
                "attempt %s to %s (step %s) may have been sent; the provider cannot tell: "
                "it will not be sent again automatically",
                record.id,
                record.phone,
                record.step,
            )
            continue
        settled += 1
    return settled
