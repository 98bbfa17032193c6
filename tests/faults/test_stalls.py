"""A process that stalls (SIGSTOP: stopped, its machine paused) while it holds the lease
must keep the others waiting no longer than the lease's time to live: a leading
controller's tick leaves the lease's expiry at the controller's own TTL (the apply inside
it does not take the lease again for its own, longer one).
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from campaignctl.clock import FrozenClock
from campaignctl.controller.loop import Controller, ControllerOptions
from campaignctl.providers.base import Outcome, OutgoingMessage, Provider
from campaignctl.providers.outbox import OutboxProvider
from campaignctl.store import Store
from tests.cli.repo import Repo
from tests.faults.world import NOW_AT

TTL_SECONDS = 3.0


class LeaseWatcher:
    """Sends through another provider, noting first how long the lease has left to run."""

    name = "outbox"

    def __init__(self, inner: Provider, store: Store) -> None:
        self.inner = inner
        self.store = store
        self.left: list[float] = []

    def send(self, message: OutgoingMessage) -> Outcome:
        _holder, _token, expires_at = self.store.current_lease()
        self.left.append(expires_at - time.time())
        return self.inner.send(message)

    def lookup(self, message: OutgoingMessage) -> Outcome | None:
        return self.inner.lookup(message)


def test_a_leading_controller_s_tick_leaves_the_lease_at_the_controller_s_ttl(
    tmp_path: Path,
) -> None:
    repo = Repo(tmp_path).standard()
    repo.run("credits", "add", "50", now="2026-03-01T00:00:00Z")
    clock = FrozenClock(NOW_AT)
    watchers: list[LeaseWatcher] = []

    def provider(store: Store) -> Provider:
        watchers.append(LeaseWatcher(OutboxProvider(store, clock), store))
        return watchers[-1]

    options = ControllerOptions(
        repo.dir, repo.state, interval=timedelta(hours=1), watch=False, lease_ttl=TTL_SECONDS
    )
    controller = Controller(options, clock, provider)
    assert controller.tick()
    left = [seconds for watcher in watchers for seconds in watcher.left]
    assert left, "nothing was sent"
    # a leader stalled here is waited out for its own TTL, not the apply's 60 s
    assert max(left) <= TTL_SECONDS, left
