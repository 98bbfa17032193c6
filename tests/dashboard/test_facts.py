"""The page's counts (store/dashboard.py) on both backends, and the indexes of the counts by
campaign (`status` reads them; the page reads its summary rows: test_summary.py)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import date, timedelta

import psycopg

from campaignctl.store import Store
from tests.dashboard.world import LATER, NOON, World


def test_the_counts_are_those_of_status(world: World) -> None:
    with Store.open(world.state, create=False, read_only=True) as store:
        facts = store.dashboard_facts(date(2026, 1, 1), LATER.date())
        rows = {row.name: row for row in store.campaign_status_rows()}
        due = store.due_counts(LATER)
    assert [c.name for c in facts.campaigns] == sorted(rows)
    for name, row in rows.items():
        mine = [e for e in facts.enrollments if e[0] == name]
        assert sum(n for *_, n in mine) == row.enrolled
        assert sum(n for _, s, _, _, n in mine if s == "live") == row.live
        ended: dict[str, int] = {}
        for _, status, reason, _, n in mine:
            if status == "ended":
                ended[reason or "unknown"] = ended.get(reason or "unknown", 0) + n
        assert ended == dict(row.ended)
        tried = [a for a in facts.attempts if a[0] == name]
        assert sum(n for _, _, s, _, n, _ in tried if s == "sent") == row.sent
    assert facts.sent_per_day == {
        ("spring-buyers", NOON.date()): 9,
        ("summer-sellers", NOON.date()): 1,
    }
    assert facts.ledger_per_day == {NOON.date() - timedelta(days=1): 50, NOON.date(): -10}
    assert due == {"spring-buyers": (7, 0, 0), "summer-sellers": (1, 0, 0)}


def test_the_counts_of_days_outside_the_range_are_left_out(world: World) -> None:
    with Store.open(world.state, create=False, read_only=True) as store:
        facts = store.dashboard_facts(NOON.date() + timedelta(days=1), LATER.date())
        later = store.due_counts(NOON + timedelta(days=31))
    assert facts.sent_per_day == {} and facts.ledger_per_day == {}
    assert later["spring-buyers"] == (7, 7, 0)  # their step 2 is due 30 days after step 1


# counted from the summary rows now; a campaign's enrollments by status are read through
# enrollments_next, which begins with the same columns as enrollments_campaign
UNREAD_INDEXES = {
    "enrollments_funnel", "attempts_funnel", "attempts_sent_at", "ledger_at",
    "enrollments_campaign",
}  # fmt: skip


def test_both_backends_keep_no_index_nothing_reads(state: str) -> None:
    Store.open(state).close()
    if state.startswith("postgresql://"):
        with psycopg.connect(state) as conn:
            names = {str(r[0]) for r in conn.execute("SELECT indexname FROM pg_indexes")}
    else:
        with closing(sqlite3.connect(state)) as conn:
            names = {str(r[0]) for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index'")}  # fmt: skip
    assert not names & UNREAD_INDEXES
    assert {"enrollments_next", "enrollments_later", "attempts_in_flight"} <= names
