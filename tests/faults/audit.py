"""The end-of-scenario check: what the provider holds and what the state says must agree,
every due message exactly once.

Provider side (the emulator's message list): one message per expected number, none to any
other number, its body the one the state recorded. State side: no attempt left in flight,
one `sent` attempt per number for step 1 carrying that message's SID, no step 2 yet, the
enrollment advanced, and the ledger balanced: one debit per attempt, a refund exactly for
the attempts that did not send, the balance equal to the sum.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from tests.faults.tally import TALLY


@dataclass
class Audit:
    checked: int = 0
    duplicates: int = 0  # messages beyond the first to one number
    losses: int = 0  # expected numbers the provider never got a message for
    problems: list[str] = field(default_factory=list)

    def fail(self, text: str) -> None:
        self.problems.append(text)

    @property
    def ok(self) -> bool:
        return not self.problems and not self.duplicates and not self.losses

    def report(self) -> str:
        head = f"checked {self.checked}, duplicates {self.duplicates}, losses {self.losses}"
        return "\n".join([head, *self.problems[:30]])


def audit(
    messages: Iterable[dict[str, Any]],
    state: Path | str,
    expected: Iterable[str],
    *,
    initial_credits: int,
    step_credits: int = 1,
) -> Audit:
    """Compare the provider's messages with the state for the numbers that were due."""
    result = Audit()
    wanted = set(expected)
    by_to: dict[str, list[dict[str, Any]]] = {}
    for message in messages:
        by_to.setdefault(message["to"], []).append(message)
    for to, found in by_to.items():
        if to not in wanted:
            result.fail(f"{to}: {len(found)} message(s) to a number that was not due")
        bodies = Counter(m["body"] for m in found)
        result.duplicates += len(found) - 1
        if len(found) > 1:
            result.fail(f"{to}: {len(found)} messages ({dict(bodies)})")
    for to in sorted(wanted):
        result.checked += 1
        if to not in by_to:
            result.losses += 1
            result.fail(f"{to}: never sent")

    conn: Any
    if str(state).startswith("postgresql:"):  # the same queries on a PostgreSQL state
        conn = psycopg.connect(str(state), autocommit=True)
    else:
        conn = sqlite3.connect(f"{Path(state).resolve().as_uri()}?mode=ro", uri=True)
    try:
        _check_state(conn, by_to, wanted, result, initial_credits, step_credits)
    finally:
        conn.close()
    TALLY.messages_checked += result.checked
    TALLY.duplicates += result.duplicates
    TALLY.losses += result.losses
    return result


def _check_state(
    conn: Any,
    by_to: dict[str, list[dict[str, Any]]],
    wanted: set[str],
    result: Audit,
    initial_credits: int,
    step_credits: int,
) -> None:
    in_flight = conn.execute(
        "SELECT id, phone, status FROM attempts WHERE status IN ('pending', 'unknown')"
    ).fetchall()
    for attempt_id, phone, status in in_flight:
        result.fail(f"{phone}: attempt {attempt_id} still {status}")
    sent: dict[str, list[tuple[int, int, str | None, str]]] = {}
    for attempt_id, phone, step, provider_id, body in conn.execute(
        "SELECT id, phone, step, provider_id, body FROM attempts WHERE status = 'sent'"
    ):
        sent.setdefault(phone, []).append((attempt_id, step, provider_id, body))
    for phone in sorted(wanted):
        rows = sent.get(phone, [])
        if [r[1] for r in rows] != [1]:
            result.fail(f"{phone}: sent attempts for steps {[r[1] for r in rows]}, want [1]")
            continue
        _attempt_id, _step, provider_id, body = rows[0]
        found = by_to.get(phone, [])
        if len(found) == 1 and (found[0]["sid"] != provider_id or found[0]["body"] != body):
            result.fail(
                f"{phone}: the state says {provider_id}, the provider has {found[0]['sid']}"
            )
    for phone in set(sent) - wanted:
        result.fail(f"{phone}: recorded sent but was not due")
    enrollments = dict(
        conn.execute("SELECT phone, steps_sent FROM enrollments WHERE status = 'live'").fetchall()
    )
    for phone in sorted(wanted):
        if enrollments.get(phone) != 1:
            result.fail(f"{phone}: enrollment at {enrollments.get(phone)} steps, want 1 (live)")

    # the ledger: one debit per attempt, a refund exactly for those that did not send
    debits: Counter[int] = Counter()
    refunds: Counter[int] = Counter()
    for attempt_id, amount in conn.execute(
        "SELECT attempt_id, amount FROM ledger WHERE attempt_id IS NOT NULL"
    ):
        (debits if amount < 0 else refunds)[attempt_id] += 1
    for attempt_id, status, credits in conn.execute("SELECT id, status, credits FROM attempts"):
        want_refund = 1 if status in ("retry", "failed") and credits else 0
        if debits[attempt_id] != 1 or refunds[attempt_id] != want_refund:
            result.fail(
                f"attempt {attempt_id} ({status}): {debits[attempt_id]} debit(s), "
                f"{refunds[attempt_id]} refund(s)"
            )
    balance, total = conn.execute(
        "SELECT (SELECT balance FROM meta WHERE id = 1), (SELECT sum(amount) FROM ledger)"
    ).fetchone()
    spent = step_credits * sum(len(rows) for rows in sent.values())
    if balance != total or balance != initial_credits - spent:
        result.fail(f"balance {balance}, ledger sum {total}, want {initial_credits - spent}")
