"""A real HTTP receiver on 127.0.0.1 for the forwarded replies, with a script: answer the
first requests with failures, hold one request open (the moment a test kills the
controller), accept the rest. Every request that reached it is kept, with its headers."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HOLD_SECONDS = 60.0  # a held request is answered after this at the latest


@dataclass(frozen=True)
class Received:
    """One POST as the receiver got it."""

    key: str  # Idempotency-Key
    signature: str
    body: bytes
    answered: int  # the status it was answered with (0: held, never answered in time)

    @property
    def document(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.body)
        return value


def verify(secret: str, body: bytes, header: str) -> bool:
    """How a receiver checks X-Campaignctl-Signature (the README's snippet)."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


@dataclass
class Receiver:
    """failures: statuses to answer the first requests with, in order; hold_at: the
    number (1, 2...) of the request to hold open until `release` is set."""

    failures: list[int] = field(default_factory=list)
    hold_at: int | None = None
    received: list[Received] = field(default_factory=list)
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    arrived: threading.Condition = field(default_factory=threading.Condition)
    url: str = ""

    def keys(self) -> Counter[str]:
        with self.arrived:
            return Counter(r.key for r in self.received)

    def accepted(self) -> set[str]:
        with self.arrived:
            return {r.key for r in self.received if 200 <= r.answered < 300}

    def wait_for(self, keys: set[str], timeout: float = 60.0) -> bool:
        """Wait until every key was accepted once; False when the time ran out."""
        with self.arrived:
            return self.arrived.wait_for(
                lambda: keys <= {r.key for r in self.received if 200 <= r.answered < 300},
                timeout,
            )

    def _answer(self, key: str, signature: str, body: bytes) -> int:
        with self.arrived:
            number = len(self.received) + 1
            status = self.failures.pop(0) if self.failures else 200
            hold = number == self.hold_at
            if hold:
                self.received.append(Received(key, signature, body, 0))
        if hold:
            self.held.set()
            self.release.wait(HOLD_SECONDS)
            return 200
        with self.arrived:
            self.received.append(Received(key, signature, body, status))
            self.arrived.notify_all()
        return status


@contextmanager
def receiving(receiver: Receiver) -> Iterator[Receiver]:
    """Serve the receiver on an ephemeral port of 127.0.0.1 while inside."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            status = receiver._answer(
                self.headers.get("Idempotency-Key", ""),
                self.headers.get("X-Campaignctl-Signature", ""),
                body,
            )
            try:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:  # a held request's client was killed meanwhile
                pass

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/replies"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.shutdown()
        server.server_close()
        thread.join(10)
