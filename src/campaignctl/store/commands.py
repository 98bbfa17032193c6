"""Writes from the state commands: credits, opt-outs, suspend, ending sequences, and the
outbox provider's messages. None of them takes the lease: each is one short transaction of
its own. (The webhooks record each event in one transaction: inbound.py.)"""

from __future__ import annotations

from datetime import datetime

from campaignctl.errors import StateError
from campaignctl.providers.base import OutgoingMessage
from campaignctl.store.codec import launch_value
from campaignctl.store.db import StoreBase, from_text, to_text
from campaignctl.store.dialect import Conn
from campaignctl.store.records import OPTOUT_SOURCES, OutboxRecord
from campaignctl.store.writes import end_live

OUTBOX_COLUMNS = 'id, attempt_id, at, campaign, "to", sender, step, body'


# a number's live enrollments in the campaigns launched with stopOnReply (the default)
def _source(source: str) -> str:
    if source not in OPTOUT_SOURCES:
        raise ValueError(f"opt-out source must be one of {', '.join(OPTOUT_SOURCES)}")
    return source


def insert_optout(conn: Conn, phone: str, source: str, note: str | None, now: datetime) -> bool:
    """Inside a write: opt a number out, with its history row; False when it already was."""
    at = to_text(now)
    cursor = conn.execute(
        "INSERT INTO optouts (phone, at, source, note) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (phone) DO NOTHING",
        [phone, at, _source(source), note],
    )
    if cursor.rowcount == 0:
        return False
    conn.execute(
        "INSERT INTO optout_history (phone, at, action, source, reason) VALUES (?, ?, 'add', ?, ?)",
        [phone, at, source, note],
    )
    return True


def delete_optout(conn: Conn, phone: str, source: str, reason: str, now: datetime) -> bool:
    """Inside a write: lift a number's opt-out, with its history row; False when it was not
    opted out."""
    cursor = conn.execute("DELETE FROM optouts WHERE phone = ?", [phone])
    if cursor.rowcount == 0:
        return False
    conn.execute(
        "INSERT INTO optout_history (phone, at, action, source, reason)"
        " VALUES (?, ?, 'remove', ?, ?)",
        [phone, to_text(now), _source(source), reason],
    )
    return True


def _stops_on_reply(conn: Conn, campaign: str) -> bool:
    """A reply ends the campaign's sequences: it launched with stopOnReply (the default),
    or has not launched."""
    row = conn.execute("SELECT launch FROM campaigns WHERE name = ?", [campaign]).fetchone()
    if row is None or row[0] is None:
        return True
    value = launch_value(row[0], "stop_on_reply")
    return True if value is None else bool(value)


def end_replied(conn: Conn, phone: str, reason: str, now: datetime) -> list[str]:
    """Inside a write: end the number's live enrollments in the campaigns a reply stops;
    returns those campaigns."""
    live = conn.execute(
        "SELECT DISTINCT campaign FROM enrollments WHERE phone = ? AND +status = 'live'",
        [phone],
    ).fetchall()
    ending = [campaign for (campaign,) in live if _stops_on_reply(conn, campaign)]
    if not ending:
        return []
    marks = ",".join("?" * len(ending))
    return end_live(conn, f"phone = ? AND campaign IN ({marks})", [phone, *ending], reason, now)


def outbox_id(attempt_id: int) -> str:
    """A provider-style message id, derived from the attempt (one outbox row per attempt)."""
    return f"OB{attempt_id:032x}"


