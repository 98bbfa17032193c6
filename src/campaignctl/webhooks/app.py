"""The Twilio webhook application (WSGI): delivery status callbacks and incoming SMS.

    POST /twilio/status    MessageSid, MessageStatus, ErrorCode; ?attempt=<id> from our URL
    POST /twilio/inbound   From, To, Body, MessageSid, OptOutType (Advanced Opt-Out)
    GET  /healthz          200 "ok" (for load balancers; reveals nothing)

Every POST must carry a valid X-Twilio-Signature, computed by Twilio over the public URL it
called (`public_url` + path + query) and the form parameters; anything else gets 403 and
changes nothing. Twilio retries webhooks, so each is processed once per MessageSid.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment
from xml.sax.saxutils import escape

from campaignctl.clock import Clock
from campaignctl.providers.signature import SignatureCheck
from campaignctl.store import StateLocation, Store

log = logging.getLogger("campaignctl.webhooks")

OPT_OUT_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_KEYWORDS = frozenset({"HELP", "INFO"})
OPT_OUT_TYPES = {"STOP": "opt_out", "START": "opt_in", "HELP": "help"}
# a delivery status never goes back: a late "sent" must not overwrite "delivered"
DELIVERY_RANK = {"accepted": 0, "queued": 0, "sending": 1, "sent": 2}
FINAL_RANK = 3  # delivered, undelivered, failed, read...

DEFAULT_HELP_TEXT = "Reply STOP to stop these messages, START to receive them again."
EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response/>'
MAX_BODY_BYTES = 64 * 1024

_SINGLE_WORD = re.compile(r"^[\W_]*([A-Za-z]+)[\W_]*$")

InboundKind = Literal["opt_out", "opt_in", "help", "reply"]


def keyword_of(body: str) -> str | None:
    """The keyword a message consists of, upper-cased, or None: one word, case-insensitive,
    surrounding spaces and punctuation ignored ("  Stop! " -> STOP; "stop it" -> None)."""
    match = _SINGLE_WORD.match(body)
    if match is None:
        return None
    word = match.group(1).upper()
    if word in OPT_OUT_KEYWORDS | OPT_IN_KEYWORDS | HELP_KEYWORDS:
        return word
    return None


def classify_inbound(body: str, opt_out_type: str | None = None) -> InboundKind:
    """What an incoming message means; Twilio's own OptOutType verdict wins when present."""
    if opt_out_type and opt_out_type.upper() in OPT_OUT_TYPES:
        return OPT_OUT_TYPES[opt_out_type.upper()]  # type: ignore[return-value]
    word = keyword_of(body)
    if word in OPT_OUT_KEYWORDS:
        return "opt_out"
    if word in OPT_IN_KEYWORDS:
        return "opt_in"
    if word in HELP_KEYWORDS:
        return "help"
    return "reply"


class Form(dict[str, list[str]]):
    """Form parameters with every value kept (the signature covers repeated keys too)."""

    def getall(self, name: str) -> list[str]:
        return self[name]

    def first(self, name: str) -> str:
        values = self.get(name)
        return values[0] if values else ""


@dataclass(frozen=True)
class Reply:
    status: str
    body: bytes
    content_type: str = "text/xml"

    @classmethod
    def twiml(cls, message: str | None = None) -> Reply:
        if message is None:
            return cls("200 OK", EMPTY_TWIML)
        xml = f'<?xml version="1.0" encoding="UTF-8"?><Response><Message>{escape(message)}</Message></Response>'
        return cls("200 OK", xml.encode())

    @classmethod
    def text(cls, status: str, text: str) -> Reply:
        return cls(status, text.encode() + b"\n", "text/plain; charset=utf-8")


