"""What the emulator sends out: status callbacks for its messages and simulated inbound SMS,
each POSTed form-encoded and signed with X-Twilio-Signature exactly as Twilio signs them."""

from __future__ import annotations

import heapq
import itertools
import logging
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from campaignctl.emulator.faults import Fault, FaultBook
from campaignctl.emulator.messages import API_VERSION, EmulatedMessage, MessageBook
from campaignctl.providers.signature import sign

log = logging.getLogger("campaignctl.emulator")


def post_signed(url: str, params: dict[str, str], auth_token: str) -> tuple[int, str]:
    """POST `params` to `url` with Twilio's signature; returns (HTTP status, body)."""
    signature = sign(auth_token, url, params)
    request = urllib.request.Request(
        url,
        data=urllib.parse.urlencode(params).encode(),
        headers={
            "X-Twilio-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "TwilioProxy/1.1",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


class Deliverer:
    """Moves each message through sent -> delivered (or a scripted failure) and calls back.

    One timer thread keeps the deliveries due, in the order of their moments; a few workers
    make their steps (the callbacks are HTTP requests). A send-out of thousands of messages
    costs the emulator no thread a message, so it answers its last create as fast as its
    first."""

    WORKERS = 8  # callbacks in flight at once

    def __init__(
        self,
        book: MessageBook,
        faults: FaultBook,
        account: tuple[str, str],
        *,
        delay: float,
        default_callback: Callable[[], str | None],
    ) -> None:
        self._book = book
        self._faults = faults
        self._account_sid, self._auth_token = account
        self._delay = delay
        self._default_callback = default_callback
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # a step due or a delivery done
        self._log: list[dict[str, Any]] = []
        self._due: list[tuple[float, int, Callable[[], None]]] = []  # a heap, by moment
        self._order = itertools.count()  # ties broken in the order of scheduling
        self._unfinished = 0  # deliveries scheduled and not finished
        self._timer: threading.Thread | None = None
        self._workers = ThreadPoolExecutor(self.WORKERS, thread_name_prefix="emulator-deliver")

    def schedule(self, message: EmulatedMessage) -> None:
        with self._changed:
            self._unfinished += 1
            self._later(lambda: self._sent(message.sid))

    def callbacks(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._log)

    def clear(self) -> None:
        with self._lock:
            self._log.clear()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every scheduled delivery has finished; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: self._unfinished == 0, timeout)

    def _later(self, step: Callable[[], None]) -> None:
        """Under the lock: run `step` on a worker once the delay has passed."""
        heapq.heappush(self._due, (time.monotonic() + self._delay, next(self._order), step))
        if self._timer is None:
            self._timer = threading.Thread(
                target=self._keep_time, name="emulator-deliveries", daemon=True
            )
            self._timer.start()
        self._changed.notify_all()

    def _keep_time(self) -> None:
        with self._changed:
            while True:
                if not self._due:
                    self._changed.wait()
                    continue
                left = self._due[0][0] - time.monotonic()
                if left > 0:
                    self._changed.wait(left)
                    continue
                _, _, step = heapq.heappop(self._due)
                try:
                    self._workers.submit(self._step, step)
                except RuntimeError:  # the interpreter is shutting down
                    return

    def _step(self, step: Callable[[], None]) -> None:
        try:
            step()
        except Exception:
            log.exception("a simulated delivery failed")

    def _finished(self) -> None:
        with self._changed:
            self._unfinished -= 1
            self._changed.notify_all()

    def _sent(self, sid: str) -> None:
        going_on = False
        try:
            message = self._book.get(sid)
            if message is None:  # reset meanwhile
                return
            self._notify(self._book.advance(sid, "sent"))
            rule = self._faults.take("deliver", message.to)
            with self._changed:
                self._later(lambda: self._final(sid, rule))
            going_on = True
        finally:
            if not going_on:
                self._finished()

    def _final(self, sid: str, rule: Fault | None) -> None:
        try:
            if self._book.get(sid) is None:
                return
            if rule is not None and rule.final_status:
                final = self._book.advance(sid, rule.final_status, rule.code)
            else:
                final = self._book.advance(sid, "delivered")
            self._notify(final)
        finally:
            self._finished()

    def _notify(self, message: EmulatedMessage) -> None:
        url = message.status_callback or self._status_url()
        if not url:
            return
        params = {
            "AccountSid": message.account_sid,
            "ApiVersion": API_VERSION,
            "From": message.from_ or "",
            "MessageSid": message.sid,
            "MessageStatus": message.status,
            "SmsSid": message.sid,
            "SmsStatus": message.status,
            "To": message.to,
        }
        if message.messaging_service_sid:
            params["MessagingServiceSid"] = message.messaging_service_sid
        if message.error_code is not None:
            params["ErrorCode"] = str(message.error_code)
        entry: dict[str, Any] = {"sid": message.sid, "status": message.status, "url": url}
        try:
            entry["http_status"], _ = post_signed(url, params, self._auth_token)
        except OSError as exc:
            entry["error"] = f"{type(exc).__name__}: {exc}"
        log.info(
            "status callback %s %s -> %s",
            message.sid,
            message.status,
            entry.get("http_status", entry.get("error")),
        )
        with self._lock:
            self._log.append(entry)

    def _status_url(self) -> str | None:
        base = self._default_callback()
        return f"{base.rstrip('/')}/twilio/status" if base else None

    def inbound(
        self,
        from_: str,
        to: str,
        body: str,
        *,
        message_sid: str | None = None,
        opt_out_type: str | None = None,
        url: str | None = None,
    ) -> tuple[int, str, str]:
        """Deliver an incoming SMS to the inbound webhook: (HTTP status, body, MessageSid)."""
        if url is None:
            base = self._default_callback()
            if not base:
                raise ValueError("no inbound URL: start the emulator with a callback URL")
            url = f"{base.rstrip('/')}/twilio/inbound"
        sid = message_sid or "SM" + secrets.token_hex(16)
        params = {
            "AccountSid": self._account_sid,
            "ApiVersion": API_VERSION,
            "Body": body,
            "From": from_,
            "MessageSid": sid,
            "NumMedia": "0",
            "NumSegments": "1",
            "SmsMessageSid": sid,
            "SmsSid": sid,
            "SmsStatus": "received",
            "To": to,
        }
        if opt_out_type:
            params["OptOutType"] = opt_out_type
        status, text = post_signed(url, params, self._auth_token)
        return status, text, sid
