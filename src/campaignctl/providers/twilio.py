"""Sending through Twilio: the one module that talks to Twilio's REST API (the `twilio` SDK).

Every answer is mapped to an Outcome (see providers/base.py); nothing raises for a provider
answer. The rules, from DOMAIN.md:

    21610                    -> opted_out    the recipient replied STOP to this sender
    21211 / 21614 / 21408    -> rejected     invalid, not a mobile, region not enabled
    20003 / HTTP 401         -> auth_failed  credentials refused: stop all sending
    20429 / HTTP 429         -> backoff and retry here (bounded), then "retry"
    21611                    -> retry        the sender has a 10-hour backlog: slow down
    5xx / 20500 / timeout /  -> the message MAY exist: lookup() first; found -> sent;
    reset after sending         certainly absent -> backoff and send again; else "unknown"
    connection refused       -> nothing was sent: backoff and retry
    any other 4xx            -> failed       permanent for this message

Twilio has no idempotency key, so a message is never created twice blindly: every doubt is
resolved by listing the messages to that number and matching body and creation time.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any, Literal

import requests
import urllib3.exceptions
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from campaignctl.providers.base import Outcome, OutgoingMessage

log = logging.getLogger("campaignctl.twilio")
# the SDK logs every request and response (numbers included) at INFO: keep that for debugging
http_log = logging.getLogger("campaignctl.twilio.http")
http_log.setLevel(logging.WARNING)

MAX_VALIDITY_SECONDS = 36_000  # Twilio's ceiling for validity_period
LOOKUP_SLACK = timedelta(minutes=1)  # clock skew allowed when matching a message's creation time
REJECTED_CODES = frozenset({21211, 21614, 21408})
OPTED_OUT_CODE = 21610
AUTH_FAILED_CODE = 20003
THROTTLED_CODE = 20429
BACKLOG_CODE = 21611
SERVER_ERROR_CODE = 20500

# Twilio's Smart Encoding may swap look-alikes for GSM-7 characters in the stored body.
_SMART_ENCODING = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2026": "...",
        "\u00a0": " ",
    }
)

DoubtKind = Literal["throttled", "not_sent", "maybe_sent"]


@dataclass(frozen=True)
class _Doubt:
    """A create call that did not end in a final answer."""

    kind: DoubtKind
    detail: str
    error_code: int | None = None


class TwilioProvider:
    """Sends through Twilio's Messages API; `base_url` points it at a compatible server."""

    name = "twilio"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        base_url: str | None = None,
        status_callback_base: str | None = None,
        max_retries: int = 4,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        timeout: float = 15.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        self._secret = auth_token
        self._status_callback_base = (
            status_callback_base.rstrip("/") if status_callback_base else None
        )
        self.max_retries = max_retries
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._sleep = sleep
        self._rng = rng or random.Random()
        client = Client(
            account_sid, auth_token, http_client=TwilioHttpClient(timeout=timeout, logger=http_log)
        )
        if base_url:
            client.region = None  # a region or edge would rewrite the host of base_url
            client.edge = None
            client.api.base_url = base_url.rstrip("/")
        self._messages = client.api.account.messages

    # ------------------------------------------------------------------ Provider

    def send(self, message: OutgoingMessage) -> Outcome:
        """Create the message; retry what was certainly not created, at most max_retries
        times and only inside the recipient's window; resolve every doubt by lookup()."""
        if message.validity_seconds is not None and message.validity_seconds <= 0:
            return Outcome("retry", detail="the recipient's sending window has closed")
        waited = 0.0
        doubt: _Doubt | None = None
        for round_ in range(self.max_retries + 1):
            answer = self._create_once(message)
            if isinstance(answer, Outcome):
                return answer
            doubt = answer
            delay = self._backoff_delay(round_)
            if doubt.kind == "maybe_sent":
                self._sleep(delay)  # give Twilio a moment before asking what it has
                waited += delay
                found = self.lookup(message)
                if found is not None and found.status == "sent":
                    log.info(
                        "attempt %s: %s, but the message exists (%s): sent",
                        message.attempt_id,
                        doubt.detail,
                        found.provider_id,
                    )
                    return found
                if found is not None:
                    return Outcome(
                        "unknown",
                        error_code=doubt.error_code,
                        detail=f"{doubt.detail}; {found.detail}",
                    )
                log.info(
                    "attempt %s: %s, and Twilio has no such message: safe to send again",
                    message.attempt_id,
                    doubt.detail,
                )
                if _window_left(message, waited) <= 0:
                    break
                continue
            if round_ == self.max_retries or _window_left(message, waited + delay) <= 0:
                break
            log.info(
                "attempt %s: %s; retry %d of %d in %.2fs",
                message.attempt_id,
                doubt.detail,
                round_ + 1,
                self.max_retries,
                delay,
            )
            self._sleep(delay)
            waited += delay
        assert doubt is not None
        return Outcome(
            "retry",
            error_code=doubt.error_code,
            detail=f"{doubt.detail}; not sent, will retry later",
        )

    def lookup(self, message: OutgoingMessage) -> Outcome | None:
        """Find the message among those sent to its number (from its sender) since the day
        it was recorded, by body and creation time: sent, None if absent, or unknown."""
        created = message.created_at.astimezone(UTC)
        day = created.replace(hour=0, minute=0, second=0, microsecond=0)
        filters: dict[str, Any] = {"to": message.to}
        if message.from_number:
            filters["from_"] = message.from_number
        try:
            match = self._match(
                message,
                self._messages.list(date_sent_after=day, limit=500, page_size=100, **filters),
            )
            if match is None:
                # a queued message has no date_sent yet and escapes the date filter:
                # look at the most recent messages to this number as well
                match = self._match(message, self._messages.list(limit=50, page_size=50, **filters))
        except (TwilioException, requests.RequestException, ValueError) as exc:
            detail = self._describe(exc)
            log.info("attempt %s: lookup failed: %s", message.attempt_id, detail)
            return Outcome("unknown", detail=f"lookup failed: {detail}")
        if match is None:
            return None
        return Outcome(
            "sent",
            provider_id=match.sid,
            segments=_int(match.num_segments),
            detail="found by lookup",
        )

    # ------------------------------------------------------------------ one create call

    def _create_once(self, message: OutgoingMessage) -> Outcome | _Doubt:
        params: dict[str, Any] = {"to": message.to, "body": message.body}
        if message.from_number:
            params["from_"] = message.from_number
        else:
            params["messaging_service_sid"] = message.messaging_service_sid
        if self._status_callback_base:
            params["status_callback"] = (
                f"{self._status_callback_base}/twilio/status?attempt={message.attempt_id}"
            )
        if message.validity_seconds is not None:
            params["validity_period"] = min(MAX_VALIDITY_SECONDS, message.validity_seconds)
        try:
            created = self._messages.create(**params)
        except (TwilioRestException, TwilioServiceException) as exc:
            return self._map_error(message, exc.code, exc.status, self._describe(exc))
        except requests.RequestException as exc:
            detail = self._describe(exc)
            if _nothing_sent(exc):
                return _Doubt("not_sent", f"cannot connect ({detail})")
            return _Doubt("maybe_sent", f"no answer after sending ({detail})")
        except (TwilioException, ValueError) as exc:  # e.g. a 2xx whose body is not JSON
            return _Doubt("maybe_sent", f"unreadable answer ({self._describe(exc)})")
        return Outcome("sent", provider_id=created.sid, segments=_int(created.num_segments))

    def _map_error(
        self, message: OutgoingMessage, code: int | None, status: int | None, detail: str
    ) -> Outcome | _Doubt:
        if code == OPTED_OUT_CODE:
            return Outcome("opted_out", error_code=code, detail=detail)
        if code in REJECTED_CODES:
            return Outcome("rejected", error_code=code, detail=detail)
        if code == AUTH_FAILED_CODE or status == 401:
            log.error(
                "Twilio refused the credentials (20003): sending stops until "
                "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are fixed"
            )
            return Outcome("auth_failed", error_code=code or AUTH_FAILED_CODE, detail=detail)
        if code == THROTTLED_CODE or status == 429:
            return _Doubt("throttled", f"throttled ({detail})", code)
        if code == BACKLOG_CODE:
            return Outcome("retry", error_code=code, detail=f"sender backlog: {detail}")
        if code == SERVER_ERROR_CODE or (status is not None and status >= 500):
            return _Doubt("maybe_sent", f"server error ({detail})", code)
        log.info("attempt %s: failed: %s", message.attempt_id, detail)
        return Outcome("failed", error_code=code, detail=detail)

    # ------------------------------------------------------------------ helpers

    def _backoff_delay(self, round_: int) -> float:
        """Exponential backoff with equal jitter: half fixed, half random."""
        ceiling = min(self._backoff_cap, self._backoff_base * 2.0**round_)
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    def _match(self, message: OutgoingMessage, candidates: Iterable[Any]) -> Any | None:
        earliest = message.created_at - LOOKUP_SLACK
        wanted = message.body.translate(_SMART_ENCODING)
        for candidate in candidates:
            body = candidate.body or ""
            if body != message.body and body.translate(_SMART_ENCODING) != wanted:
                continue
            if candidate.date_created is None or candidate.date_created < earliest:
                continue
            service = candidate.messaging_service_sid
            if (
                message.messaging_service_sid
                and service
                and service != message.messaging_service_sid
            ):
                continue
            return candidate
        return None

    def _describe(self, exc: BaseException) -> str:
        """One line about an error, with the auth token removed wherever it might appear."""
        if isinstance(exc, TwilioRestException):
            text = f"Twilio error {exc.code} (HTTP {exc.status}): {exc.msg}"
        elif isinstance(exc, TwilioServiceException):
            text = f"Twilio error {exc.code} (HTTP {exc.status}): {exc.title}"
            if exc.detail:
                text += f" - {exc.detail}"
        else:
            text = f"{type(exc).__name__}: {exc}"
        return redact(" ".join(text.split()), self._secret)


def redact(text: str, secret: str) -> str:
    return text.replace(secret, "[redacted]") if secret else text


def _nothing_sent(exc: BaseException) -> bool:
    """True when the request never reached the server (refused, connect timeout, DNS)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, urllib3.exceptions.NewConnectionError | ConnectionRefusedError):
            return True
        stack.extend([current.__cause__, current.__context__, getattr(current, "reason", None)])
        stack.extend(arg for arg in current.args if isinstance(arg, BaseException))
    return False


def _int(value: object) -> int | None:
    try:
        return int(str(value)) if value is not None else None
    except ValueError:
        return None


def _window_left(message: OutgoingMessage, waited: float) -> float:
    """Seconds left in the recipient's window after waiting; unbounded when not given."""
    if message.validity_seconds is None:
        return float("inf")
    return message.validity_seconds - waited
