"""Rules of the state under any sequence of operations (hypothesis, on a real SQLite file and
a real PostgreSQL database):
the balance is the ledger's sum and never negative, a debit stays only for a sent or
in-flight attempt, no step is recorded twice, and the counters agree with the rows."""

from __future__ import annotations

import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from campaignctl.providers.base import Outcome
from campaignctl.store import SendBlocked, Store
from tests.postgres import Server
from tests.store.helpers import T0, active_campaign, contact, phone

PHONES = [phone(i) for i in range(5)]
CAMPAIGNS = ["c1", "c2"]
OUTCOMES = ["sent", "retry", "unknown", "opted_out", "rejected", "failed", "auth_failed"]


class StateMachine(RuleBasedStateMachine):
    server: Server | None = None  # PostgreSQL's, when the machine runs on it

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="campaignctl-rules-"))
        self.url = self.server.create_database() if self.server else None
        self.store = Store.open(self.url or self.dir / "state.db")
        self.now = T0
        self.added = 0

    @initialize()
    def campaigns(self) -> None:
        for name in CAMPAIGNS:
            active_campaign(self.store, name, f"g-{name}")

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        if self.server and self.url:
            self.server.drop_database(self.url)

    def tick(self) -> None:
        self.now += timedelta(minutes=15)

    @rule(amount=st.integers(1, 6))
    def top_up(self, amount: int) -> None:
        self.store.add_credits(amount, None, self.now)
        self.added += amount

    @rule(campaign=st.sampled_from(CAMPAIGNS), numbers=st.sets(st.sampled_from(PHONES), max_size=3))
    def enroll(self, campaign: str, numbers: set[str]) -> None:
        self.store.enroll_many(campaign, [contact(n) for n in sorted(numbers)], self.now)

    @rule(campaign=st.sampled_from(CAMPAIGNS), number=st.sampled_from(PHONES),
          credits=st.integers(0, 4), skip=st.integers(0, 1))  # fmt: skip
    def intent(self, campaign: str, number: str, credits: int, skip: int) -> None:
        self.tick()
        steps = [e.steps_sent for e in self.store.enrollments_of(number) if e.campaign == campaign]
        step = (steps[0] if steps else 0) + 1 + skip
        balance = self.store.balance()
        try:
            self.store.record_intent(
                campaign=campaign, phone=number, step=step, body="b", segments=1,
                credits=credits, sender_key="+15125550100", provider="outbox", now=self.now,
            )  # fmt: skip
        except SendBlocked:
            assert self.store.balance() == balance

    @rule(
        pick=st.integers(0, 10), status=st.sampled_from(OUTCOMES), wait=st.sampled_from([None, 30])
    )
    def outcome(self, pick: int, status: str, wait: int | None) -> None:
        flying = self.store.in_flight()
        if flying:
            self.tick()
            attempt = flying[pick % len(flying)]
            self.store.record_outcome(attempt.id, Outcome(status), self.now, wait)  # type: ignore[arg-type]

    @rule(number=st.sampled_from(PHONES))
    def opt_out(self, number: str) -> None:
        self.store.add_optout(number, "sms", None, self.now)

    @rule(number=st.sampled_from(PHONES))
    def opt_in(self, number: str) -> None:
        self.store.remove_optout(number, "START", "sms", self.now)

    @invariant()
    def balance_is_the_ledger(self) -> None:
        conn = self.store._conn
        total = conn.execute("SELECT coalesce(sum(amount), 0) FROM ledger").fetchone()[0]
        held = conn.execute(
            "SELECT coalesce(sum(credits), 0) FROM attempts"
            " WHERE status IN ('pending', 'unknown', 'sent')"
        ).fetchone()[0]
        assert self.store.balance() == total == self.added - held
        assert total >= 0

    @invariant()
    def no_step_twice_and_steps_match(self) -> None:
        conn = self.store._conn
        rows = conn.execute(
            "SELECT campaign, phone, step, count(*) FROM attempts"
            " WHERE status IN ('pending', 'unknown', 'sent') GROUP BY 1, 2, 3"
        ).fetchall()
        assert all(n == 1 for *_, n in rows)
        for campaign, number, steps_sent in conn.execute(
            "SELECT campaign, phone, steps_sent FROM enrollments"
        ).fetchall():
            sent = [r[0] for r in conn.execute(
                "SELECT step FROM attempts WHERE campaign = ? AND phone = ? AND status = 'sent'"
                " ORDER BY step", [campaign, number])]  # fmt: skip
            assert sent == list(range(1, steps_sent + 1))

    @invariant()
    def live_counts_match(self) -> None:
        rows = {r.name: r.live for r in self.store.campaign_status_rows()}
        counted = {c: 0 for c in CAMPAIGNS}
        counted.update(dict(self.store._conn.execute(
            "SELECT campaign, count(*) FROM enrollments WHERE status = 'live' GROUP BY campaign"
        ).fetchall()))  # fmt: skip
        snapshot_counts = {
            name: state.live_enrollments
            for name, state in self.store.snapshot(_EMPTY, self.now).campaigns.items()
        }
        assert rows == counted == snapshot_counts


from tests.store.helpers import desired  # noqa: E402

_EMPTY = desired({}, {})

StateMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=30, deadline=None)
test_state_rules = StateMachine.TestCase


class PostgresStateMachine(StateMachine):
    pass


def test_state_rules_on_postgresql(postgres_server: Server) -> None:
    PostgresStateMachine.server = postgres_server
    run_state_machine_as_test(
        PostgresStateMachine, settings=settings(max_examples=20, stateful_step_count=30)
    )
