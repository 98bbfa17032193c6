"""The store's lease, held for the length of a `with` block and renewed as work goes on:
one apply or controller writes at a time, and every write is fenced by its token.

A Lease entered on a store that already holds the lease (a leading controller holds it
across its ticks) holds it within that holding and leaves it held on exit."""

from __future__ import annotations

import time

from campaignctl.store.protocols import LeaseHolder


class Lease:
    def __init__(
        self, store: LeaseHolder, holder: str, wait_seconds: float, ttl: float = 60.0
    ) -> None:
        self.store = store
        self.holder = holder
        self.wait_seconds = wait_seconds
        self.ttl = ttl
        self.token = 0
        self._renewed = 0.0
        self._nested = False

    def __enter__(self) -> Lease:
        self._nested = getattr(self.store, "lease_token", None) is not None
        self.token = self.store.acquire_lease(self.holder, self.ttl, self.wait_seconds)
        self._renewed = time.monotonic()
        return self

    def renew_if_due(self) -> None:
        if time.monotonic() - self._renewed > self.ttl / 3:
            self.store.renew_lease(self.token, self.ttl)
            self._renewed = time.monotonic()

    def __exit__(self, *exc: object) -> None:
        if not self._nested:
            self.store.release_lease(self.token)
