"""Text, JSON and CSV output of `campaignctl replies`.

Text is for reading (one line a reply, its text on one line and cut short); JSON and CSV
carry every reply whole, with where its forward stands. A CSV cell of text that a
spreadsheet would run as a formula (starting with =, +, -, @, a tab or a carriage return)
is written with a leading apostrophe: the text is written by whoever sent the SMS.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from campaignctl.render.status import NONE, _json, _t, table
from campaignctl.store.replies import ForwardBacklog, Reply

TEXT_WIDTH = 80  # characters of a reply shown in a line of text
CSV_COLUMNS = ("received_at", "from", "to", "campaign", "step", "did", "keyword", "text",
               "message_sid", "id", "forwarded_at")  # fmt: skip
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def one_line(text: str, width: int = TEXT_WIDTH) -> str:
    """A reply's text on one line, cut at `width` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1].rstrip() + "…"


def _forward_json(reply: Reply) -> dict[str, Any]:
    return {
        "forwarded_at": _t(reply.forwarded_at),
        "attempts": reply.forward_attempts,
        "last_error": reply.forward_error,
        "next_attempt_at": _t(reply.next_attempt_at),
    }


def reply_json(reply: Reply) -> dict[str, Any]:
    return {
        "id": reply.id,
        "received_at": _t(reply.received_at),
        "from": reply.phone,
        "to": reply.sender,
        "campaign": reply.campaign,
        "step": reply.step,
        "did": reply.did,
        "keyword": reply.keyword,
        "text": reply.body,
        "message_sid": reply.message_sid,
        "forward": _forward_json(reply),
    }


def replies_json(replies: Sequence[Reply]) -> str:
    return _json({"replies": [reply_json(r) for r in replies], "count": len(replies)})


def _cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def replies_csv(replies: Sequence[Reply]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180: a lone CR or LF is quoted
    writer.writerow(CSV_COLUMNS)
    for r in replies:
        writer.writerow(
            [_t(r.received_at), r.phone, r.sender or "", r.campaign or "",
             "" if r.step is None else r.step, r.did, r.keyword or "", _cell(r.body),
             r.message_sid, r.id, _t(r.forwarded_at) or ""]
        )  # fmt: skip
    return out.getvalue().removesuffix("\r\n")


def _backlog_text(backlog: ForwardBacklog | None) -> str | None:
    """A line when forwarding fails (replies tried and not accepted); None otherwise."""
    if backlog is None or not backlog.failing:
        return None
    plural = "replies wait" if backlog.pending != 1 else "reply waits"
    error = f"; last error: {backlog.last_error}" if backlog.last_error else ""
    return (
        f"Forwarding: {backlog.pending} {plural} to be forwarded ({backlog.failing} tried{error})"
    )


def replies_text(
    replies: Sequence[Reply], filtered: bool = False, backlog: ForwardBacklog | None = None
) -> str:
    lines: list[str] = []
    if replies:
        rows = [
            (_t(r.received_at), r.phone, r.campaign, r.step, r.did, one_line(r.body) or NONE)
            for r in replies
        ]
        lines.append(table(("TIME", "FROM", "CAMPAIGN", "STEP", "DID", "TEXT"), rows))
        lines.append(f"{len(replies)} repl{'y' if len(replies) == 1 else 'ies'}")
    else:
        lines.append("No replies match." if filtered else "No replies yet.")
    footer = _backlog_text(backlog)
    if footer is not None:
        lines.append(footer)
    return "\n".join(lines)
