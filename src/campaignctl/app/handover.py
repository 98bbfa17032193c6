"""Handing messages to the provider concurrently: a bounded pool of calls per sender.

A provider answers each create after a round trip (Twilio: 100-300 ms from a US host), so
calls made one after another cap a sender at a few messages a second whatever its
`messagesPerSecond`. The executor keeps every store write on its own thread and in order
(the intent before the call, the outcome once it came back) and hands only the provider
calls to worker threads: at most `pool_size(sender)` of one sender's calls are in flight.

Pace and the daily limit are not decided here: the planner has already counted what a tick
may hand over, and this only changes how soon those messages reach the provider (which
queues them and drains them at the sender's rate, SPEC rule 6).

    flight = Flight()
    flight.submit(key, size, token, lambda: provider.send(message))   # one call on its way
    for token, answer in flight.landed(): ...                         # as they come back
"""

from __future__ import annotations

import math
import queue
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from campaignctl.core.actions import Send
from campaignctl.core.types import Sender
from campaignctl.providers.base import Outcome

ASSUMED_LATENCY = 0.3  # seconds: the slow end of Twilio's usual answer time from a US host
DERIVED_CAP = 50  # calls at once when derived from messagesPerSecond (a set value: up to 100)
# providers that answer inside this process at once: nothing to overlap, calls stay inline
LOCAL_PROVIDERS = frozenset({"outbox"})

T = TypeVar("T")
Answer = Outcome | BaseException | None  # an outcome, what the call raised, or None: not made
# the answer to a call that was not made because sending stopped while it waited its turn
NOT_HANDED_OVER = Outcome("retry", detail="sending stopped before it was handed over")


@dataclass(frozen=True)
class Call:
    """A message whose intent is recorded, on its way to the provider."""

    index: int  # its place among the sends carried out together
    action: Send
    attempt_id: int
    sender: Sender
    created_at: datetime  # when the intent was recorded


def pool_size(sender: Sender, provider: str) -> int:
    """How many of this sender's calls may be in flight at once: the campaign's
    `sender.concurrency`, else enough to hand over `messagesPerSecond` when each call takes
    ASSUMED_LATENCY (1 up to 3 a second, 30 for 100 a second), at most DERIVED_CAP. A local
    provider gets 1: its calls are made inline, one after another, as they always were."""
    if provider in LOCAL_PROVIDERS:
        return 1
    if sender.concurrency is not None:
        return max(1, sender.concurrency)
    wanted = math.ceil(sender.messages_per_second * ASSUMED_LATENCY - 1e-9)
    return max(1, min(DERIVED_CAP, wanted))


def gathered(size: int) -> int:
    """The room a full pool of `size` waits for before its next round of calls: a quarter
    of it. Its calls in flight then stay between three quarters of it and all of it, and a
    round records the outcomes and intents of several calls in one transaction."""
    return max(1, size // 4)


class Flight(Generic[T]):
    """The calls in flight, a thread pool per sender, each bounded by its size. Every call
    submitted comes back exactly once through `landed()` or `drain()`, with its token."""

    def __init__(self) -> None:
        self._pools: dict[str, ThreadPoolExecutor] = {}
        self._flying: Counter[str] = Counter()
        self._back: queue.SimpleQueue[tuple[str, T, Answer]] = queue.SimpleQueue()

    @property
    def in_flight(self) -> int:
        return sum(self._flying.values())

    def flying(self, key: str) -> int:
        """The sender's calls in flight."""
        return self._flying[key]

    def submit(self, key: str, size: int, token: T, call: Callable[[], Outcome | None]) -> None:
        """Start `call` on a worker of the sender's pool; the caller has made sure the
        sender has room (`flying` under `size`), so it starts at once."""
        pool = self._pools.get(key)
        if pool is None:
            pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix=f"send-{key}")
            self._pools[key] = pool
        self._flying[key] += 1

        def run() -> None:
            answer: Answer
            try:
                answer = call()
            except BaseException as exc:  # handed back: the executor's thread decides
                answer = exc
            self._back.put((key, token, answer))

        pool.submit(run)

    def landed(self) -> Iterator[tuple[T, Answer]]:
        """The next call to come back (waiting for it), then any others already back."""
        if not self.in_flight:
            return
        yield self._take(block=True)
        while self.in_flight:
            try:
                yield self._take(block=False)
            except queue.Empty:
                return

    def drain(self) -> Iterator[tuple[T, Answer]]:
        """Every call still in flight, as each comes back."""
        while self.in_flight:
            yield self._take(block=True)

    def close(self) -> None:
        """Wait for the workers to end (a call in flight finishes first)."""
        for pool in self._pools.values():
            pool.shutdown(wait=True)
        self._pools.clear()

    def _take(self, *, block: bool) -> tuple[T, Answer]:
        key, token, answer = self._back.get(block=block)
        self._flying[key] -= 1
        return token, answer
