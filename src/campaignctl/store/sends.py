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
from campaignctl.store.dialect import Conn, in_chunks
from campaignctl.store.records import AttemptRecord, Intent, Landed
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


class _SendFacts:
    """What the state says of the numbers of a round of intents, read in a few statements
    inside its transaction; `check` keeps it up to date as each intent is recorded."""

    def __init__(self, conn: Conn, intents: Sequence[Intent]) -> None:
        self.suspended, self.balance = conn.execute(
            "SELECT suspended_reason, balance FROM meta WHERE id = 1"
        ).fetchone()
        phones = sorted({i.phone for i in intents})

        def rows(sql: str) -> list[Any]:
            return list(in_chunks(conn, sql, (), phones))

        self.opted = {r[0] for r in rows("SELECT phone FROM optouts WHERE phone IN ({marks})")}
        self.held = {
            r[0]
            for r in rows(
                "SELECT phone FROM review_holds WHERE decided_at IS NULL AND phone IN ({marks})"
            )
        }
        self.enrollments = {
            (r[0], r[1]): (r[2], int(r[3]))
            for r in rows(
                "SELECT campaign, phone, status, steps_sent FROM enrollments"
                " WHERE phone IN ({marks})"
            )
        }
        self.taken = {
            (r[0], r[1], int(r[2])): (int(r[3]), r[4])
            for r in rows(
                "SELECT campaign, phone, step, id, status FROM attempts"
                " WHERE status IN ('pending', 'unknown', 'sent') AND phone IN ({marks})"
            )
        }

    def check(self, i: Intent) -> None:
        """The state's last line of defence, in the intent's own transaction: raises
        SendBlocked when the state forbids the send; else counts it (its debit, its step
        taken) for the intents after it."""
        who = f"{i.campaign} {i.phone} step {i.step}"
        if self.suspended is not None:
            raise SendBlocked(
                f"not sending {who}: all sending is suspended ({self.suspended})", "suspended"
            )
        if i.phone in self.opted:
            raise SendBlocked(f"not sending {who}: the number opted out", "opted_out")
        if i.phone in self.held:
            raise SendBlocked(
                f"not sending {who}: a reply of the number is held for review", "held"
            )
        enrollment = self.enrollments.get((i.campaign, i.phone))
        if enrollment is None or enrollment[0] != "live":
            state = "not enrolled" if enrollment is None else f"enrollment {enrollment[0]}"
            raise SendBlocked(f"not sending {who}: {state}", "not_live")
        taken = self.taken.get((i.campaign, i.phone, i.step))
        if taken is not None or i.step != enrollment[1] + 1:
            what = f"attempt {taken[0]} is {taken[1]}" if taken else f"{enrollment[1]} steps sent"
            raise SendBlocked(f"not sending {who}: {what}", "step_taken")
        if i.credits > self.balance:
            raise SendBlocked(
                f"not sending {who}: it costs {i.credits} credits, the balance is {self.balance}",
                "insufficient_credits",
            )
        self.balance -= i.credits
        self.taken[(i.campaign, i.phone, i.step)] = (0, "pending")


def _record_intents(conn: Conn, intents: Sequence[Intent]) -> list[int | SendBlocked]:
    """Inside a write: check each send in turn, record the attempts allowed (pending) and
    debit their credits, in a few statements whatever their number."""
    facts = _SendFacts(conn, intents)
    refused: list[SendBlocked | None] = []  # each intent's refusal, or None: recorded
    allowed: list[Intent] = []
    for intent in intents:
        try:
            facts.check(intent)
        except SendBlocked as exc:
            refused.append(exc)
            continue
        refused.append(None)
        allowed.append(intent)
    if not allowed:
        return [exc for exc in refused if exc is not None]
    rows = [
        [i.campaign, i.phone, i.step, i.body, i.segments, i.credits, i.sender_key, i.provider,
         to_text(i.now), to_text(i.now)]
        for i in allowed
    ]  # fmt: skip
    # one statement: the ids come back keyed by (campaign, phone, step), whatever their order
    values = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)"] * len(rows))
    ids = {
        (r[1], r[2], int(r[3])): int(r[0])
        for r in conn.execute(
            "INSERT INTO attempts (campaign, phone, step, body, segments, credits,"
            f" sender_key, provider, status, created_at, updated_at) VALUES {values}"
            " RETURNING id, campaign, phone, step",
            [value for row in rows for value in row],
        ).fetchall()
    }
    debits = [
        [to_text(i.now), -i.credits, f"{i.campaign} step {i.step} to {i.phone}",
         ids[(i.campaign, i.phone, i.step)]]
        for i in allowed
    ]  # fmt: skip
    conn.execute(
        "INSERT INTO ledger (at, amount, note, attempt_id) VALUES "
        + ", ".join(["(?, ?, ?, ?)"] * len(debits)),
        [value for row in debits for value in row],
    )
    return [
        ids[(i.campaign, i.phone, i.step)] if exc is None else exc
        for i, exc in zip(intents, refused, strict=True)
    ]


