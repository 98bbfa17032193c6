"""Send attempts: the intent written before the provider call, and its outcome after.

Intent and debit are one transaction; outcome, refund and enrollment progress another (the
executor records, in one, the outcomes of the calls back and the intents of the calls it
is about to make: `record_sends`). A crash between them leaves an attempt 'pending' that
the applier resolves with the provider's lookup, never by sending again: the partial
unique index on (campaign, phone, step) refuses a second pending/unknown/sent attempt for
the same step.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from campaignctl.errors import StateError
from campaignctl.providers.base import Outcome
from campaignctl.store.db import StoreBase, from_text, to_text
from campaignctl.store.dialect import Conn
from campaignctl.store.records import AttemptRecord, Intent, Landed
from campaignctl.store.review import is_held
from campaignctl.store.writes import end_live

# status callback errors that mean the number cannot receive texts (unknown, landline)
UNREACHABLE_NUMBER_CODES = (30005, 30006)

ATTEMPT_COLUMNS = (
    "id, campaign, phone, step, body, segments, credits, sender_key, provider, status,"
    " provider_id, error_code, detail, delivery_status, created_at, updated_at"
)


class SendBlocked(StateError):
    """The state forbids this send now (opted out, suspended, no credits, not due...).

    `reason` is a plan reason where one fits ("opted_out", "suspended",
    "insufficient_credits") or "not_live" / "step_taken".
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def attempt_from_row(row: Any) -> AttemptRecord:
    return AttemptRecord(
        id=row[0],
        campaign=row[1],
        phone=row[2],
        step=row[3],
        body=row[4],
        segments=row[5],
        credits=row[6],
        sender_key=row[7],
        provider=row[8],
        status=row[9],
        provider_id=row[10],
        error_code=row[11],
        detail=row[12],
        delivery_status=row[13],
        created_at=from_text(row[14]),
        updated_at=from_text(row[15]),
    )


def _check_send_allowed(conn: Conn, campaign: str, phone: str, step: int, credits: int) -> None:
    """The state's last line of defence, checked in the intent's own transaction."""
    suspended, balance = conn.execute(
        "SELECT suspended_reason, balance FROM meta WHERE id = 1"
    ).fetchone()
    who = f"{campaign} {phone} step {step}"
    if suspended is not None:
        raise SendBlocked(f"not sending {who}: all sending is suspended ({suspended})", "suspended")
    if conn.execute("SELECT 1 FROM optouts WHERE phone = ?", [phone]).fetchone():
        raise SendBlocked(f"not sending {who}: the number opted out", "opted_out")
    if is_held(conn, phone):
        raise SendBlocked(f"not sending {who}: a reply of the number is held for review", "held")
    enrollment = conn.execute(
        "SELECT status, steps_sent FROM enrollments WHERE campaign = ? AND phone = ?",
        [campaign, phone],
    ).fetchone()
    if enrollment is None or enrollment[0] != "live":
        state = "not enrolled" if enrollment is None else f"enrollment {enrollment[0]}"
        raise SendBlocked(f"not sending {who}: {state}", "not_live")
    taken = conn.execute(
        "SELECT id, status FROM attempts WHERE campaign = ? AND phone = ? AND step = ?"
        " AND status IN ('pending', 'unknown', 'sent')",
        [campaign, phone, step],
    ).fetchone()
    if taken is not None or step != enrollment[1] + 1:
        what = f"attempt {taken[0]} is {taken[1]}" if taken else f"{enrollment[1]} steps sent"
        raise SendBlocked(f"not sending {who}: {what}", "step_taken")
    if credits > balance:
        raise SendBlocked(
            f"not sending {who}: it costs {credits} credits, the balance is {balance}",
            "insufficient_credits",
        )


