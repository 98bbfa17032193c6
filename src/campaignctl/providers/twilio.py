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
resolved by looking the message up (see `lookup`). A look-up matches what no clock can move:
recipient, sender (number or messaging service) and body. Twilio returns no tag of ours (a
Message's properties do not include its status-callback URL), so the attempt is told apart
by time, over a window of LOOKUP_WINDOW either side of the intent: wide enough for any clock
that disagrees with Twilio's (a host without NTP drifts seconds a day; a clock set to local
time instead of UTC is off by at most 14 hours), and safe because campaignctl sends at most
one message to a number in any 30 days, so no other message of ours has that body, to that
number, from that sender, inside the window. Before it says "absent" (safe to send again),
a look-up checks Twilio's own time (the Date header of its answer) against campaignctl's
clock: a disagreement of more than MAX_CLOCK_SKEW leaves the attempt "unknown" instead.

One provider is called from several threads at once (the executor hands a sender's messages
over concurrently): each thread gets its own SDK Client and HTTP client, since the SDK's
HTTP client keeps the last request and answer on itself and its requests Session is not
made to be shared between threads (and so does the clock skew noted from each answer).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import requests
import urllib3.exceptions
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from campaignctl.clock import Clock, SystemClock
from campaignctl.providers.base import Outcome, OutgoingMessage

log = logging.getLogger("campaignctl.twilio")
# the SDK logs every request and response (numbers included) at INFO: keep that for debugging
http_log = logging.getLogger("campaignctl.twilio.http")
http_log.setLevel(logging.WARNING)

MAX_VALIDITY_SECONDS = 36_000  # Twilio's ceiling for validity_period
LOOKUP_WINDOW = timedelta(days=2)  # either side of the intent: where its message can be
MAX_CLOCK_SKEW = timedelta(days=1)  # beyond this, "not found" cannot be trusted
LOOKUP_SCAN_LIMIT = 1000  # messages read at most; more unmatched ones: the look-up cannot tell
RECENT_SCAN = 50  # the newest messages to the number, read for one still queued (no date_sent)
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
        clock: Clock | None = None,
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
        self._clock = clock or SystemClock()
        self._account = (account_sid, auth_token)
        self._base_url = base_url.rstrip("/") if base_url else None
        self._timeout = timeout
        self._local = threading.local()  # this thread's SDK client (see the module's doc)

    @property
    def _http(self) -> _ClockedHttpClient:
        """This thread's HTTP client."""
        self._connect()
        return self._local.http  # type: ignore[no-any-return]

    @property
    def _messages(self) -> Any:
        """This thread's view of the account's Messages resource."""
        self._connect()
        return self._local.messages

    def _connect(self) -> None:
        if getattr(self._local, "messages", None) is not None:
            return
        http = _ClockedHttpClient(self._clock, timeout=self._timeout, logger=http_log)
        client = Client(*self._account, http_client=http)
        if self._base_url:
            client.region = None  # a region or edge would rewrite the host of base_url
            client.edge = None
            client.api.base_url = self._base_url
        self._local.http = http
        self._local.messages = client.api.account.messages

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
        """Find the message among those Twilio holds for its number and sender, by body,
        within LOOKUP_WINDOW of the intent: sent, None if certainly absent, else unknown."""
        try:
            match, scanned = self._find(message)
        except (TwilioException, requests.RequestException, ValueError) as exc:
            detail = self._describe(exc)
            log.info("attempt %s: lookup failed: %s", message.attempt_id, detail)
            return Outcome("unknown", detail=f"lookup failed: {detail}")
        if match is not None:
            return Outcome(
                "sent",
                provider_id=match.sid,
                segments=_int(match.num_segments),
                detail="found by lookup",
            )
        doubt = self._doubt_about_absence(scanned)
        if doubt is not None:
            log.warning("attempt %s: not found, but %s", message.attempt_id, doubt)
            return Outcome("unknown", detail=f"lookup cannot tell: {doubt}")
        return None

    def _find(self, message: OutgoingMessage) -> tuple[Any | None, int]:
        """The matching message, if any, and how many messages were read to look for it."""
        filters: dict[str, Any] = {"to": message.to}
        if message.from_number:
            filters["from_"] = message.from_number
        earliest = (message.created_at - LOOKUP_WINDOW).astimezone(UTC)
        day = earliest.replace(hour=0, minute=0, second=0, microsecond=0)  # DateSent: a day
        scanned = 0
        for candidate in self._messages.stream(date_sent_after=day, page_size=100, **filters):
            scanned += 1
            if _matches(message, candidate):
                return candidate, scanned
            if scanned >= LOOKUP_SCAN_LIMIT:
                return None, scanned
        # a queued message has no date_sent yet and escapes the date filter: look at the
        # most recent messages to this number as well
        recent = self._messages.list(limit=RECENT_SCAN, page_size=RECENT_SCAN, **filters)
        return next((c for c in recent if _matches(message, c)), None), scanned

    def _doubt_about_absence(self, scanned: int) -> str | None:
        """Why "not found" cannot be trusted, if it cannot; None when it can."""
        if scanned >= LOOKUP_SCAN_LIMIT:
            return f"more than {LOOKUP_SCAN_LIMIT} messages to this number to look through"
        skew = self._http.skew
        if skew is not None and abs(skew) > MAX_CLOCK_SKEW:
            ahead = "ahead of" if skew > timedelta(0) else "behind"
            return (
                f"Twilio's clock is {_duration(abs(skew))} {ahead} campaignctl's "
                f"(more than {_duration(MAX_CLOCK_SKEW)}): check this machine's clock or --now"
            )
        return None

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


class _ClockedHttpClient(TwilioHttpClient):  # type: ignore[misc]
    """The SDK's HTTP client, noting how far Twilio's clock (the Date header of each answer)
    is from campaignctl's when the answer arrives."""

    def __init__(self, clock: Clock, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._clock = clock
        self.skew: timedelta | None = None  # Twilio's time minus ours, at the last answer

    def request(self, *args: Any, **kwargs: Any) -> Any:
        self.skew = None
        response = super().request(*args, **kwargs)
        told = _http_date((response.headers or {}).get("Date"))
        if told is not None:
            self.skew = told - self._clock.now()
        return response


def _matches(message: OutgoingMessage, candidate: Any) -> bool:
    """Whether a message Twilio holds is this attempt's: same body (allowing for Smart
    Encoding), same messaging service where both name one, created within the window."""
    body = candidate.body or ""
    wanted = message.body.translate(_SMART_ENCODING)
    if body != message.body and body.translate(_SMART_ENCODING) != wanted:
        return False
    service = candidate.messaging_service_sid
    if message.messaging_service_sid and service and service != message.messaging_service_sid:
        return False
    created: datetime | None = candidate.date_created
    return created is None or abs(created - message.created_at) <= LOOKUP_WINDOW


def _http_date(value: str | None) -> datetime | None:
    """An HTTP Date header (always GMT) as a UTC time; None when absent or unreadable."""
    try:
        told = parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        return None
    return None if told is None else told.replace(tzinfo=told.tzinfo or UTC).astimezone(UTC)


def _duration(span: timedelta) -> str:
    """A span to the nearest minute, hour or day, for a log line."""
    minutes = round(span.total_seconds() / 60)
    if minutes < 120:
        return f"{minutes} min"
    hours = round(minutes / 60)
    return f"{hours} h" if hours < 48 else f"{round(hours / 24)} days"


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
