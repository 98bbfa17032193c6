"""Forwarding the replies to `replies.forwardUrl`: each one POSTed as signed JSON until the
receiver answers 2xx.

Every reply has a forward row, written with it by the webhook (store/replies.py). While it
leads and a URL is set, the controller's forwarder thread takes the due rows, oldest first,
POSTs each one, and records the outcome in its row: accepted (2xx), or failed with its
error and the time of its next attempt (exponential backoff with jitter, from 2 s up to an
hour; a failure also holds the whole forwarder back until then, so a receiver that is down
gets one request per backoff, not one per reply). Nothing is given up: a reply is retried
until accepted. A slow receiver never delays sending: the forwarder has its own thread and
every request its timeout.

The body is the same bytes at every attempt, so is its signature:
`X-Campaignctl-Signature: sha256=<hex HMAC-SHA256 of the body, keyed by
CAMPAIGNCTL_FORWARD_SECRET>`. `Idempotency-Key` is the provider's id of the incoming message.
A crash after the receiver's 2xx and before the row records it sends that reply again after
the restart, with the same key and body: delivery is at least once, and a receiver that
drops a key it has seen sees each reply exactly once. Without the secret nothing is
forwarded (one log line says why); the replies wait in their rows.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import random
import socket
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from urllib.parse import urlsplit

from campaignctl import __version__
from campaignctl.core.instants import format_instant
from campaignctl.store.replies import Reply

log = logging.getLogger("campaignctl.controller")

SECRET_VARIABLE = "CAMPAIGNCTL_FORWARD_SECRET"
SIGNATURE_HEADER = "X-Campaignctl-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
FORMAT_VERSION = 1
FIRST_BACKOFF_SECONDS = 2.0
MAX_BACKOFF_SECONDS = 3600.0
TIMEOUT_SECONDS = 10.0  # to connect, and for each read of the answer
POLL_SECONDS = 1.0  # how soon a new reply is forwarded
BATCH = 50
ONCE_BUDGET_SECONDS = 30.0  # `reconcile --once`: how long forwarding may add to its tick


class ForwardStore(Protocol):
    """What the forwarder needs of the state."""

    def forwards_due(self, now: datetime, limit: int) -> list[Reply]: ...

    def forward_accepted(self, reply_id: int, url: str, now: datetime) -> bool: ...

    def forward_failed(
        self, reply_id: int, error: str, next_attempt_at: datetime, now: datetime
    ) -> None: ...


Borrow = Callable[[], AbstractContextManager[ForwardStore]]
"""Lends the state for a moment (the controller's one store of it, or one of its own)."""


def payload(reply: Reply) -> bytes:
    """The JSON body of a reply's forward: the same bytes at every attempt."""
    document = {
        "format_version": FORMAT_VERSION,
        "id": reply.id,
        "message_sid": reply.message_sid,
        "received_at": format_instant(reply.received_at),
        "from": reply.phone,
        "to": reply.sender,
        "text": reply.body,
        "campaign": reply.campaign,
        "step": reply.step,
        "did": reply.did,
        "keyword": reply.keyword,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signature(secret: str, body: bytes) -> str:
    """The value of X-Campaignctl-Signature for a body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def backoff_seconds(attempts: int, jitter: float) -> float:
    """The wait after the `attempts`-th failed attempt (1, 2...): doubling from 2 s, at
    most an hour, times a random factor in [0.5, 1) so that retries spread out."""
    base = min(MAX_BACKOFF_SECONDS, FIRST_BACKOFF_SECONDS * 2.0 ** min(attempts - 1, 20))
    return base * (0.5 + jitter / 2)


@dataclass(frozen=True)
class Answer:
    """How a POST went: accepted (2xx) or not, and what to record."""

    accepted: bool
    detail: str


def post_json(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> Answer:
    """POST the body; redirects are not followed (a 3xx is a failure that names where to)."""
    parts = urlsplit(url)
    factory = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    conn = factory(parts.hostname or "", parts.port, timeout=timeout)
    try:
        conn.request("POST", target, body=body, headers=dict(headers))
        response = conn.getresponse()
        response.read(64 * 1024)
    except TimeoutError:
        return Answer(False, f"no answer within {timeout:g}s")
    except (OSError, http.client.HTTPException) as exc:
        return Answer(False, _describe(exc))
    finally:
        conn.close()
    status = f"HTTP {response.status} {response.reason}".rstrip()
    if 200 <= response.status < 300:
        return Answer(True, status)
    where = response.getheader("Location")
    return Answer(False, status + (f" (to {where})" if where else ""))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return f"unknown host ({exc.strerror})"
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


Post = Callable[[str, bytes, Mapping[str, str], float], Answer]


class Forwarder:
    """Forwards the due replies while `url` and the secret are set and `leading()`; the
    tick sets `url` from the settings (`configure`)."""

    def __init__(
        self,
        borrow: Borrow,
        secret: str | None,
        leading: Callable[[], bool],
        *,
        wall: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
        post: Post = post_json,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self.borrow = borrow
        self.secret = secret or None
        self.leading = leading
        self.wall = wall
        self.jitter = jitter
        self.post = post
        self.timeout = timeout
        self.url: str | None = None
        self.held_until = 0.0  # wall time: after a failure, nothing is tried before it
        self.forwarded = 0
        self.failed = 0

    def configure(self, url: str | None) -> None:
        """The URL of the settings as a tick read them; a change is logged once."""
        if url == self.url:
            return
        self.url, self.held_until = url, 0.0
        if url is None:
            log.info("replies.forwardUrl is not set: replies are kept, not forwarded")
        elif self.secret is None:
            log.error(
                "replies.forwardUrl is set but %s is not: replies are kept, not forwarded, "
                "until the controller runs with it",
                SECRET_VARIABLE,
            )
        else:
            log.info("forwarding replies to %s", url)

    @property
    def active(self) -> bool:
        return self.url is not None and self.secret is not None

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.wall(), UTC)

    def round(self, limit: int = BATCH) -> int | None:
        """Forward the replies due now, oldest first, up to `limit`: how many the receiver
        accepted; None when it refused one (the rest wait for the backoff to end)."""
        url, secret = self.url, self.secret
        if url is None or secret is None or not self.leading() or self.wall() < self.held_until:
            return 0
        with self.borrow() as store:
            due = store.forwards_due(self._now(), limit)
        accepted = 0
        for reply in due:
            if not self.leading():
                break  # another controller leads now: it forwards the rest
            if not self._forward(reply, url, secret):
                return None
            accepted += 1
        return accepted

    def _forward(self, reply: Reply, url: str, secret: str) -> bool:
        body = payload(reply)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": f"campaignctl/{__version__}",
            SIGNATURE_HEADER: signature(secret, body),
            IDEMPOTENCY_HEADER: reply.message_sid,
        }
        answer = self.post(url, body, headers, self.timeout)
        attempt = reply.forward_attempts + 1
        now = self._now()
        if answer.accepted:
            with self.borrow() as store:
                store.forward_accepted(reply.id, url, now)
            self.forwarded += 1
            log.info("reply %d from %s forwarded (attempt %d)", reply.id, reply.phone, attempt)
            return True
        wait = backoff_seconds(attempt, self.jitter())
        retry_at = now + timedelta(seconds=wait)
        with self.borrow() as store:
            store.forward_failed(reply.id, answer.detail, retry_at, now)
        self.failed += 1
        self.held_until = self.wall() + wait
        log.warning(
            "reply %d: forward to %s failed (%s); next attempt in %.1fs (attempt %d)",
            reply.id,
            url,
            answer.detail,
            wait,
            attempt,
        )
        return False

    def drain(self, budget: float = ONCE_BUDGET_SECONDS) -> None:
        """Forward what is due now until nothing is, a failure, or `budget` seconds
        (`reconcile --once`); what is left waits for the next run."""
        deadline = time.monotonic() + budget
        while self.active and time.monotonic() < deadline:
            done = self._guarded_round()
            if not done:
                return

    def _guarded_round(self) -> int | None:
        try:
            return self.round()
        except Exception as exc:  # the state out of reach: the rows wait, the loop goes on
            log.error("forwarding replies failed (they wait in the state): %s", exc)
            self.held_until = self.wall() + FIRST_BACKOFF_SECONDS
            return None

    def run(self, stop: threading.Event) -> None:
        """The forwarder thread's body: a round as soon as the last one did something,
        else every POLL_SECONDS, until `stop`."""
        while not stop.is_set():
            done = self._guarded_round() if self.active else 0
            if not done and stop.wait(POLL_SECONDS):
                return