def _record_intent(conn: Conn, intent: Intent) -> int:
    """Inside a write: check the send, record its attempt (pending), debit its credits."""
    i = intent
    _check_send_allowed(conn, i.campaign, i.phone, i.step, i.credits)
    at = to_text(i.now)
    cursor = conn.execute(
        "INSERT INTO attempts (campaign, phone, step, body, segments, credits,"
        " sender_key, provider, status, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?) RETURNING id",
        [i.campaign, i.phone, i.step, i.body, i.segments, i.credits, i.sender_key, i.provider,
         at, at],
    )  # fmt: skip
    attempt_id = int(cursor.fetchone()[0])
    conn.execute(
        "INSERT INTO ledger (at, amount, note, attempt_id) VALUES (?, ?, ?, ?)",
        [at, -i.credits, f"{i.campaign} step {i.step} to {i.phone}", attempt_id],
    )
    return attempt_id


class SendsMixin(StoreBase):
    def record_intent(
        self,
        *,
        campaign: str,
        phone: str,
        step: int,
        body: str,
        segments: int,
        credits: int,
        sender_key: str,
        provider: str,
        now: datetime,
    ) -> int:
        """Record the attempt (pending) and debit its credits, in one transaction, before
        the provider is called. Raises SendBlocked (a StateError) when the state forbids
        it, including when that step already has a pending/unknown/sent attempt."""
        intent = Intent(campaign, phone, step, body, segments, credits, sender_key, provider, now)
        (recorded,) = self.record_sends((), [intent])
        if isinstance(recorded, SendBlocked):
            raise recorded
        return recorded

    def record_outcome(
        self, attempt_id: int, outcome: Outcome, now: datetime, next_wait_days: int | None
    ) -> None:
        """Record what the provider said about a pending/unknown attempt (one transaction).

        sent: the step counts; the enrollment waits next_wait_days, or is done (None).
        retry / auth_failed: refunded, the enrollment stays due. unknown: stays debited.
        opted_out: refunded, the number opted out, its live enrollments ended.
        rejected / failed: refunded, the enrollment ended (provider_rejected).
        """
        self.record_sends([Landed(attempt_id, outcome, now, next_wait_days)], ())

    def record_sends(
        self, landed: Sequence[Landed], intents: Sequence[Intent]
    ) -> list[int | SendBlocked]:
        """In one transaction: the outcomes of calls that came back (`record_outcome` of
        each), then the intents of the next calls (`record_intent` of each, in turn: each
        sees the debits of those before it). Returns each intent's attempt id, or the
        SendBlocked that refused it (refusing only itself)."""
        recorded: list[int | SendBlocked] = []
        if not landed and not intents:
            return recorded
        with self._write(fenced=True) as conn:
            for one in landed:
                self._record_outcome(conn, one)
            for intent in intents:
                try:
                    recorded.append(_record_intent(conn, intent))
                except SendBlocked as exc:
                    recorded.append(exc)
        return recorded

    def _record_outcome(self, conn: Conn, landed: Landed) -> None:
        attempt_id, outcome, now = landed.attempt_id, landed.outcome, landed.now
        at = to_text(now)
        row = conn.execute(
            f"SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE id = ?", [attempt_id]
        ).fetchone()
        if row is None:
            raise StateError(f"no send attempt {attempt_id} in the state")
        attempt = attempt_from_row(row)
        if attempt.status not in ("pending", "unknown"):
            raise StateError(f"send attempt {attempt_id} already has the outcome {attempt.status}")
        status = {"sent": "sent", "unknown": "unknown", "retry": "retry"}.get(
            outcome.status, "retry" if outcome.status == "auth_failed" else "failed"
        )
        conn.execute(
            "UPDATE attempts SET status = ?, provider_id = coalesce(?, provider_id),"
            " error_code = ?, detail = ?, billed_segments = ?, updated_at = ? WHERE id = ?",
            [status, outcome.provider_id, outcome.error_code, outcome.detail,
             outcome.segments, at, attempt_id],
        )  # fmt: skip
        if status in ("retry", "failed") and attempt.credits:
            conn.execute(
                "INSERT INTO ledger (at, amount, note, attempt_id) VALUES (?, ?, ?, ?)",
                [at, attempt.credits, f"refund: {outcome.status}", attempt_id],
            )
        if outcome.status == "sent":
            self._advance(conn, attempt, now, landed.next_wait_days)
        elif outcome.status == "opted_out":
            conn.execute(
                "INSERT INTO optouts (phone, at, source, note) VALUES (?, ?, 'provider', ?)"
                " ON CONFLICT (phone) DO NOTHING",
                [attempt.phone, at, f"provider error {outcome.error_code}"],
            )
            conn.execute(
                "INSERT INTO optout_history (phone, at, action, source, reason)"
                " VALUES (?, ?, 'add', 'provider', ?)",
                [attempt.phone, at, f"provider error {outcome.error_code}"],
            )
            end_live(conn, "phone = ?", [attempt.phone], "opted_out", now)
        elif outcome.status in ("rejected", "failed"):
            end_live(
                conn,
                "campaign = ? AND phone = ?",
                [attempt.campaign, attempt.phone],
                "provider_rejected",
                now,
            )

    @staticmethod
    def _advance(
        conn: Conn,
        attempt: AttemptRecord,
        now: datetime,
        next_wait_days: int | None,
    ) -> None:
        at = to_text(now)
        key = [attempt.campaign, attempt.phone]
        if next_wait_days is None:
            conn.execute(
                "UPDATE enrollments SET steps_sent = max(steps_sent, ?), last_sent_at = ?"
                " WHERE campaign = ? AND phone = ?",
                [attempt.step, at, *key],
            )
            conn.execute(
                "UPDATE enrollments SET status = 'done', ended_at = ?"
                " WHERE campaign = ? AND phone = ? AND +status = 'live'",
                [at, *key],
            )
        else:  # one statement for the common case: a send is the hot path of an apply
            due = to_text(now + timedelta(days=next_wait_days))
            conn.execute(
                "UPDATE enrollments SET steps_sent = max(steps_sent, ?), last_sent_at = ?,"
                " next_due_at = ?, next_at = ? WHERE campaign = ? AND phone = ?",
                [attempt.step, at, due, due, *key],
            )
        conn.execute(
            "INSERT INTO phones (phone, last_sent_at) VALUES (?, ?) ON CONFLICT (phone)"
            " DO UPDATE SET last_sent_at = max(phones.last_sent_at, excluded.last_sent_at)",
            [attempt.phone, at],
        )

    def in_flight(self) -> list[AttemptRecord]:
        """Attempts whose outcome is not known yet (pending or unknown), oldest first."""
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {ATTEMPT_COLUMNS} FROM attempts"
                # `+id`: read through the partial index of the attempts in flight (a few
                # rows), not the whole table in the order of its ids
                " WHERE status IN ('pending', 'unknown') ORDER BY +id"
            ).fetchall()
        return [attempt_from_row(r) for r in rows]

    def attempt(self, attempt_id: int) -> AttemptRecord | None:
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE id = ?", [attempt_id]
            ).fetchone()
        return None if row is None else attempt_from_row(row)

    def attempt_by_provider_id(self, provider_id: str) -> AttemptRecord | None:
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE provider_id = ?"
                " ORDER BY id DESC LIMIT 1",
                [provider_id],
            ).fetchone()
        return None if row is None else attempt_from_row(row)

    def record_delivery(
        self, attempt_id: int, status: str, error_code: int | None, now: datetime
    ) -> None:
        """A delivery status callback. 30005/30006 (unknown number, landline) end the
        enrollment (provider_rejected). Only that changes what a plan sees, so only that
        increases the serial."""
        with self._write(bump=error_code in UNREACHABLE_NUMBER_CODES) as conn:
            write_delivery(conn, attempt_id, status, error_code, now)


def write_delivery(
    conn: Conn, attempt_id: int, status: str, error_code: int | None, now: datetime
) -> list[str]:
    """Inside a write: an attempt's delivery status; 30005/30006 end its enrollment
    (provider_rejected). Returns the campaigns whose enrollment ended."""
    row = conn.execute("SELECT campaign, phone FROM attempts WHERE id = ?", [attempt_id]).fetchone()
    if row is None:
        raise StateError(f"no send attempt {attempt_id} in the state")
    conn.execute(
        "UPDATE attempts SET delivery_status = ?, error_code = coalesce(?, error_code),"
        " updated_at = ? WHERE id = ?",
        [status, error_code, to_text(now), attempt_id],
    )
    if error_code in UNREACHABLE_NUMBER_CODES:
        return end_live(conn, "campaign = ? AND phone = ?", list(row), "provider_rejected", now)
    return []
