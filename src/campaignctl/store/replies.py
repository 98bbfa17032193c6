"""The replies: every incoming SMS kept with what it did, and the outbox of their forwards.

A reply is written by the webhook's own transaction (inbound.py calls `record_reply`), with
its forward row: one row per reply, pending until a receiver at `replies.forwardUrl`
answered 2xx. The webhook server does not read the configuration, so every reply gets a
forward row; the controller, which does, forwards the pending ones while a URL is set
(controller/forward.py) and keeps each one's attempts, backoff and last error in its row.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

from campaignctl.store.db import StoreBase, from_text, opt_from_text, to_text
from campaignctl.store.dialect import Conn
from campaignctl.store.records import HistoryEvent

Did = Literal["opted_out", "opted_in", "help", "ended", "kept", "review", "wrong_number"]
"""What a reply did: opted the number out or back in, asked for help, ended its sequence
(stopOnReply), nothing (kept); `review` and `wrong_number` for replies whose words are
read as such."""

DIDS: tuple[Did, ...] = get_args(Did)

# what an incoming message's kind did, when the kind alone says it
_DID_OF_KIND: dict[str, Did] = {
    "opt_out": "opted_out",
    "opt_in": "opted_in",
    "help": "help",
    "review": "review",
    "wrong_number": "wrong_number",
}

_COLUMNS = (
    "r.id, r.received_at, r.phone, r.sender, r.body, r.message_sid, r.campaign, r.step,"
    " r.did, r.keyword, f.forwarded_at, f.attempts, f.last_error, f.next_attempt_at"
)
_FROM = "FROM replies r LEFT JOIN reply_forwards f ON f.reply_id = r.id"


@dataclass(frozen=True)
class Reply:
    """One incoming SMS as kept, with where its forward stands."""

    id: int
    received_at: datetime
    phone: str  # who wrote
    sender: str | None  # our number it was sent to
    body: str
    message_sid: str
    campaign: str | None
    step: int | None
    did: Did
    keyword: str | None = None
    forwarded_at: datetime | None = None
    forward_attempts: int = 0
    forward_error: str | None = None
    next_attempt_at: datetime | None = None


@dataclass(frozen=True)
class ForwardBacklog:
    """The replies not forwarded yet, and how the last failed attempt among them went."""

    pending: int
    failing: int  # of them, tried at least once
    last_error: str | None


def did_of(kind: str, ended: bool) -> Did:
    """What a message of this kind did; a plain reply ended its sequence, or nothing."""
    found = _DID_OF_KIND.get(kind)
    if found is not None:
        return found
    return "ended" if ended else "kept"


def _reply(row: Any) -> Reply:
    return Reply(
        id=int(row[0]),
        received_at=from_text(row[1]),
        phone=row[2],
        sender=row[3],
        body=row[4],
        message_sid=row[5],
        campaign=row[6],
        step=row[7],
        did=row[8],
        keyword=row[9],
        forwarded_at=opt_from_text(row[10]),
        forward_attempts=int(row[11] or 0),
        forward_error=row[12],
        next_attempt_at=opt_from_text(row[13]),
    )


def attributed(conn: Conn, phone: str) -> tuple[str | None, int | None]:
    """Inside a transaction, before the reply changes anything: the campaign the number was
    in (its live enrollment, else the one last messaged, else the last enrolled) and the
    last step sent to it there (None before the first)."""
    row = conn.execute(
        "SELECT campaign, steps_sent FROM enrollments WHERE phone = ?"
        " ORDER BY CASE WHEN status = 'live' THEN 0 ELSE 1 END,"
        " coalesce(last_sent_at, enrolled_at) DESC, id DESC LIMIT 1",
        [phone],
    ).fetchone()
    if row is None:
        return None, None
    return str(row[0]), (int(row[1]) or None)


@dataclass(frozen=True)
class IncomingReply:
    """An incoming SMS as the webhook recorded it, for its row."""

    message_sid: str
    phone: str
    sender: str | None
    body: str
    keyword: str | None


def record_reply(
    conn: Conn,
    reply: IncomingReply,
    at: tuple[str | None, int | None],
    did: Did,
    now: datetime,
) -> int:
    """Inside the webhook's write: keep the reply and its pending forward; its id."""
    campaign, step = at
    reply_id = int(
        conn.execute(
            "INSERT INTO replies (received_at, phone, sender, body, message_sid, campaign, step,"
            " did, keyword) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            [to_text(now), reply.phone, reply.sender, reply.body, reply.message_sid, campaign,
             step, did, reply.keyword],
        ).fetchone()[0]
    )  # fmt: skip
    conn.execute("INSERT INTO reply_forwards (reply_id) VALUES (?)", [reply_id])
    return reply_id