class CommandsMixin(StoreBase):
    # ------------------------------------------------------------------ credits

    def add_credits(self, amount: int, note: str | None, now: datetime) -> int:
        """Top up the balance, or correct it (a negative amount, with a note, kept in the
        ledger as `correction: NOTE`; never below zero); returns the new balance."""
        if amount == 0 or (amount < 0 and not (note or "").strip()):
            raise StateError(
                f"credits to add must be a positive whole number (or a negative correction "
                f"with a note saying why), not {amount}"
            )
        with self._write() as conn:
            balance = int(conn.execute("SELECT balance FROM meta WHERE id = 1").fetchone()[0])
            if balance + amount < 0:
                raise StateError(
                    f"the balance is {balance}: a correction of {amount} would leave it below zero"
                )
            conn.execute(
                "INSERT INTO ledger (at, amount, note) VALUES (?, ?, ?)",
                [to_text(now), amount, f"correction: {note}" if amount < 0 else note or "top-up"],
            )
            return balance + amount

    # ------------------------------------------------------------------ opt-outs

    def add_optout(self, phone: str, source: str, note: str | None, now: datetime) -> bool:
        """Opt a number out of everything. Returns False when it already was."""
        with self._write() as conn:
            return insert_optout(conn, phone, source, note, now)

    def remove_optout(self, phone: str, reason: str, source: str, now: datetime) -> bool:
        """Lift an opt-out (the contact's START, or a manual removal with a reason).
        Returns False when the number was not opted out."""
        if not reason.strip():
            raise StateError("lifting an opt-out needs a reason")
        with self._write() as conn:
            return delete_optout(conn, phone, source, reason, now)

    # ------------------------------------------------------------------ suspend

    def suspend(self, reason: str, now: datetime) -> None:
        """Stop all sending until `resume` (kept in the state, survives restarts)."""
        if not reason.strip():
            raise StateError("suspending needs a reason")
        with self._write() as conn:
            conn.execute(
                "UPDATE meta SET suspended_reason = ?, suspended_at = ? WHERE id = 1",
                [reason, to_text(now)],
            )

    def resume(self, now: datetime) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE meta SET suspended_reason = NULL, suspended_at = NULL WHERE id = 1"
            )

    def suspended(self) -> str | None:
        """The reason all sending is suspended, or None."""
        with self._read() as conn:
            row = conn.execute("SELECT suspended_reason FROM meta WHERE id = 1").fetchone()
        return None if row[0] is None else str(row[0])

    def suspended_at(self) -> datetime | None:
        with self._read() as conn:
            row = conn.execute("SELECT suspended_at FROM meta WHERE id = 1").fetchone()
        return None if row[0] is None else from_text(row[0])

    # ------------------------------------------------------------------ webhooks

    def end_live_enrollments(
        self, phone: str, reason: str, now: datetime, only_stop_on_reply: bool = False
    ) -> list[str]:
        """End the number's live enrollments (e.g. it replied); returns their campaigns.
        only_stop_on_reply: only in campaigns launched with stopOnReply (the default)."""
        with self._write() as conn:
            if not only_stop_on_reply:
                return end_live(conn, "phone = ?", [phone], reason, now)
            return end_replied(conn, phone, reason, now)

    # ------------------------------------------------------------------ outbox

    def outbox_add(self, message: OutgoingMessage, now: datetime) -> str:
        """Record a message the outbox provider 'sent'; idempotent per attempt. The provider's
        side, not the state's: its commit does not wait for the disk (the outcome's, after
        it, does; a crash before that loses both, and the look-up then finds nothing sent)."""
        sender = message.from_number or message.messaging_service_sid
        # one statement: the row's id, new or kept (the no-op update returns it)
        row = self._write_one(
            f"INSERT INTO outbox ({OUTBOX_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (attempt_id) DO UPDATE SET id = outbox.id RETURNING id",
            [outbox_id(message.attempt_id), message.attempt_id, to_text(now),
             message.campaign, message.to, sender, message.step, message.body],
        )  # fmt: skip
        return str(row[0])

    def outbox_find(self, attempt_id: int) -> OutboxRecord | None:
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {OUTBOX_COLUMNS} FROM outbox WHERE attempt_id = ?", [attempt_id]
            ).fetchone()
        return None if row is None else _outbox_record(row)

    def outbox(self, limit: int | None = None, campaign: str | None = None) -> list[OutboxRecord]:
        """The outbox, oldest first: all of it, or its last `limit` messages."""
        where, params = ("WHERE campaign = ?", [campaign]) if campaign else ("", [])
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {OUTBOX_COLUMNS} FROM outbox {where} ORDER BY at DESC, attempt_id DESC"
                + ("" if limit is None else " LIMIT ?"),
                [*params] if limit is None else [*params, limit],
            ).fetchall()
        return [_outbox_record(r) for r in reversed(rows)]


def _outbox_record(row: tuple[str, int, str, str, str, str | None, int, str]) -> OutboxRecord:
    return OutboxRecord(
        id=row[0],
        attempt_id=row[1],
        at=from_text(row[2]),
        campaign=row[3],
        to=row[4],
        sender=row[5],
        step=row[6],
        body=row[7],
    )
