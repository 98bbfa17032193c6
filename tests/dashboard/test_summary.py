"""The page's summary rows (store/summary.py) against the rows they count, on both backends:
after any sequence of writes through the real store (enrollments, sends and their outcomes,
delivery callbacks, replies, opt-outs, ends, credits, copies to another state), after an
older state is migrated, and in what reading them costs as the state grows."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaignctl.providers.base import Outcome
from campaignctl.store import SendBlocked, Store
from campaignctl.store.copy import copy_between
from campaignctl.store.inbound import InboundEvent, StatusEvent
from campaignctl.store.optout_bulk import BulkOptOut
from tests.store.helpers import T0, contact, launch, phone

CAMPAIGNS = ("alpha", "beta")
PHONES = [phone(n) for n in range(6)]
FIRST, LAST = date(2026, 1, 1), date(2026, 12, 31)

# the counts the page shows, taken from the rows themselves
RAW = {
    "enrollments": "SELECT campaign, status, coalesce(end_reason, ''), steps_sent, count(*)"
    " FROM enrollments GROUP BY campaign, status, coalesce(end_reason, ''), steps_sent",
    "attempts": "SELECT campaign, step, status, coalesce(delivery_status, ''), count(*),"
    " sum(credits) FROM attempts GROUP BY campaign, step, status, coalesce(delivery_status, '')",
    "sent_days": "SELECT campaign, substr(created_at, 1, 10), count(*) FROM attempts"
    " WHERE status = 'sent' GROUP BY campaign, substr(created_at, 1, 10)",
    "ledger_days": "SELECT substr(at, 1, 10), sum(amount) FROM ledger GROUP BY substr(at, 1, 10)",
}
SUMMARY = {
    "enrollments": "SELECT campaign, status, end_reason, steps_sent, n FROM summary_enrollments"
    " WHERE n <> 0",
    "attempts": "SELECT campaign, step, status, delivery_status, n, credits FROM summary_attempts"
    " WHERE n <> 0",
    "sent_days": "SELECT campaign, day, n FROM summary_sent_days WHERE n <> 0",
    "ledger_days": "SELECT day, amount FROM summary_ledger_days WHERE amount <> 0",
}


def query(state: str, sql: str) -> list[tuple[Any, ...]]:
    """Rows read straight from the database, not through the store."""
    if state.startswith("postgresql://"):
        with psycopg.connect(state) as conn:
            return [tuple(r) for r in conn.execute(sql).fetchall()]
    with closing(sqlite3.connect(state)) as conn:
        return [tuple(r) for r in conn.execute(sql).fetchall()]


def counted(state: str, queries: dict[str, str]) -> dict[str, set[tuple[Any, ...]]]:
    return {
        name: {tuple(int(v) if isinstance(v, int) else v for v in row) for row in query(state, sql)}
        for name, sql in queries.items()
    }


def assert_summary_matches_rows(state: str) -> None:
    raw = counted(state, RAW)
    raw["ledger_days"] = {row for row in raw["ledger_days"] if row[1] != 0}
    assert counted(state, SUMMARY) == raw
    with Store.open(state, create=False, read_only=True) as store:
        facts = store.dashboard_facts(FIRST, LAST)
    assert {(c, s, r or "", k, n) for c, s, r, k, n in facts.enrollments} == raw["enrollments"]
    assert {(c, k, s, d or "", n, cr) for c, k, s, d, n, cr in facts.attempts} == raw["attempts"]
    assert {(c, d.isoformat(), n) for (c, d), n in facts.sent_per_day.items()} == raw["sent_days"]
    assert {(d.isoformat(), n) for d, n in facts.ledger_per_day.items()} == raw["ledger_days"]


# ------------------------------------------------------------------ random histories

Op = tuple[Any, ...]
campaigns = st.sampled_from(CAMPAIGNS)
numbers = st.integers(0, len(PHONES) - 1)
OPS: st.SearchStrategy[Op] = st.one_of(
    st.tuples(st.just("enroll"), campaigns, st.lists(numbers, min_size=1, max_size=4)),
    st.tuples(
        st.just("send"),
        campaigns,
        numbers,
        st.sampled_from(["sent", "done", "failed", "retry", "unknown", "opted_out", "rejected"]),
    ),
    st.tuples(
        st.just("deliver"),
        st.integers(0, 20),
        st.sampled_from(["queued", "sent", "delivered", "undelivered", "failed"]),
        st.sampled_from([None, 30003, 30005]),
    ),
    st.tuples(
        st.just("reply"),
        numbers,
        st.sampled_from(["Sounds good, thanks", "wrong number", "STOP", "START"]),
    ),
    st.tuples(st.just("optout"), st.lists(numbers, min_size=1, max_size=3)),
    st.tuples(
        st.just("end"),
        campaigns,
        st.lists(numbers, min_size=1, max_size=3),
        st.sampled_from(["removed", "replied", "campaign_completed"]),
    ),
    st.tuples(st.just("credits"), st.integers(1, 5)),
    st.tuples(st.just("later"), st.sampled_from([1, 5, 24, 30])),
    st.tuples(st.just("copy")),
)


@dataclass
class History:
    """A state changed by the real store, one operation at a time."""

    state: str
    new_state: Callable[[], str]
    now: datetime = T0
    sent: list[tuple[int, str]] = field(default_factory=list)  # attempt id, message id
    messages: int = 0

    def run(self, op: Op) -> None:
        kind = op[0]
        if kind == "later":
            self.now += timedelta(hours=op[1])
        elif kind == "copy":
            copied = self.new_state()
            copy_between(self.state, copied)
            self.state = copied
        else:
            with Store.open(self.state) as store:
                getattr(self, f"_{kind}")(store, *op[1:])
        self.now += timedelta(minutes=7)

    def _sid(self) -> str:
        self.messages += 1
        return f"SM{self.messages:032x}"

    def _enroll(self, store: Store, campaign: str, which: list[int]) -> None:
        store.set_campaign_status(campaign, "active", None, self.now, launch())
        store.enroll_many(campaign, [contact(PHONES[n]) for n in dict.fromkeys(which)], self.now)

    def _send(self, store: Store, campaign: str, which: int, outcome: str) -> None:
        number = PHONES[which]
        mine = [e for e in store.enrollments_of(number) if e.campaign == campaign]
        step = mine[0].steps_sent + 1 if mine else 1
        try:
            attempt = store.record_intent(
                campaign=campaign, phone=number, step=step, body="Hi", segments=1,
                credits=step, sender_key="+15125550100", provider="outbox", now=self.now,
            )  # fmt: skip
        except SendBlocked:
            return
        sid = self._sid()
        status = "sent" if outcome == "done" else outcome
        store.record_outcome(attempt, Outcome(status, sid, 30003 if status == "failed" else None),  # type: ignore[arg-type]
                             self.now, None if outcome == "done" else 1)  # fmt: skip
        self.sent.append((attempt, sid))

    def _deliver(self, store: Store, pick: int, status: str, error: int | None) -> None:
        if self.sent:
            attempt, sid = self.sent[pick % len(self.sent)]
            store.record_status(StatusEvent(sid, status, error, attempt), self.now)

    def _reply(self, store: Store, which: int, body: str) -> None:
        kind = {"STOP": "opt_out", "START": "opt_in"}.get(body, "reply")
        event = InboundEvent(self._sid(), PHONES[which], kind, body if kind != "reply" else None,  # type: ignore[arg-type]
                             body, "+15125550100")  # fmt: skip
        store.record_inbound(event, self.now)

    def _optout(self, store: Store, which: list[int]) -> None:
        store.import_optouts(
            [BulkOptOut(PHONES[n], self.now, "manual", None, "optouts.csv:2")
             for n in dict.fromkeys(which)], self.now,
        )  # fmt: skip

    def _end(self, store: Store, campaign: str, which: list[int], reason: str) -> None:
        store.end_enrollments(campaign, [PHONES[n] for n in dict.fromkeys(which)], reason,
                              self.now)  # fmt: skip

    def _credits(self, store: Store, amount: int) -> None:
        store.add_credits(amount, None, self.now)


@settings(max_examples=12, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(OPS, min_size=1, max_size=30))
def test_the_summary_is_the_count_of_the_rows_after_any_history(
    new_state: Callable[[], str], ops: list[Op]
) -> None:
    history = History(new_state(), new_state)
    with Store.open(history.state) as store:
        store.add_credits(20, "start", T0 - timedelta(days=1))
    for op in ops:
        history.run(op)
    assert_summary_matches_rows(history.state)


# ------------------------------------------------------------------ an older state


def forget_summary(state: str) -> None:
    """Make the state as the migration before the summary left it (its rows kept)."""
    tables = "summary_enrollments, summary_attempts, summary_sent_days, summary_ledger_days"
    if state.startswith("postgresql://"):
        with psycopg.connect(state, autocommit=True) as conn:
            conn.execute(f"DROP TABLE {tables}")
            conn.execute("DROP FUNCTION summary_enrollments_change, summary_attempts_change,"
                         " summary_ledger_change CASCADE")  # fmt: skip
            conn.execute("DELETE FROM _yoyo_migration WHERE migration_id LIKE '%_summary'")
        return
    with closing(sqlite3.connect(state, isolation_level=None)) as conn:
        for (trigger,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'summary_%'"
        ).fetchall():
            conn.execute(f"DROP TRIGGER {trigger}")
        for table in tables.split(", "):
            conn.execute(f"DROP TABLE {table}")
        conn.execute("DELETE FROM _sqlite_migrations WHERE name LIKE '%_summary'")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        conn.execute(f"PRAGMA user_version = {version - 1}")


def test_an_older_state_gets_its_summary_counted_from_its_rows(
    new_state: Callable[[], str],
) -> None:
    history = History(new_state(), new_state)
    with Store.open(history.state) as store:
        store.add_credits(20, "start", T0 - timedelta(days=1))
    for op in [("enroll", "alpha", [0, 1, 2, 3]), ("enroll", "beta", [3, 4]),
               ("send", "alpha", 0, "sent"), ("send", "alpha", 1, "done"),
               ("send", "beta", 4, "failed"), ("deliver", 0, "delivered", None),
               ("reply", 2, "Sounds good, thanks"), ("later", 30), ("send", "alpha", 0, "sent"),
               ("optout", [3])]:  # fmt: skip
        history.run(op)
    forget_summary(history.state)
    Store.open(history.state).close()  # migrated
    assert query(history.state, SUMMARY["enrollments"])  # counted, not left empty
    assert_summary_matches_rows(history.state)
    history.run(("send", "alpha", 0, "done"))  # and kept from then on
    assert_summary_matches_rows(history.state)


# ------------------------------------------------------------------ what a page costs


def read_cost(path: str) -> int:
    """The SQLite virtual machine's steps (in hundreds) that reading the page's counts
    takes: the same work for the same counts, whatever the rows."""
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    with Store.open(path, create=False, read_only=True) as store:
        store._conn.set_progress_handler(count, 100)  # type: ignore[attr-defined]
        store.dashboard_facts(FIRST, LAST)
    return steps


def test_reading_the_counts_costs_the_same_on_a_state_ten_times_larger(
    tmp_path: Any,
) -> None:
    path = str(tmp_path / "state.db")
    with Store.open(path) as store:
        store.add_credits(10_000, "start", T0)
        store.set_campaign_status("alpha", "active", None, T0, launch())

        def grow(first: int, count: int) -> None:
            numbers = [phone(n) for n in range(first, first + count)]
            store.enroll_many("alpha", [contact(n) for n in numbers], T0)
            for number in numbers[: count // 2]:
                attempt = store.record_intent(
                    campaign="alpha", phone=number, step=1, body="Hi", segments=1, credits=1,
                    sender_key="+15125550100", provider="outbox", now=T0,
                )  # fmt: skip
                store.record_outcome(attempt, Outcome("sent", f"SM{attempt}"), T0, 1)

        grow(0, 100)
        before = read_cost(path)
        grow(100, 900)
    after = read_cost(path)
    assert len(query(path, "SELECT id FROM attempts")) == 500
    assert after <= before + 2, (before, after)
