"""Shared helpers for the delivery tests: messages, a state with enrollments, signed posts,
and a webhook server (waitress) on an ephemeral port."""

from __future__ import annotations

import secrets
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import waitress.server
import waitress.wasyncore
from twilio.request_validator import RequestValidator

from campaignctl.clock import FrozenClock, SystemClock
from campaignctl.core.types import Contact, LaunchRecord, QuietHours, Sender, Step
from campaignctl.errors import Location
from campaignctl.providers.base import OutgoingMessage
from campaignctl.store import Store
from campaignctl.webhooks.app import WebhookApp

ACCOUNT_SID = "AC" + "ab" * 16
# a token unique to this test run, so a search for it in outputs cannot hit anything else
AUTH_TOKEN = "tok" + secrets.token_hex(16)
SENDER = "+15125550100"


def new_message(
    to: str = "+14155550100",
    *,
    attempt_id: int = 1,
    body: str | None = None,
    created_at: datetime | None = None,
    validity_seconds: int | None = None,
    from_number: str | None = SENDER,
    messaging_service_sid: str | None = None,
) -> OutgoingMessage:
    return OutgoingMessage(
        attempt_id=attempt_id,
        campaign="spring",
        step=1,
        to=to,
        from_number=from_number,
        messaging_service_sid=messaging_service_sid,
        body=body or f"Hi Ana, new listings in Austin ({uuid.uuid4().hex[:8]})",
        created_at=created_at or datetime.now(UTC),
        validity_seconds=validity_seconds,
    )


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def launch(stop_on_reply: bool) -> LaunchRecord:
    return LaunchRecord(
        template="buyers",
        prospect_group="group",
        steps=(Step("Hi {{ first_name }}"), Step("Again", wait_days=30)),
        sender=Sender(from_number=SENDER),
        quiet_hours=QuietHours(),
        stop_on_reply=stop_on_reply,
    )


def enroll(store: Store, campaign: str, phones: list[str], *, stop_on_reply: bool = True) -> None:
    now = datetime.now(UTC)
    store.set_campaign_status(campaign, "active", None, now, launch=launch(stop_on_reply))
    contacts = [
        Contact(phone, {"first_name": "Ana"}, ("America/Chicago",), "TX", Location("g.csv", 2))
        for phone in phones
    ]
    store.enroll_many(campaign, contacts, now)


def record_attempt(store: Store, campaign: str, phone: str, body: str = "Hi Ana") -> int:
    if store.balance() < 10:
        store.add_credits(100, "test", datetime.now(UTC))
    return store.record_intent(
        campaign=campaign,
        phone=phone,
        step=1,
        body=body,
        segments=1,
        credits=1,
        sender_key=SENDER,
        provider="twilio",
        now=datetime.now(UTC),
    )


def live_campaigns(store: Store, phone: str) -> dict[str, str | None]:
    """campaign -> end reason (None while live) of the number's enrollments."""
    return {e.campaign: e.end_reason for e in store.enrollments_of(phone)}


def post_signed(
    url: str,
    params: dict[str, str],
    *,
    token: str = AUTH_TOKEN,
    signed_url: str | None = None,
    signature: str | None = None,
) -> tuple[int, str, str]:
    """POST a form like Twilio does; returns (status, content type, body)."""
    if signature is None:
        signature = RequestValidator(token).compute_signature(signed_url or url, params)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signature:
        headers["X-Twilio-Signature"] = signature
    request = urllib.request.Request(
        url, data=urllib.parse.urlencode(params).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


def inbound(phone: str, body: str, sid: str | None = None, **extra: str) -> dict[str, str]:
    params = {
        "AccountSid": ACCOUNT_SID,
        "Body": body,
        "From": phone,
        "To": SENDER,
        "MessageSid": sid or "SM" + secrets.token_hex(16),
        "NumMedia": "0",
    }
    params.update(extra)
    return params


@contextmanager
def webhook_server(
    state: Path, *, public_url: str | None = None, now: datetime | None = None
) -> Iterator[str]:
    """Serve the webhook app with waitress on 127.0.0.1; yields its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    base = f"http://127.0.0.1:{port}"
    clock = FrozenClock(now) if now else SystemClock()
    app = WebhookApp(state, AUTH_TOKEN, public_url or base, clock)
    server = waitress.server.create_server(app, host="127.0.0.1", port=port, threads=2)
    stopping = threading.Event()

    def run() -> None:  # waitress's own loop, a step at a time, closed by this thread
        while not stopping.is_set():
            waitress.wasyncore.loop(timeout=0.05, map=server._map, count=1)
        server.task_dispatcher.shutdown()
        waitress.wasyncore.close_all(server._map)  # the listener and any open connection

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield base
    finally:
        stopping.set()
        thread.join(5)
        app.close()
