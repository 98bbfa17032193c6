"""The `outbox` provider: records each message in the state instead of sending it, so the
whole system runs with no account and no network (`campaignctl outbox` lists them)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from campaignctl.clock import Clock
from campaignctl.providers.base import Outcome, OutgoingMessage


class OutboxRow(Protocol):
    @property
    def id(self) -> str: ...


class OutboxTable(Protocol):
    """Where the outbox keeps its messages: the state's `outbox` table."""

    def outbox_add(self, message: OutgoingMessage, now: datetime) -> str: ...

    def outbox_find(self, attempt_id: int) -> OutboxRow | None: ...


class OutboxProvider:
    """A Provider whose every send succeeds into the `outbox` table.

    Sending the same attempt twice records it once and returns the same id, like a
    provider that deduplicates. The recorded time is the clock's (the `--now` time), or
    the attempt's creation time without a clock.
    """

    name = "outbox"

    def __init__(self, store: OutboxTable, clock: Clock | None = None) -> None:
        self._store = store
        self._clock = clock

    def send(self, message: OutgoingMessage) -> Outcome:
        at = self._clock.now() if self._clock is not None else message.created_at
        outbox_id = self._store.outbox_add(message, at)
        return Outcome(status="sent", provider_id=outbox_id)

    def lookup(self, message: OutgoingMessage) -> Outcome | None:
        """The outbox knows for certain: sent when its row exists, else never sent."""
        record = self._store.outbox_find(message.attempt_id)
        if record is None:
            return None
        return Outcome(status="sent", provider_id=record.id)
