"""The emulator's messages: what was created, in Twilio's JSON shape, with list filters."""

from __future__ import annotations

import math
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

API_VERSION = "2010-04-01"
E164 = re.compile(r"^\+[1-9]\d{7,14}$")
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = set("^{}\\[~]|€\f")

ERROR_MESSAGES = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    21211: "The 'To' number is not a valid phone number.",
    21408: "Permission to send an SMS has not been enabled for the region indicated by the 'To' number.",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21611: "This 'From' number has exceeded the maximum number of queued messages",
    21614: "'To' number is not a valid mobile number",
    21617: "The concatenated message body exceeds the 1600 character limit.",
}


def error_body(code: int, status: int, message: str | None = None) -> dict[str, Any]:
    return {
        "code": code,
        "message": message or ERROR_MESSAGES.get(code, "Error"),
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def count_segments(body: str) -> int:
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in body):
        units = len(body) + sum(1 for c in body if c in GSM7_EXTENSION)
        return 1 if units <= 160 else math.ceil(units / 153)
    units = len(body.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)


def validate_create(form: dict[str, str]) -> int | None:
    """The Twilio error code a create with these parameters gets, if any."""
    to = form.get("To")
    if not to:
        return 21604
    if not E164.match(to):
        return 21211
    if not form.get("From") and not form.get("MessagingServiceSid"):
        return 21603
    body = form.get("Body")
    if not body:
        return 21602
    if len(body) > 1600:
        return 21617
    return None


@dataclass
class EmulatedMessage:
    sid: str
    account_sid: str
    to: str
    from_: str | None
    messaging_service_sid: str | None
    body: str
    status: str
    date_created: datetime
    date_updated: datetime
    status_callback: str | None
    validity_period: int | None
    date_sent: datetime | None = None
    error_code: int | None = None

    def to_json(self) -> dict[str, Any]:
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{self.sid}"
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": self.body,
            "date_created": format_datetime(self.date_created, usegmt=True),
            "date_sent": format_datetime(self.date_sent, usegmt=True) if self.date_sent else None,
            "date_updated": format_datetime(self.date_updated, usegmt=True),
            "direction": "outbound-api",
            "error_code": self.error_code,
            "error_message": ERROR_MESSAGES.get(self.error_code) if self.error_code else None,
            "from": self.from_,
            "messaging_service_sid": self.messaging_service_sid,
            "num_media": "0",
            "num_segments": str(count_segments(self.body)),
            "price": None,
            "price_unit": "USD",
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": {"media": f"{uri}/Media.json", "feedback": f"{uri}/Feedback.json"},
            "to": self.to,
            "uri": f"{uri}.json",
        }


@dataclass(frozen=True)
class MessageFilter:
    to: str | None = None
    from_: str | None = None
    sent_after: datetime | None = None  # DateSent>: on or after
    sent_before: datetime | None = None  # DateSent<: on or before
    sent_on: datetime | None = None  # DateSent: that UTC day

    def accepts(self, message: EmulatedMessage) -> bool:
        if self.to is not None and message.to != self.to:
            return False
        if self.from_ is not None and message.from_ != self.from_:
            return False
        if self.sent_after or self.sent_before or self.sent_on:
            sent = message.date_sent
            if sent is None:  # queued: not sent yet, so not matched by a DateSent filter
                return False
            if self.sent_after and sent < self.sent_after:
                return False
            if self.sent_before and sent > self.sent_before:
                return False
            if self.sent_on and sent.date() != self.sent_on.date():
                return False
        return True


class MessageBook:
    """Every message the emulator holds, newest last; safe to use from many threads."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._messages: dict[str, EmulatedMessage] = {}

    def create(self, account_sid: str, form: dict[str, str]) -> EmulatedMessage:
        now = self._clock()
        service = form.get("MessagingServiceSid") or None
        validity = form.get("ValidityPeriod")
        message = EmulatedMessage(
            sid="SM" + secrets.token_hex(16),
            account_sid=account_sid,
            to=form["To"],
            from_=form.get("From") or None,
            messaging_service_sid=service,
            body=form["Body"],
            status="accepted" if service and not form.get("From") else "queued",
            date_created=now,
            date_updated=now,
            status_callback=form.get("StatusCallback") or None,
            validity_period=int(validity) if validity and validity.isdigit() else None,
        )
        with self._lock:
            self._messages[message.sid] = message
        return message

    def get(self, sid: str) -> EmulatedMessage | None:
        with self._lock:
            return self._messages.get(sid)

    def advance(self, sid: str, status: str, error_code: int | None = None) -> EmulatedMessage:
        """Move a message to a new status (sent, delivered, undelivered, failed)."""
        now = self._clock()
        with self._lock:
            message = self._messages[sid]
            message.status = status
            message.date_updated = now
            message.error_code = error_code
            if status == "sent" and message.date_sent is None:
                message.date_sent = now
            return message

    def query(self, account_sid: str, where: MessageFilter) -> list[EmulatedMessage]:
        """Matching messages, newest first (as Twilio lists them)."""
        with self._lock:
            found = [
                m
                for m in self._messages.values()
                if m.account_sid == account_sid and where.accepts(m)
            ]
        return sorted(found, key=lambda m: m.date_created, reverse=True)

    def all(self) -> list[EmulatedMessage]:
        with self._lock:
            return list(self._messages.values())

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()


def parse_date_filter(value: str) -> datetime:
    """A DateSent filter value: YYYY-MM-DD or an ISO 8601 time (UTC unless said otherwise)."""
    at = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
