"""The rows the store hands out to commands, webhooks and the applier (frozen values)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from campaignctl.core.types import CampaignStatus
from campaignctl.providers.base import Outcome, OutgoingMessage

AttemptStatus = Literal["pending", "unknown", "sent", "retry", "failed"]
EnrollmentStatus = Literal["live", "done", "ended"]
OptOutSource = Literal["sms", "manual", "provider"]
OPTOUT_SOURCES: tuple[OptOutSource, ...] = ("sms", "manual", "provider")


def is_messaging_service(sender_key: str) -> bool:
    """A sender key is an E.164 number (+...) or a Messaging Service SID (MG...)."""
    return sender_key.startswith("MG")


@dataclass(frozen=True)
class AttemptRecord:
    """One send attempt: written as an intent before the provider call, then its outcome."""

    id: int
    campaign: str
    phone: str
    step: int
    body: str
    segments: int
    credits: int
    sender_key: str
    provider: str
    status: AttemptStatus
    provider_id: str | None
    error_code: int | None
    detail: str | None
    delivery_status: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def from_number(self) -> str | None:
        return None if is_messaging_service(self.sender_key) else self.sender_key

    @property
    def messaging_service_sid(self) -> str | None:
        return self.sender_key if is_messaging_service(self.sender_key) else None

    def message(self, validity_seconds: int | None = None) -> OutgoingMessage:
        """The message this attempt handed (or was about to hand) to the provider."""
        return OutgoingMessage(
            attempt_id=self.id,
            campaign=self.campaign,
            step=self.step,
            to=self.phone,
            from_number=self.from_number,
            messaging_service_sid=self.messaging_service_sid,
            body=self.body,
            created_at=self.created_at,
            validity_seconds=validity_seconds,
        )


@dataclass(frozen=True)
class Intent:
    """A message about to be handed to the provider: its attempt is recorded (pending) and
    its credits debited before the call (`record_sends`)."""

    campaign: str
    phone: str
    step: int
    body: str
    segments: int
    credits: int
    sender_key: str
    provider: str
    now: datetime


@dataclass(frozen=True)
class Landed:
    """What the provider said about a recorded attempt (`record_sends`): the step's
    next wait in days when it was sent (None: the last step)."""

    attempt_id: int
    outcome: Outcome
    now: datetime
    next_wait_days: int | None


@dataclass(frozen=True)
class LedgerEntry:
    id: int
    at: datetime
    amount: int  # + top-up or refund, - debit
    balance_after: int
    note: str | None
    attempt_id: int | None


@dataclass(frozen=True)
class OptOutRecord:
    phone: str
    at: datetime
    source: OptOutSource
    note: str | None


@dataclass(frozen=True)
class OutboxRecord:
    id: str  # "OB..."
    attempt_id: int
    at: datetime
    campaign: str
    to: str
    sender: str | None
    step: int
    body: str


@dataclass(frozen=True)
class CampaignStatusRow:
    """One line of `status`: the observed campaign and its counters."""

    name: str
    status: CampaignStatus
    reason: str | None
    template: str | None  # from the launch record (None while draft)
    prospect_group: str | None
    live: int
    done: int
    ended: Mapping[str, int] = field(default_factory=dict)  # end reason -> count
    sent: int = 0  # steps recorded sent
    in_flight: int = 0  # attempts pending or unknown
    credits: int = 0  # credits spent: debits of sent and in-flight attempts
    replies: int = 0  # replies attributed to it
    launched_at: datetime | None = None
    updated_at: datetime | None = None
    config_error: str | None = None  # the error holding it (file:line: message), if one does

    @property
    def enrolled(self) -> int:
        return self.live + self.done + sum(self.ended.values())


@dataclass(frozen=True)
class EnrollmentRecord:
    campaign: str
    phone: str
    status: EnrollmentStatus
    end_reason: str | None
    steps_sent: int
    last_sent_at: datetime | None
    next_due_at: datetime | None  # None once done or ended
    enrolled_at: datetime
    ended_at: datetime | None
    source: str | None = None  # where the contact came from, e.g. "contacts.csv:12:1"


HistoryKind = Literal[
    "enrolled", "decision", "attempt", "done", "ended", "optout", "optin", "reply"
]


@dataclass(frozen=True)
class HistoryEvent:
    """One line of `explain`: something decided or done about a number."""

    at: datetime
    kind: HistoryKind
    campaign: str | None
    what: str  # the decision type, the attempt status, the opt-out source, what a reply did
    step: int | None = None
    reason: str | None = None
    until: datetime | None = None
    detail: str | None = None  # "enrolled": where the contact came from; "reply": its text
    last_at: datetime | None = None  # a repeated decision: the last time it was made
    repeats: int = 1