class WebhookApp:
    """The WSGI application; opens the state for each request (waitress serves on threads)."""

    def __init__(
        self,
        store_path: Path | StateLocation,
        auth_token: str,
        public_url: str,
        clock: Clock,
        *,
        help_text: str = DEFAULT_HELP_TEXT,
    ) -> None:
        self._store_path = store_path
        self._signatures = SignatureCheck(auth_token)
        self._public_url = public_url.rstrip("/")
        self._clock = clock
        self._help_text = help_text
        self._lock = threading.Lock()
        self._opened: Store | None = None

    def store(self) -> Store:
        """The state, opened on first use and shared by the server's threads."""
        with self._lock:
            if self._opened is None:
                self._opened = Store.open(self._store_path)
            return self._opened

    def close(self) -> None:
        with self._lock:
            if self._opened is not None:
                self._opened.close()
                self._opened = None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        reply = self._handle(environ)
        start_response(
            reply.status,
            [("Content-Type", reply.content_type), ("Content-Length", str(len(reply.body)))],
        )
        return [reply.body]

    def _handle(self, environ: WSGIEnvironment) -> Reply:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/healthz" and method in ("GET", "HEAD"):
            return Reply.text("200 OK", "ok")
        if path not in ("/twilio/status", "/twilio/inbound"):
            return Reply.text("404 Not Found", "not found")
        if method != "POST":
            return Reply.text("405 Method Not Allowed", "POST only")
        form = _read_form(environ)
        if form is None:
            return Reply.text("413 Content Too Large", "request too large")
        query = environ.get("QUERY_STRING", "")
        url = self._public_url + path + (f"?{query}" if query else "")
        signature = environ.get("HTTP_X_TWILIO_SIGNATURE", "")
        if not signature or not self._signatures.valid(url, form, signature):
            log.warning("%s: refused a request without a valid X-Twilio-Signature", path)
            return Reply.text("403 Forbidden", "invalid or missing X-Twilio-Signature")
        try:
            if path == "/twilio/status":
                return self._status(form, parse_qs(query))
            return self._inbound(form)
        except Exception:
            log.exception("%s: failed; Twilio will retry", path)
            return Reply.text("500 Internal Server Error", "could not record the webhook")

    # ------------------------------------------------------------------ status callbacks

    def _status(self, form: Form, query: Mapping[str, list[str]]) -> Reply:
        sid = form.first("MessageSid") or form.first("SmsSid")
        status = (form.first("MessageStatus") or form.first("SmsStatus")).lower()
        if not sid or not status:
            return Reply.text("400 Bad Request", "MessageSid and MessageStatus are required")
        code_text = form.first("ErrorCode")
        error_code = _small_int(code_text)
        now = self._clock.now()
        store = self.store()
        record = None
        attempt_text = (query.get("attempt") or [""])[0]
        attempt_id = _small_int(attempt_text)
        if attempt_id is not None:
            record = store.attempt(attempt_id)
            if record is not None and record.provider_id not in (None, sid):
                record = None  # the URL and the message disagree: trust the MessageSid
        if record is None:
            record = store.attempt_by_provider_id(sid)
        if record is None:
            log.info("status %s for unknown message %s: ignored", status, sid)
            return Reply.twiml()
        if _rank(status) < _rank(record.delivery_status):
            log.info(
                "attempt %s (%s): late %s after %s: ignored",
                record.id,
                sid,
                status,
                record.delivery_status,
            )
            return Reply.twiml()
        if store.webhook_seen(f"{sid}:{status}", now):
            return Reply.twiml()
        store.record_delivery(record.id, status, error_code, now)
        log.info(
            "attempt %s (%s): %s%s",
            record.id,
            sid,
            status,
            f" error {error_code}" if error_code else "",
        )
        return Reply.twiml()

    # ------------------------------------------------------------------ incoming SMS

    def _inbound(self, form: Form) -> Reply:
        sid = form.first("MessageSid") or form.first("SmsSid")
        phone = form.first("From").strip()
        if not sid or not phone:
            return Reply.text("400 Bad Request", "MessageSid and From are required")
        opt_out_type = form.first("OptOutType") or None
        kind = classify_inbound(form.first("Body"), opt_out_type)
        now = self._clock.now()
        reply = Reply.twiml()
        store = self.store()
        if store.webhook_seen(sid, now):
            log.info("inbound %s: already processed", sid)
            return reply
        try:
            if kind == "opt_out":
                word = keyword_of(form.first("Body")) or opt_out_type or "STOP"
                store.add_optout(phone, "sms", f"{word} by SMS", now)
                ended = store.end_live_enrollments(phone, "opted_out", now)
                log.info(
                    "inbound %s from %s: opted out; ended %d enrollment(s)", sid, phone, len(ended)
                )
            elif kind == "opt_in":
                lifted = store.remove_optout(phone, reason="START by SMS", source="sms", now=now)
                log.info(
                    "inbound %s from %s: opt-in (%s)",
                    sid,
                    phone,
                    "opt-out lifted" if lifted else "was not opted out",
                )
            elif kind == "help":
                if opt_out_type is None:  # with Advanced Opt-Out, Twilio answers HELP itself
                    reply = Reply.twiml(self._help_text)
                log.info("inbound %s from %s: help", sid, phone)
            else:
                ended = store.end_live_enrollments(phone, "replied", now, only_stop_on_reply=True)
                log.info(
                    "inbound %s from %s: reply; ended %d enrollment(s)", sid, phone, len(ended)
                )
        except Exception:
            # answer 500 so Twilio retries, and let the retry through
            try:
                store.forget_webhook(sid)
                log.error(
                    "inbound %s from %s (%s) failed; Twilio's retry will redo it", sid, phone, kind
                )
            except Exception:
                log.error(
                    "inbound %s from %s (%s) was NOT recorded; record it by hand (e.g. "
                    "`campaignctl optout add %s`)",
                    sid,
                    phone,
                    kind,
                    phone,
                )
            raise
        return reply


def make_app(
    store_path: Path | StateLocation,
    auth_token: str,
    public_url: str,
    clock: Clock,
    *,
    help_text: str = DEFAULT_HELP_TEXT,
) -> WSGIApplication:
    """The webhook WSGI application for `campaignctl webhooks serve` (or any WSGI server)."""
    return WebhookApp(store_path, auth_token, public_url, clock, help_text=help_text)


def _small_int(text: str) -> int | None:
    """An error code or an attempt id: ASCII digits that fit SQLite's INTEGER, else None
    (str.isdigit alone accepts other scripts' digits, and int() any length)."""
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        return None
    return int(text)


def _rank(status: str | None) -> int:
    if status is None:
        return -1
    return DELIVERY_RANK.get(status, FINAL_RANK)


def _read_form(environ: WSGIEnvironment) -> Form | None:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY_BYTES:
        return None
    raw = environ["wsgi.input"].read(length) if length > 0 else b""
    form = Form()
    for name, values in parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True).items():
        form[name] = values
    return form