def reply_counts(conn: Conn) -> Counter[str]:
    """Inside a read: replies per campaign (the campaign they were attributed to)."""
    return Counter(
        {
            str(campaign): int(n)
            for campaign, n in conn.execute(
                "SELECT campaign, count(*) FROM replies WHERE campaign IS NOT NULL"
                " GROUP BY campaign"
            )
        }
    )


def reply_history(conn: Conn, phone: str) -> list[HistoryEvent]:
    """Inside a read: the number's replies as `explain` lists them (what: what it did;
    detail: the text)."""
    return [
        HistoryEvent(from_text(at), "reply", campaign, did, step, detail=body)
        for at, campaign, step, did, body in conn.execute(
            "SELECT received_at, campaign, step, did, body FROM replies WHERE phone = ?"
            " ORDER BY id",
            [phone],
        )
    ]


class RepliesMixin(StoreBase):
    """Reading the replies, and the forwarder's side of their outbox."""

    def replies(
        self,
        *,
        campaign: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        did: str | None = None,
        phone: str | None = None,
        limit: int | None = None,
    ) -> list[Reply]:
        """The replies received in [since, until), newest first, filtered."""
        where: list[str] = []
        params: list[object] = []
        for column, op, value in (
            ("r.campaign", "=", campaign),
            ("r.received_at", ">=", None if since is None else to_text(since)),
            ("r.received_at", "<", None if until is None else to_text(until)),
            ("r.did", "=", did),
            ("r.phone", "=", phone),
        ):
            if value is not None:
                where.append(f"{column} {op} ?")
                params.append(value)
        sql = f"SELECT {_COLUMNS} {_FROM}"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY r.received_at DESC, r.id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        with self._read() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [_reply(row) for row in rows]

    def forwards_due(self, now: datetime, limit: int) -> list[Reply]:
        """The replies whose forward is due at `now` (never tried, or its backoff over),
        oldest first."""
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} {_FROM} WHERE f.forwarded_at IS NULL"
                " AND (f.next_attempt_at IS NULL OR f.next_attempt_at <= ?)"
                " ORDER BY f.reply_id LIMIT ?",
                [to_text(now), limit],
            ).fetchall()
        return [_reply(row) for row in rows]

    def forward_accepted(self, reply_id: int, url: str, now: datetime) -> bool:
        """The receiver answered 2xx: the forward is done. False when it already was."""
        with self._write(bump=False) as conn:
            cursor = conn.execute(
                "UPDATE reply_forwards SET attempts = attempts + 1, last_attempt_at = ?,"
                " forwarded_at = ?, forwarded_to = ?, last_error = NULL, next_attempt_at = NULL"
                " WHERE reply_id = ? AND forwarded_at IS NULL",
                [to_text(now), to_text(now), url, reply_id],
            )
            return cursor.rowcount == 1

    def forward_failed(
        self, reply_id: int, error: str, next_attempt_at: datetime, now: datetime
    ) -> None:
        """An attempt failed: kept with its error, and the time of the next one."""
        with self._write(bump=False) as conn:
            conn.execute(
                "UPDATE reply_forwards SET attempts = attempts + 1, last_attempt_at = ?,"
                " last_error = ?, next_attempt_at = ? WHERE reply_id = ? AND forwarded_at IS NULL",
                [to_text(now), error, to_text(next_attempt_at), reply_id],
            )

    def forward_backlog(self) -> ForwardBacklog:
        """How many replies wait to be forwarded, and the last error among them."""
        with self._read() as conn:
            pending, failing = conn.execute(
                "SELECT count(*), sum(CASE WHEN attempts > 0 THEN 1 ELSE 0 END)"
                " FROM reply_forwards WHERE forwarded_at IS NULL"
            ).fetchone()
            row = conn.execute(
                "SELECT last_error FROM reply_forwards WHERE forwarded_at IS NULL"
                " AND last_error IS NOT NULL ORDER BY last_attempt_at DESC LIMIT 1"
            ).fetchone()
        return ForwardBacklog(int(pending), int(failing or 0), None if row is None else row[0])
