"""A local Twilio-compatible HTTP server: enough of the Messages API for the real SDK, plus a
control API (/_emulator/...) to script faults, read what was sent and simulate inbound SMS.

    with TwilioEmulator() as emulator:             # 127.0.0.1, an ephemeral port
        client.api.base_url = emulator.url
        emulator.add_fault(Fault(op="create", status=500, after_create=True))

`latency` makes every create answer that many seconds after the message is created, as
Twilio does after a round trip (100-300 ms from a US host); requests are served each on its
own thread, so creates made at once overlap as they do at Twilio.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from http.server import ThreadingHTTPServer
from typing import Any

from campaignctl.emulator.api import EmulatorHandler
from campaignctl.emulator.clock import EmulatorClock
from campaignctl.emulator.delivery import Deliverer
from campaignctl.emulator.faults import Fault, FaultBook
from campaignctl.emulator.messages import MessageBook

log = logging.getLogger("campaignctl.emulator")

DEFAULT_ACCOUNT_SID = "AC" + "0" * 31 + "1"
DEFAULT_AUTH_TOKEN = "emulator-auth-token"


class _Server(ThreadingHTTPServer):
    """A thread per request, and a listen backlog wide enough for a sender's whole pool of
    concurrent calls (the default of 5 would leave connections waiting for a SYN retry)."""

    daemon_threads = True
    request_queue_size = 128


class TwilioEmulator:
    """The emulator's state and lifecycle; `start()` serves it on a background thread."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        callback_url: str | None = None,
        delivery_delay: float = 0.05,
        now: datetime | None = None,
        clock_offset: timedelta = timedelta(0),
        latency: float = 0.0,
    ) -> None:
        if latency < 0:
            raise ValueError("latency must be 0 or more")
        self.account_sid = account_sid
        self._auth_token = auth_token
        self.callback_url = callback_url
        # `now` starts the clock at a time; `clock_offset` moves it on from there (or from
        # the host's time): a Twilio whose clock runs behind or ahead of the sender's
        self.clock = EmulatorClock(clock_offset, now)
        self.faults = FaultBook()
        self.book = MessageBook(self.now)
        self.deliverer = Deliverer(
            self.book,
            self.faults,
            (account_sid, auth_token),
            delay=delivery_delay,
            default_callback=lambda: self.callback_url,
        )
        self.latency = latency  # seconds each create takes to answer
        self._server = _Server((host, port), EmulatorHandler)
        self._server.emulator = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None
        self._requests_lock = threading.Lock()
        self._requests: list[dict[str, str | None]] = []
        self._creating = 0  # creates being answered now
        self.peak_creates = 0  # the most creates answered at once so far

    # ------------------------------------------------------------------ lifecycle

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> TwilioEmulator:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve on the calling thread (see `start()` for a background thread)."""
        self._server.serve_forever()

    def stop(self) -> None:
        """Stop a server started with `start()`."""
        self._server.shutdown()
        if self._thread is not None:
            self._thread.join(5)
        self.close()

    def close(self) -> None:
        self._server.server_close()
        self.deliverer.wait_idle(2)

    def __enter__(self) -> TwilioEmulator:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ scripting

    def now(self) -> datetime:
        return self.clock.now()

    def set_now(self, at: datetime) -> None:
        """Make the emulator's clock read `at` now (and run on from there)."""
        self.clock.set_now(at)

    def add_fault(self, *faults: Fault) -> None:
        self.faults.add(*faults)

    def messages(self) -> list[dict[str, Any]]:
        return [m.to_json() for m in self.book.all()]

    def record_request(self, op: str, to: str | None) -> None:
        with self._requests_lock:
            self._requests.append({"op": op, "to": to})

    @contextmanager
    def creating(self) -> Iterator[None]:
        """Around the answer to one create: counts the creates answered at once."""
        with self._requests_lock:
            self._creating += 1
            self.peak_creates = max(self.peak_creates, self._creating)
        try:
            yield
        finally:
            with self._requests_lock:
                self._creating -= 1

    def requests(self, op: str | None = None) -> list[dict[str, str | None]]:
        """The Messages API requests received (op: create, list, fetch), oldest first."""
        with self._requests_lock:
            return [r for r in self._requests if op is None or r["op"] == op]

    def callbacks(self) -> list[dict[str, Any]]:
        return self.deliverer.callbacks()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        return self.deliverer.wait_idle(timeout)

    def reset(self) -> None:
        self.faults.clear()
        self.book.clear()
        self.deliverer.clear()
        with self._requests_lock:
            self._requests.clear()
            self.peak_creates = self._creating

    def send_inbound(
        self,
        from_: str,
        to: str,
        body: str,
        *,
        message_sid: str | None = None,
        opt_out_type: str | None = None,
        url: str | None = None,
    ) -> tuple[int, str, str]:
        return self.deliverer.inbound(
            from_, to, body, message_sid=message_sid, opt_out_type=opt_out_type, url=url
        )

    def authorized(self, header: str | None, path_sid: str) -> bool:
        """Basic auth with this emulator's account SID and token, for its own account."""
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        same_token = hmac.compare_digest(password.encode(), self._auth_token.encode())
        return user == self.account_sid == path_sid and same_token
