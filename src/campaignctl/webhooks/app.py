"""The Twilio webhook application (WSGI): delivery status callbacks and incoming SMS.

    POST /twilio/status    MessageSid, MessageStatus, ErrorCode; ?attempt=<id> from our URL
    POST /twilio/inbound   From, To, Body, MessageSid, OptOutType (Advanced Opt-Out)
    GET  /healthz          200 "ok" (for load balancers; reveals nothing)

Every POST must carry a valid X-Twilio-Signature, computed by Twilio over the public URL it
called (`public_url` + path + query) and the form parameters; anything else gets 403 and
changes nothing. Twilio retries webhooks, so each is processed once per MessageSid: the
state records an event and the mark that it was processed in one transaction
(store/inbound.py), so an event answered 500 left nothing behind and its retry goes through.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment
from xml.sax.saxutils import escape

from campaignctl.clock import Clock
from campaignctl.core.keywords import classify
from campaignctl.errors import StateError
from campaignctl.providers.signature import SignatureCheck
from campaignctl.store import StateLocation, Store
from campaignctl.store.inbound import InboundEvent, StatusEvent, WebhookRecorder

log = logging.getLogger("campaignctl.webhooks")

DEFAULT_HELP_TEXT = "Reply STOP to stop these messages, START to receive them again."
EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response/>'
MAX_BODY_BYTES = 64 * 1024


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
    """The WSGI application; records each event with one call to the state, which is opened
    on first use and shared by the server's threads (waitress serves on threads)."""

    def __init__(
        self,
        store_path: Path | StateLocation,
        auth_token: str,
        public_url: str,
        clock: Clock,
        *,
        help_text: str = DEFAULT_HELP_TEXT,
        open_recorder: Callable[[Path | StateLocation], WebhookRecorder] = Store.open,
    ) -> None:
        self._store_path = store_path
        self._signatures = SignatureCheck(auth_token)
        self._public_url = public_url.rstrip("/")
        self._clock = clock
        self._help_text = help_text
        self._open_recorder = open_recorder
        self._lock = threading.Lock()
        self._opened: WebhookRecorder | None = None

    def store(self) -> WebhookRecorder:
        """The state, opened on first use and shared by the server's threads."""
        with self._lock:
            if self._opened is None:
                self._opened = self._open_recorder(self._store_path)
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
        except StateError as exc:  # a full disk, a lock held too long...: one line
            log.error("%s: not recorded (%s); answered 500 so that Twilio retries", path, exc)
        except Exception:  # a defect: its traceback is what fixes it
            log.exception("%s: not recorded; answered 500 so that Twilio retries", path)
        # nothing of the event was recorded (one transaction): Twilio's retry records it
        return Reply.text("500 Internal Server Error", "could not record the webhook")

    # ------------------------------------------------------------------ status callbacks

    def _status(self, form: Form, query: Mapping[str, list[str]]) -> Reply:
        sid = form.first("MessageSid") or form.first("SmsSid")
        status = (form.first("MessageStatus") or form.first("SmsStatus")).lower()
        if not sid or not status:
            return Reply.text("400 Bad Request", "MessageSid and MessageStatus are required")
        event = StatusEvent(
            message_sid=sid,
            status=status,
            error_code=_small_int(form.first("ErrorCode")),
            attempt_id=_small_int((query.get("attempt") or [""])[0]),
        )
        done = self.store().record_status(event, self._clock.now())
        if done.outcome == "unknown":
            log.info("status %s for unknown message %s: ignored", status, sid)
        elif done.outcome == "late":
            log.info(
                "attempt %s (%s): late %s after %s: ignored",
                done.attempt_id,
                sid,
                status,
                done.previous,
            )
        elif done.outcome == "recorded":
            code = event.error_code
            ended = f"; ended in {', '.join(done.ended)}" if done.ended else ""
            log.info(
                "attempt %s (%s): %s%s%s",
                done.attempt_id,
                sid,
                status,
                f" error {code}" if code else "",
                ended,
            )
        return Reply.twiml()

    # ------------------------------------------------------------------ incoming SMS

    def _inbound(self, form: Form) -> Reply:
        sid = form.first("MessageSid") or form.first("SmsSid")
        phone = form.first("From").strip()
        if not sid or not phone:
            return Reply.text("400 Bad Request", "MessageSid and From are required")
        opt_out_type = form.first("OptOutType") or None
        body = form.first("Body")
        meaning = classify(body, opt_out_type)
        sender = form.first("To").strip() or None
        event = InboundEvent(sid, phone, meaning.kind, meaning.keyword, body, sender)
        done = self.store().record_inbound(event, self._clock.now())
        if done.duplicate:
            log.info("inbound %s: already processed", sid)
            return Reply.twiml()
        if meaning.kind == "opt_out":
            log.info(
                "inbound %s from %s: opted out (%s); ended %d enrollment(s)",
                sid,
                phone,
                meaning.keyword,
                len(done.ended),
            )
        elif meaning.kind == "opt_in":
            lifted = "opt-out lifted" if done.changed else "was not opted out"
            log.info("inbound %s from %s: opt-in (%s)", sid, phone, lifted)
        elif meaning.kind == "help":
            log.info("inbound %s from %s: help", sid, phone)
            if opt_out_type is None:  # with Advanced Opt-Out, Twilio answers HELP itself
                return Reply.twiml(self._help_text)
        else:
            log.info(
                "inbound %s from %s: reply; ended %d enrollment(s)", sid, phone, len(done.ended)
            )
        return Reply.twiml()


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
