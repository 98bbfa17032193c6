"""Which of several controllers on one state leads: the one holding the apply lease.

The leader takes the lease once and holds it across its ticks: each tick holds it again in
its own fresh store (`resume_lease`), and a renewer thread pushes its expiry on every sixth
of its time to live, during ticks and between them. The others are standbys: each tries to
take the lease at a short interval, and takes over once it expires (or at once when its
holder was a process of this host that is gone, see `store.lease`).

A leader cut off from the state cannot renew. Its writes are refused by the fencing token
once another took over; its sends must stop sooner, while the lease is surely still its
own: `safe()` is true only until a third of the time to live before the expiry the last
successful renewal set (counted from when that renewal started, on this process's own
monotonic clock). Sending checks it before every message handed to the provider.

The state is open in one store at a time in this process: the renewer renews through the
tick's store while a tick runs, and opens its own only between ticks. Two SQLite stores of
one file open at once in one process are not safe: opening one reads the file's header
with a file handle of its own, and closing that handle drops the file locks the other's
connection holds (POSIX locks belong to the process), so another process may checkpoint
and remove the write-ahead log under it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from campaignctl.core.instants import format_instant
from campaignctl.errors import CampaignctlError
from campaignctl.providers.base import Outcome, OutgoingMessage, Provider
from campaignctl.store import LeaseHeld, StateArg, Store
from campaignctl.store.lease import LeaseLost

log = logging.getLogger("campaignctl.controller")

DEFAULT_TTL_SECONDS = 60.0


class Leadership:
    """This controller's hold on the lease: whether it leads, with which token, and until
    when it may still send."""

    def __init__(
        self,
        location: StateArg,
        holder: str,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.location = location
        self.holder = holder
        self.ttl = ttl_seconds
        self.monotonic = monotonic
        self.token: int | None = None
        self.safe_until = 0.0  # monotonic time after which no message is handed over
        self.waiting_for: str | None = None  # as a standby: the leader last seen
        self._lock = threading.Lock()
        self._stores = threading.Lock()  # held while a store of the state is opened or used
        self._current: Store | None = None  # the running tick's store

    @property
    def renew_every(self) -> float:
        return self.ttl / 6

    @property
    def standby_every(self) -> float:
        """How often a standby tries to take the lease."""
        return min(1.0, self.ttl / 10)

    @property
    def leading(self) -> bool:
        return self.token is not None

    def safe(self) -> bool:
        """True while the lease is surely still ours, with a third of its time to spare."""
        with self._lock:
            return self.token is not None and self.monotonic() < self.safe_until

    @contextmanager
    def store(self) -> Iterator[Store]:
        """A tick's store, the only one of the state open in this process meanwhile; closed
        leaving the lease held (across ticks, by this leadership)."""
        with self._stores:
            store = Store.open(self.location)
            self._current = store
        try:
            yield store
        finally:
            with self._stores:
                self._current = None
                store.detach_lease()
                store.close()

    @contextmanager
    def borrowed(self) -> Iterator[Store]:
        """The tick's store if one is open, else a store of its own, for a short use by
        another thread (the renewer, the reply forwarder)."""
        with self._stores:
            if self._current is not None:
                yield self._current
                return
            with Store.open(self.location) as store:
                yield store

    def _renew_in(self, token: int) -> None:
        """renew_lease in the tick's store if one is open, else in a store of its own."""
        with self.borrowed() as store:
            store.renew_lease(token, self.ttl)

    def _confirm(self, token: int, started: float) -> None:
        with self._lock:
            if self.token in (None, token):
                self.token = token
                self.safe_until = started + self.ttl * 2 / 3

    def _lose(self, why: str) -> None:
        with self._lock:
            if self.token is None:
                return
            self.token = None
            self.safe_until = 0.0
        log.warning("no longer leading: %s; standing by", why)

    def claim(self, store: Store) -> bool:
        """At the start of a tick, in the tick's store: hold the lease (take it when no one
        holds it). True when this controller leads; False as a standby."""
        started = self.monotonic()
        token = self.token
        if token is not None:
            try:
                store.resume_lease(self.holder, token, self.ttl)
            except LeaseLost as exc:  # any other failure fails the tick, still leading
                self._lose(str(exc))
            else:
                self._confirm(token, started)
                return True
        try:
            token = store.acquire_lease(self.holder, self.ttl, 0.0)
        except LeaseHeld:
            self._stand_by(store)
            return False
        self._confirm(token, started)
        before, self.waiting_for = self.waiting_for, None
        log.info(
            "leading as %s (lease token %d%s)",
            self.holder,
            token,
            f", taken over from {before}" if before else "",
        )
        return True

    def _stand_by(self, store: Store) -> None:
        holder, _token, expires_at = store.current_lease()
        if holder is None or holder == self.waiting_for:
            return
        until = format_instant(datetime.fromtimestamp(expires_at, UTC))
        if self.waiting_for is None:
            log.info("standing by: %s leads (its lease runs until %s)", holder, until)
        else:
            log.info("leader changed: %s leads now (was %s)", holder, self.waiting_for)
        self.waiting_for = holder

    def renew(self) -> None:
        """Push the lease's expiry on, in a store of its own; a refusal that says the lease
        was taken ends the leadership, any other failure only lets `safe()` run out."""
        token = self.token
        if token is None:
            return
        started = self.monotonic()
        try:
            self._renew_in(token)
        except LeaseLost as exc:
            self._lose(str(exc))
            return
        except Exception as exc:  # cut off from the state: the lease simply runs out
            log.warning("could not renew the lease (sending stops before it runs out): %s", exc)
            return
        self._confirm(token, started)

    def renew_until(self, stop: threading.Event) -> None:
        """The renewer thread's body: renew every sixth of the time to live until `stop`."""
        while not stop.wait(self.renew_every):
            self.renew()

    def release(self) -> None:
        """Free the lease (stopping, or after `--once`), so a standby takes over at once."""
        token = self.token
        if token is None:
            return
        with self._lock:
            self.token = None
        try:
            with self.store() as store:
                store.release_lease(token)
        except CampaignctlError as exc:
            log.warning("could not free the lease (it expires on its own): %s", exc)
            return
        log.info("freed the lease")


class GuardedProvider:
    """A provider that hands nothing over once the lease may be lost: the message is
    answered "retry" (refunded, still due) without calling the provider."""

    def __init__(self, inner: Provider, safe: Callable[[], bool]) -> None:
        self.inner = inner
        self.name = inner.name
        self.safe = safe

    def send(self, message: OutgoingMessage) -> Outcome:
        if not self.safe():
            return Outcome(
                "retry", detail="this controller may have lost the lease; not handed over"
            )
        return self.inner.send(message)

    def lookup(self, message: OutgoingMessage) -> Outcome | None:
        return self.inner.lookup(message)