def _record_outcomes(conn: Conn, landed: Sequence[Landed]) -> None:
    """Inside a write: what the provider said of each attempt (see `record_outcome`), in a
    few statements whatever their number."""
    sql = f"SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE id IN ({{marks}})"
    ids = [one.attempt_id for one in landed]
    rows = {int(r[0]): r for r in in_chunks(conn, sql, (), ids)}
    statuses: list[list[Any]] = []
    refunds: list[list[Any]] = []
    waits: list[list[Any]] = []
    last: list[list[Any]] = []
    phones: list[list[Any]] = []
    ending: list[tuple[AttemptRecord, Landed]] = []  # opted out, rejected: rare
    given: dict[int, str] = {}  # attempt -> the status this round gives it
    for one in landed:
        row = rows.get(one.attempt_id)
        if row is None:
            raise StateError(f"no send attempt {one.attempt_id} in the state")
        attempt = attempt_from_row(row)
        had = given.get(one.attempt_id, attempt.status)
        if had not in ("pending", "unknown") or one.attempt_id in given:
            raise StateError(f"send attempt {one.attempt_id} already has the outcome {had}")
        outcome, at = one.outcome, to_text(one.now)
        status = {"sent": "sent", "unknown": "unknown", "retry": "retry"}.get(
            outcome.status, "retry" if outcome.status == "auth_failed" else "failed"
        )
        given[one.attempt_id] = status
        statuses.append([status, outcome.provider_id, outcome.error_code, outcome.detail,
                         outcome.segments, at, one.attempt_id])  # fmt: skip
        if status in ("retry", "failed") and attempt.credits:
            refunds.append([at, attempt.credits, f"refund: {outcome.status}", one.attempt_id])
        key = [attempt.campaign, attempt.phone]
        if outcome.status == "sent":
            if one.next_wait_days is None:  # the last step: the enrollment is done
                last.append([attempt.step, at, *key])
            else:
                due = to_text(one.now + timedelta(days=one.next_wait_days))
                waits.append([attempt.step, at, due, due, *key])
            phones.append([attempt.phone, at])
        elif outcome.status in ("opted_out", "rejected", "failed"):
            ending.append((attempt, one))
    conn.executemany(
        "UPDATE attempts SET status = ?, provider_id = coalesce(?, provider_id),"
        " error_code = ?, detail = ?, billed_segments = ?, updated_at = ? WHERE id = ?",
        statuses,
    )
    if refunds:
        conn.executemany(
            "INSERT INTO ledger (at, amount, note, attempt_id) VALUES (?, ?, ?, ?)", refunds
        )
    if waits:  # the common case: the step counts, the next one waits
        conn.executemany(
            "UPDATE enrollments SET steps_sent = max(steps_sent, ?), last_sent_at = ?,"
            " next_due_at = ?, next_at = ? WHERE campaign = ? AND phone = ?",
            waits,
        )
    if last:
        conn.executemany(
            "UPDATE enrollments SET steps_sent = max(steps_sent, ?), last_sent_at = ?"
            " WHERE campaign = ? AND phone = ?",
            last,
        )
        conn.executemany(
            "UPDATE enrollments SET status = 'done', ended_at = ?"
            " WHERE campaign = ? AND phone = ? AND +status = 'live'",
            [row[1:] for row in last],
        )
    if phones:
        conn.executemany(
            "INSERT INTO phones (phone, last_sent_at) VALUES (?, ?) ON CONFLICT (phone)"
            " DO UPDATE SET last_sent_at = max(phones.last_sent_at, excluded.last_sent_at)",
            phones,
        )
    for attempt, one in ending:
        _ended_by(conn, attempt, one)


def _ended_by(conn: Conn, attempt: AttemptRecord, landed: Landed) -> None:
    """Inside a write: a number opted out (its live enrollments ended), or one the provider
    rejected (this enrollment ended: provider_rejected)."""
    outcome, now, at = landed.outcome, landed.now, to_text(landed.now)
    if outcome.status == "opted_out":
        note = f"provider error {outcome.error_code}"
        conn.execute(
            "INSERT INTO optouts (phone, at, source, note) VALUES (?, ?, 'provider', ?)"
            " ON CONFLICT (phone) DO NOTHING",
            [attempt.phone, at, note],
        )
        conn.execute(
            "INSERT INTO optout_history (phone, at, action, source, reason)"
            " VALUES (?, ?, 'add', 'provider', ?)",
            [attempt.phone, at, note],
        )
        end_live(conn, "phone = ?", [attempt.phone], "opted_out", now)
    else:
        key = [attempt.campaign, attempt.phone]
        end_live(conn, "campaign = ? AND phone = ?", key, "provider_rejected", now)


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
            if landed:
                _record_outcomes(conn, landed)
            if intents:
                recorded = _record_intents(conn, intents)
        return recorded

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
