"""Replies that revoke consent in other words, the numbers held for review, and wrong numbers.

A reply that is not a keyword is classified (core.revocation) and recorded here, inside the
webhook's one transaction (store/inbound.py calls `record_classified_reply`):

    revoke        the number opts out (source sms, the words in the note), every live
                  enrollment of it ends (opted_out), any hold of it is closed
    wrong_number  the number joins `wrong_numbers`: every live enrollment of it ends
                  (wrong_number) and no campaign enrolls it again
    review        the number is held (`review_holds`): nothing is sent to it, by any
                  campaign, until a person decides with `campaignctl replies review`
    none          an ordinary reply: the sequences it stops end (replied)

A hold is decided once (keep: sending goes on; optout: the number opts out), with the
reason and the time kept; a number has at most one open hold (a partial unique index).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from campaignctl.core.revocation import Verdict
from campaignctl.errors import StateError
from campaignctl.store.commands import end_replied, insert_optout
from campaignctl.store.db import StoreBase, from_text, opt_from_text, to_text
from campaignctl.store.dialect import Conn
from campaignctl.store.writes import end_live

Decision = Literal["keep", "optout"]
DECISIONS: tuple[Decision, ...] = ("keep", "optout")
ReplyDid = Literal["opted_out", "wrong_number", "review", "ended", "kept"]

HOLD_COLUMNS = "phone, since, text, verdict, decided_at, decision, reason"


@dataclass(frozen=True)
class ReplyHandled:
    """What recording a classified reply did: `did` names it (for the kept reply),
    `changed` when an opt-out, a hold or a wrong number was added, and the campaigns whose
    enrollment of the number ended."""

    did: ReplyDid
    changed: bool
    ended: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReviewHold:
    """A number held from every send because a reply may revoke consent."""

    phone: str
    since: datetime
    text: str  # the reply
    verdict: str  # what the classifier matched, e.g. "not-interested: 'not interested'"
    decided_at: datetime | None = None
    decision: Decision | None = None
    reason: str | None = None


@dataclass(frozen=True)
class WrongNumber:
    """A number whose owner said we have the wrong number: never enrolled again."""

    phone: str
    at: datetime
    text: str | None


def record_classified_reply(
    conn: Conn, phone: str, text: str, verdict: Verdict, at: datetime
) -> ReplyHandled:
    """Inside the webhook's write: what a classified reply does to the number (see the
    module's note). The caller marks the event processed and bumps the serial on a change."""
    said = f"{verdict.rule}: {verdict.phrase!r}" if verdict.phrase else str(verdict.rule)
    if verdict.kind == "revoke":
        changed = insert_optout(conn, phone, "sms", f"revoked in other words ({said})", at)
        _close_hold(conn, phone, "optout", "revoked by SMS", at)
        ended = end_live(conn, "phone = ?", [phone], "opted_out", at)
        return ReplyHandled("opted_out", changed, tuple(ended))
    if verdict.kind == "wrong_number":
        cursor = conn.execute(
            "INSERT INTO wrong_numbers (phone, at, text, verdict) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (phone) DO NOTHING",
            [phone, to_text(at), text, said],
        )
        ended = end_live(conn, "phone = ?", [phone], "wrong_number", at)
        return ReplyHandled("wrong_number", cursor.rowcount == 1, tuple(ended))
    ended = end_replied(conn, phone, "replied", at)
    if verdict.kind == "review":
        cursor = conn.execute(
            "INSERT INTO review_holds (phone, since, text, verdict) VALUES (?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            [phone, to_text(at), text, said],
        )
        return ReplyHandled("review", cursor.rowcount == 1, tuple(ended))
    return ReplyHandled("ended" if ended else "kept", False, tuple(ended))


def _close_hold(conn: Conn, phone: str, decision: Decision, reason: str, at: datetime) -> int:
    cursor = conn.execute(
        "UPDATE review_holds SET decided_at = ?, decision = ?, reason = ?"
        " WHERE phone = ? AND decided_at IS NULL",
        [to_text(at), decision, reason, phone],
    )
    return cursor.rowcount


def held_phones(conn: Conn) -> frozenset[str]:
    """The numbers held for review now (for the planner's snapshot)."""
    rows = conn.execute("SELECT phone FROM review_holds WHERE decided_at IS NULL")
    return frozenset(str(row[0]) for row in rows)


def wrong_phones(conn: Conn) -> frozenset[str]:
    """The numbers that are someone else's (for the planner's snapshot)."""
    return frozenset(str(row[0]) for row in conn.execute("SELECT phone FROM wrong_numbers"))


def is_held(conn: Conn, phone: str) -> bool:
    """Inside a transaction: whether the number is held for review now."""
    row = conn.execute(
        "SELECT 1 FROM review_holds WHERE phone = ? AND decided_at IS NULL", [phone]
    ).fetchone()
    return row is not None


def _hold(row: Sequence[object]) -> ReviewHold:
    phone, since, text, verdict, decided_at, decision, reason = row
    return ReviewHold(
        phone=str(phone),
        since=from_text(str(since)),
        text=str(text),
        verdict=str(verdict),
        decided_at=opt_from_text(None if decided_at is None else str(decided_at)),
        decision=None if decision is None else "keep" if decision == "keep" else "optout",
        reason=None if reason is None else str(reason),
    )


class ReviewMixin(StoreBase):
    """The review queue and the wrong numbers, for `campaignctl replies review`."""

    def review_holds(self, *, decided: bool = False) -> list[ReviewHold]:
        """The numbers held now, oldest first; with `decided`, the decided ones too."""
        where = "" if decided else " WHERE decided_at IS NULL"
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {HOLD_COLUMNS} FROM review_holds{where} ORDER BY since, id"
            ).fetchall()
        return [_hold(row) for row in rows]

    def decide(self, phone: str, decision: Decision, reason: str, now: datetime) -> ReviewHold:
        """A person's decision on a held number: keep (sending goes on) or optout (the
        number opts out, its live enrollments end). The reason is required and kept."""
        if decision not in DECISIONS:
            raise StateError(f"a decision is one of {', '.join(DECISIONS)}, not {decision!r}")
        if not reason.strip():
            raise StateError("a decision on a held number needs a reason")
        with self._write() as conn:
            row = conn.execute(
                f"SELECT {HOLD_COLUMNS} FROM review_holds WHERE phone = ? AND decided_at IS NULL",
                [phone],
            ).fetchone()
            if row is None:
                raise StateError(f"{phone} is not held for review")
            _close_hold(conn, phone, decision, reason, now)
            if decision == "optout":
                insert_optout(conn, phone, "manual", f"after review: {reason}", now)
                end_live(conn, "phone = ?", [phone], "opted_out", now)
        held = _hold(row)
        return ReviewHold(held.phone, held.since, held.text, held.verdict, now, decision, reason)

    def wrong_numbers(self) -> list[WrongNumber]:
        """Every number reported as a wrong number, oldest first."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT phone, at, text FROM wrong_numbers ORDER BY at, phone"
            ).fetchall()
        return [WrongNumber(str(p), from_text(str(at)), None if t is None else str(t))
                for p, at, t in rows]  # fmt: skip
