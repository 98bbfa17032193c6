"""Twilio's webhook events, each recorded whole or not at all.

Twilio retries an event it got no answer for, so each is processed once per MessageSid
(a status callback once per MessageSid and status). The mark that an event was processed
and everything the event changes (an opt-out and the enrollments it ends, an opt-in, a
reply's ended sequences, the message kept as a reply with its forward row, a delivery
status) are one transaction: a full disk or a crash leaves either all of it or none, and
Twilio's retry of an event left with none of it is processed like the first delivery.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from campaignctl.core.keywords import InboundKind
from campaignctl.core.revocation import classify as classify_reply
from campaignctl.store.commands import delete_optout, insert_optout
from campaignctl.store.db import StoreBase, to_text
from campaignctl.store.dialect import Conn
from campaignctl.store.replies import IncomingReply, attributed, did_of, record_reply
from campaignctl.store.review import record_classified_reply
from campaignctl.store.sends import write_delivery
from campaignctl.store.writes import end_live

# a delivery status never goes back: a late "sent" must not overwrite "delivered"
DELIVERY_RANK = {"accepted": 0, "queued": 0, "sending": 1, "sent": 2}
FINAL_RANK = 3  # delivered, undelivered, failed, read...


@dataclass(frozen=True)
class InboundEvent:
    """An incoming SMS, classified (core.keywords): who sent it, to which of our numbers,
    its text and what it means."""

    message_sid: str
    phone: str
    kind: InboundKind
    keyword: str | None = None  # the opt-out keyword it amounts to, for the opt-out's note
    body: str = ""  # the message as written
    sender: str | None = None  # our number it was sent to (To)


@dataclass(frozen=True)
class InboundRecorded:
    """What recording an incoming SMS did."""

    duplicate: bool  # already processed: nothing done
    changed: bool = False  # an opt-out added or lifted
    ended: tuple[str, ...] = ()  # campaigns whose enrollment of the number ended
    reply_id: int | None = None  # the reply kept


@dataclass(frozen=True)
class StatusEvent:
    """A delivery status callback; attempt_id from our callback URL, when it carried one."""

    message_sid: str
    status: str
    error_code: int | None = None
    attempt_id: int | None = None


StatusOutcome = Literal["recorded", "duplicate", "late", "unknown"]


@dataclass(frozen=True)
class StatusRecorded:
    """What recording a status callback did: recorded, or ignored (already recorded, later
    than a status it cannot go back from, or about a message this state never sent)."""

    outcome: StatusOutcome
    attempt_id: int | None = None
    previous: str | None = None  # the delivery status before this callback
    ended: tuple[str, ...] = ()


class WebhookRecorder(Protocol):
    """What the webhook application needs of the state: one call per event, each one
    transaction, and closing."""

    def record_inbound(self, event: InboundEvent, now: datetime) -> InboundRecorded: ...

    def record_status(self, event: StatusEvent, now: datetime) -> StatusRecorded: ...

    def close(self) -> None: ...


def delivery_rank(status: str | None) -> int:
    """How far a delivery status has come (none < queued < sending < sent < final)."""
    if status is None:
        return -1
    return DELIVERY_RANK.get(status, FINAL_RANK)


class InboundMixin(StoreBase):
    """The store's side of the webhooks (see WebhookRecorder)."""

    def record_inbound(self, event: InboundEvent, now: datetime) -> InboundRecorded:
        """An incoming SMS: an opt-out ends every live enrollment of the number, an opt-in
        lifts its opt-out, a reply ends its sequences where stopOnReply, a HELP changes
        nothing; each is kept as a reply (with what it did, and its pending forward); all
        of it with the mark that the MessageSid was processed."""
        with self._write(bump=False) as conn:
            if not _first_time(conn, event.message_sid, now):
                return InboundRecorded(duplicate=True)
            at = attributed(conn, event.phone)  # before the message changes it
            changed, ended = False, []
            did = did_of(event.kind, False)
            if event.kind == "opt_out":
                note = f"{event.keyword or 'STOP'} by SMS"
                changed = insert_optout(conn, event.phone, "sms", note, now)
                ended = end_live(conn, "phone = ?", [event.phone], "opted_out", now)
            elif event.kind == "opt_in":
                changed = delete_optout(conn, event.phone, "sms", "START by SMS", now)
            elif event.kind == "reply":  # revocation in other words, review, wrong number
                verdict = classify_reply(event.body)
                handled = record_classified_reply(conn, event.phone, event.body, verdict, now)
                changed, ended, did = handled.changed, list(handled.ended), handled.did
            if changed or ended:
                _bump_serial(conn)
            incoming = IncomingReply(
                event.message_sid, event.phone, event.sender, event.body, event.keyword
            )
            reply_id = record_reply(conn, incoming, at, did, now)
            return InboundRecorded(
                duplicate=False, changed=changed, ended=tuple(ended), reply_id=reply_id
            )

    def record_status(self, event: StatusEvent, now: datetime) -> StatusRecorded:
        """A delivery status callback, matched to its attempt by the attempt id in our URL
        (when the MessageSid agrees) or by the MessageSid; 30005/30006 end the enrollment."""
        with self._write(bump=False) as conn:
            found = _attempt_of(conn, event)
            if found is None:
                return StatusRecorded("unknown")
            attempt_id, previous = found
            if delivery_rank(event.status) < delivery_rank(previous):
                return StatusRecorded("late", attempt_id, previous)
            if not _first_time(conn, f"{event.message_sid}:{event.status}", now):
                return StatusRecorded("duplicate", attempt_id, previous)
            ended = write_delivery(conn, attempt_id, event.status, event.error_code, now)
            if ended:  # only an ended enrollment changes what a plan sees
                _bump_serial(conn)
            return StatusRecorded("recorded", attempt_id, previous, tuple(ended))


def _first_time(conn: Conn, key: str, now: datetime) -> bool:
    """Mark the event processed; False when it already was."""
    cursor = conn.execute(
        "INSERT INTO webhook_events (message_sid, at) VALUES (?, ?)"
        " ON CONFLICT (message_sid) DO NOTHING",
        [key, to_text(now)],
    )
    return cursor.rowcount == 1


def _attempt_of(conn: Conn, event: StatusEvent) -> tuple[int, str | None] | None:
    """(attempt id, delivery status) of the attempt a callback is about, or None."""
    if event.attempt_id is not None:
        row = conn.execute(
            "SELECT id, delivery_status, provider_id FROM attempts WHERE id = ?",
            [event.attempt_id],
        ).fetchone()
        # the URL and the message disagree: trust the MessageSid
        if row is not None and row[2] in (None, event.message_sid):
            return int(row[0]), row[1]
    row = conn.execute(
        "SELECT id, delivery_status FROM attempts WHERE provider_id = ? ORDER BY id DESC LIMIT 1",
        [event.message_sid],
    ).fetchone()
    return None if row is None else (int(row[0]), row[1])


def _bump_serial(conn: Conn) -> None:
    """A saved plan made before this change is refused."""
    conn.execute("UPDATE meta SET serial = serial + 1 WHERE id = 1")
