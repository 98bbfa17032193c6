"""The one small interface every message provider implements (outbox, twilio)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

OutcomeStatus = Literal[
    "sent",  # accepted by the provider (queued/sent/delivered): the step counts as sent
    "opted_out",  # the provider says the recipient opted out (Twilio 21610): opt out, never retry
    "rejected",  # permanent for this number (21211, 21614, 21408): end the enrollment
    "failed",  # permanent for this message, number still fine: refund, end with provider_rejected
    "retry",  # never processed (429, 20429, connection refused before sending): safe to retry
    "unknown",  # may or may not exist (5xx, timeout, crash): resolve with lookup, never resend blindly
    "auth_failed",  # credentials refused (20003): stop all sending
]


@dataclass(frozen=True)
class OutgoingMessage:
    attempt_id: int  # unique per (enrollment, step); tags the status callback URL
    campaign: str
    step: int
    to: str  # E.164
    from_number: str | None
    messaging_service_sid: str | None
    body: str
    created_at: datetime  # when the intent was recorded (UTC)
    validity_seconds: int | None = None  # time left in the recipient's window


@dataclass(frozen=True)
class Outcome:
    status: OutcomeStatus
    provider_id: str | None = None  # Twilio MessageSid, outbox id
    error_code: int | None = None
    detail: str | None = None  # one line for logs; never contains credentials
    segments: int | None = None  # as billed by the provider, when it says


class Provider(Protocol):
    name: str

    def send(self, message: OutgoingMessage) -> Outcome:
        """Hand one message to the provider. Never raises for provider answers: maps them."""
        ...

    def lookup(self, message: OutgoingMessage) -> Outcome | None:
        """Resolve an attempt whose outcome is unknown.

        Returns an Outcome with status "sent" when the provider has the message, None when it
        certainly has not (it is then safe to send again), or status "unknown" when it cannot
        tell (then the attempt stays maybe-sent and is never resent blindly).
        """
        ...
