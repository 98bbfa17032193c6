"""The emulator's HTTP surface: Twilio's Messages API (create, list, fetch) with scripted
faults, and the control API under /_emulator/ (no auth: a local test tool)."""

from __future__ import annotations

import json
import logging
import re
import socket
import struct
import time
from datetime import timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

from campaignctl.core.instants import check_instant
from campaignctl.emulator.faults import Fault
from campaignctl.emulator.messages import (
    API_VERSION,
    MessageFilter,
    error_body,
    parse_date_filter,
    validate_create,
)

if TYPE_CHECKING:
    from campaignctl.emulator.server import TwilioEmulator

log = logging.getLogger("campaignctl.emulator")

MESSAGES = re.compile(rf"^/{API_VERSION}/Accounts/(?P<account>[^/]+)/Messages\.json$")
MESSAGE = re.compile(rf"^/{API_VERSION}/Accounts/(?P<account>[^/]+)/Messages/(?P<sid>[^/]+)\.json$")
MAX_BODY = 1 << 20


class EmulatorHandler(BaseHTTPRequestHandler):
    server_version = "campaignctl-twilio-emulator"
    # keep-alive, as Twilio's API: a sender's concurrent calls each keep their connection
    protocol_version = "HTTP/1.1"
    # an answer's headers and body are two writes: on a kept connection the second would
    # wait for the client's delayed acknowledgement of the first (40 ms or more a request)
    disable_nagle_algorithm = True
    _body_read = False

    @property
    def emulator(self) -> TwilioEmulator:
        return self.server.emulator  # type: ignore[attr-defined, no-any-return]

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The Date header of every answer, read from the emulator's clock (as Twilio's
        answers carry Twilio's time, whatever the client's clock says)."""
        return format_datetime(self.emulator.now(), usegmt=True)

    # ------------------------------------------------------------------ routing

    def do_GET(self) -> None:
        path, query = self._target()
        if path.startswith("/_emulator/"):
            return self._control_get(path)
        match = MESSAGES.match(path) or MESSAGE.match(path)
        if match is None:
            return self._error(20404, 404)
        if not self.emulator.authorized(self.headers.get("Authorization"), match["account"]):
            return self._error(20003, 401)
        if "sid" in match.groupdict():
            return self._fetch(match["account"], match["sid"])
        return self._list(match["account"], path, query)

    def do_POST(self) -> None:
        path, _query = self._target()
        if path.startswith("/_emulator/"):
            return self._control_post(path)
        match = MESSAGES.match(path)
        if match is None:
            return self._error(20404, 404)
        if not self.emulator.authorized(self.headers.get("Authorization"), match["account"]):
            return self._error(20003, 401)
        return self._create(match["account"])

    def do_DELETE(self) -> None:
        path, _query = self._target()
        if path == "/_emulator/faults":
            self.emulator.faults.clear()
            return self._json(200, {"faults": []})
        return self._error(20404, 404)

    # ------------------------------------------------------------------ Messages API

    def _create(self, account: str) -> None:
        form = {k: v[0] for k, v in parse_qs(self._body().decode(), keep_blank_values=True).items()}
        self.emulator.record_request("create", form.get("To"))
        invalid = validate_create(form)
        if invalid is not None:
            return self._error(invalid, 400)
        fault = self.emulator.faults.take("create", form.get("To"))
        message = None
        with self.emulator.creating():
            if fault is None or fault.creates_message:
                message = self.emulator.book.create(account, form)
                self.emulator.deliverer.schedule(message)
                log.info("created %s to %s", message.sid, message.to)
            if self.emulator.latency > 0:
                time.sleep(self.emulator.latency)  # Twilio's round trip
            if fault is not None and self._answer_fault(fault):
                return
            assert message is not None
            self._json(201, message.to_json())

    def _fetch(self, account: str, sid: str) -> None:
        self.emulator.record_request("fetch", None)
        if self._faulted("fetch", None):
            return
        message = self.emulator.book.get(sid)
        if message is None or message.account_sid != account:
            return self._error(20404, 404)
        self._json(200, message.to_json())

    def _list(self, account: str, path: str, query: str) -> None:
        params = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
        self.emulator.record_request("list", params.get("To"))
        if self._faulted("list", params.get("To")):
            return
        try:
            where = _filter(params)
            size = max(1, min(1000, int(params.get("PageSize", "50"))))
            page = max(0, int(params.get("Page", "0")))
            token = params.get("PageToken", "")
            start = int(token[2:]) if token.startswith("PA") else page * size
        except ValueError as exc:
            return self._error(20001, 400, f"Invalid parameter: {exc}")
        found = self.emulator.book.query(account, where)
        items = found[start : start + size]
        filters = {k: v for k, v in params.items() if k not in ("Page", "PageSize", "PageToken")}

        def uri(page_no: int, offset: int | None = None) -> str:
            values = {**filters, "PageSize": str(size), "Page": str(page_no)}
            if offset is not None:
                values["PageToken"] = f"PA{offset}"
            return f"{path}?{urlencode(values)}"

        more = start + size < len(found)
        self._json(
            200,
            {
                "messages": [m.to_json() for m in items],
                "end": start + len(items) - 1 if items else start,
                "first_page_uri": uri(0),
                "next_page_uri": uri(page + 1, start + size) if more else None,
                "previous_page_uri": uri(page - 1, max(0, start - size)) if page > 0 else None,
                "page": page,
                "page_size": size,
                "start": start,
                "uri": uri(page, start if token else None),
            },
        )

    def _faulted(self, op: str, to: str | None) -> bool:
        fault = self.emulator.faults.take(op, to)  # type: ignore[arg-type]
        return fault is not None and self._answer_fault(fault)

    def _answer_fault(self, fault: Fault) -> bool:
        """Apply a fault to this request; True when it answered (or dropped) the request."""
        if fault.delay > 0:
            time.sleep(fault.delay)
        if fault.drop:
            _reset(self)
            return True
        if fault.malformed:
            self._send(201 if fault.op == "create" else 200, b'{"sid": "SM', "application/json")
            return True
        if fault.is_error:
            status = fault.http_status
            code = fault.code or (20500 if status >= 500 else 20429 if status == 429 else status)
            self._error(code, status, fault.message)
            return True
        return False

    # ------------------------------------------------------------------ control API

    def _control_get(self, path: str) -> None:
        emulator = self.emulator
        if path == "/_emulator/messages":
            return self._json(200, {"messages": emulator.messages()})
        if path == "/_emulator/faults":
            return self._json(200, {"faults": [f.to_json() for f in emulator.faults.pending()]})
        if path == "/_emulator/requests":
            return self._json(
                200, {"requests": emulator.requests(), "peak_creates": emulator.peak_creates}
            )
        if path == "/_emulator/callbacks":
            return self._json(200, {"callbacks": emulator.callbacks()})
        if path == "/_emulator/clock":
            return self._json(200, _clock_json(emulator))
        if path == "/_emulator/health":
            return self._json(200, {"ok": True, "account_sid": emulator.account_sid})
        self._error(20404, 404)

    def _control_post(self, path: str) -> None:
        emulator = self.emulator
        try:
            data = json.loads(self._body() or b"{}")
            if path == "/_emulator/faults":
                items = data if isinstance(data, list) else [data]
                emulator.add_fault(*[Fault.from_json(item) for item in items])
                return self._json(201, {"faults": [f.to_json() for f in emulator.faults.pending()]})
            if path == "/_emulator/reset":
                emulator.reset()
                return self._json(200, {"ok": True})
            if path == "/_emulator/clock":
                if "offset_seconds" in data:
                    emulator.clock.set_offset(timedelta(seconds=float(data["offset_seconds"])))
                else:
                    emulator.set_now(check_instant(parse_date_filter(str(data["now"]))))
                return self._json(200, _clock_json(emulator))
            if path == "/_emulator/inbound":
                status, text, sid = emulator.send_inbound(
                    str(data["from"]),
                    str(data["to"]),
                    str(data["body"]),
                    message_sid=data.get("message_sid"),
                    opt_out_type=data.get("opt_out_type"),
                    url=data.get("url"),
                )
                return self._json(200, {"status": status, "body": text, "message_sid": sid})
        except (ValueError, KeyError, TypeError) as exc:
            return self._json(400, {"error": f"{type(exc).__name__}: {exc}"})
        except OSError as exc:
            return self._json(502, {"error": f"{type(exc).__name__}: {exc}"})
        self._error(20404, 404)

    # ------------------------------------------------------------------ plumbing

    def _target(self) -> tuple[str, str]:
        parts = urlsplit(self.path)
        return parts.path, parts.query

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        self._body_read = length <= MAX_BODY
        return self.rfile.read(min(length, MAX_BODY)) if length > 0 else b""

    def _error(self, code: int, status: int, message: str | None = None) -> None:
        self._json(status, error_body(code, status, message))

    def _json(self, status: int, payload: object) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        if not self._body_read and int(self.headers.get("Content-Length") or 0) > 0:
            self.close_connection = True  # what is left of the request cannot be read as the next
        self._body_read = False
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up (e.g. its timeout ran out during a delay)
            self.close_connection = True


def _filter(params: dict[str, str]) -> MessageFilter:
    before = params.get("DateSent<")
    sent_before = parse_date_filter(before) if before else None
    if before and sent_before is not None and len(before.strip()) == 10:  # a day: all of it
        sent_before += timedelta(days=1) - timedelta(microseconds=1)
    return MessageFilter(
        to=params.get("To") or None,
        from_=params.get("From") or None,
        sent_after=parse_date_filter(params["DateSent>"]) if params.get("DateSent>") else None,
        sent_before=sent_before,
        sent_on=parse_date_filter(params["DateSent"]) if params.get("DateSent") else None,
    )


def _clock_json(emulator: TwilioEmulator) -> dict[str, object]:
    return {
        "now": emulator.now().isoformat(),
        "offset_seconds": emulator.clock.offset.total_seconds(),
    }


def _reset(handler: BaseHTTPRequestHandler) -> None:
    """Close the client's connection abruptly (RST), without an answer."""
    handler.close_connection = True
    try:
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.connection.close()
    except OSError:
        pass
