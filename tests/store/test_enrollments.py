"""Enrolling a group: order, source, the live count kept without an insert trigger, and
the enrollment row as the record of an enroll (not a decision)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from campaignctl.core.actions import Defer, Enroll, Skip
from campaignctl.core.types import Contact
from campaignctl.errors import Location
from campaignctl.store import Store
from tests.store.helpers import T0, active_campaign, contact, desired, later, phone


def _with_line(number: str, line: int) -> Contact:
    return contact(number)._replace(source=Location("groups/contacts.csv", line, 1))


def _live_counts(store: Store) -> dict[str, tuple[int, int, int]]:
    """campaign -> (campaigns.live_count, live rows counted, the snapshot's live count)."""
    conn = store._conn
    counted = dict(
        conn.execute(
            "SELECT campaign, count(*) FROM enrollments WHERE status = 'live' GROUP BY campaign"
        ).fetchall()
    )
    snapshot = store.snapshot(desired({}, {}), T0).campaigns
    return {
        name: (live_count, counted.get(name, 0), snapshot[name].live_enrollments)
        for name, live_count in conn.execute("SELECT name, live_count FROM campaigns")
    }


def test_executemany_rowcount_counts_only_inserted_rows() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("CREATE TABLE t (k TEXT PRIMARY KEY)")
    conn.execute("INSERT INTO t VALUES ('a')")
    cursor = conn.executemany(
        "INSERT INTO t VALUES (?) ON CONFLICT (k) DO NOTHING",
        ((k,) for k in ["a", "b", "c", "b", "d", "a"]),
    )
    assert cursor.rowcount == 3
    assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 4


def test_returns_and_counts_only_the_rows_inserted(store: Store) -> None:
    active_campaign(store, "c1")
    active_campaign(store, "c2", "g2")
    assert store.enroll_many("c1", [contact(phone(i)) for i in range(5)], T0) == 5
    store.end_enrollment("c1", phone(0), "replied", later(1))
    # already enrolled (live or ended) and repeated in the batch: left alone, not counted
    again = [contact(phone(i)) for i in (0, 1, 5, 6, 5, 4, 7)]
    assert store.enroll_many("c1", again, later(2)) == 3
    assert store.enroll_many("c2", [contact(phone(1)), contact(phone(1))], later(2)) == 1
    assert store.enroll_many("c2", [], later(2)) == 0
    assert store.enroll_many("c2", [contact(phone(1))], later(3)) == 0
    assert _live_counts(store) == {"c1": (7, 7, 7), "c2": (1, 1, 1)}
    assert [r.live for r in store.campaign_status_rows()] == [7, 1]


def test_the_remaining_triggers_keep_the_count_on_update_and_delete(store: Store) -> None:
    active_campaign(store)
    store.enroll_many("c1", [contact(phone(i)) for i in range(3)], T0)
    store.end_enrollment("c1", phone(1), "replied", later(1))
    assert _live_counts(store)["c1"] == (2, 2, 2)
    store._conn.execute("UPDATE enrollments SET status = 'live' WHERE phone = ?", [phone(1)])
    assert _live_counts(store)["c1"] == (3, 3, 3)
    store._conn.execute("DELETE FROM enrollments WHERE phone = ?", [phone(2)])
    assert _live_counts(store)["c1"] == (2, 2, 2)


def test_no_insert_trigger_in_a_new_state(store: Store, backend: str) -> None:
    catalog = {
        "sqlite": "SELECT name FROM sqlite_master WHERE type = 'trigger'",
        "postgresql": "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal",
    }
    triggers = {str(r[0]) for r in store._conn.execute(catalog[backend])}
    assert "enrollments_count_insert" not in triggers
    assert {"enrollments_count_update", "enrollments_count_delete"} <= triggers


def test_enrolls_in_the_order_given_with_each_source(store: Store) -> None:
    active_campaign(store)
    numbers = [phone(9), phone(2), phone(7), phone(1)]
    store.enroll_many("c1", [_with_line(n, 10 + i) for i, n in enumerate(numbers)], T0)
    rows = store._conn.execute("SELECT phone, source FROM enrollments ORDER BY id").fetchall()
    assert rows == [(n, f"groups/contacts.csv:{10 + i}:1") for i, n in enumerate(numbers)]
    [record] = store.enrollments_of(phone(7))
    assert record.source == "groups/contacts.csv:12:1"


def test_contacts_are_read_as_they_are_inserted(store: Store) -> None:
    active_campaign(store)
    taken: list[str] = []

    def contacts() -> Iterator[Contact]:
        for i in range(3):
            taken.append(phone(i))
            yield contact(phone(i))

    assert store.enroll_many("c1", contacts(), T0) == 3
    assert taken == [phone(0), phone(1), phone(2)]


def test_enroll_and_defer_decisions_are_not_recorded(store: Store) -> None:
    active_campaign(store)
    number = phone(1)
    defer = Defer("c1", number, 1, "quiet_hours", until=later(hours=2))
    store.record_decisions([Enroll("c1", number, detail="groups/contacts.csv:11:1"), defer], T0)
    store.enroll_many("c1", [_with_line(number, 11)], T0)
    store.record_decisions([defer], later(minutes=15))
    assert store._conn.execute("SELECT count(*) FROM decisions").fetchone() == (0,)
    history = [(e.kind, e.what, e.detail, e.repeats) for e in store.explain(number)]
    assert history == [("enrolled", "enrolled", "groups/contacts.csv:11:1", 1)]


def test_an_unrecorded_decision_leaves_a_run_of_repeats_whole(store: Store) -> None:
    active_campaign(store)
    skip = Skip("c1", phone(1), "opted_out")
    defer = Defer("c1", phone(1), 1, "quiet_hours", until=later(hours=2))
    store.record_decisions([skip], T0)
    store.record_decisions([Enroll("c1", phone(1)), skip], later(1))
    store.record_decisions([defer, skip], later(2))
    rows = store._conn.execute("SELECT type, repeats FROM decisions ORDER BY id").fetchall()
    assert rows == [("skip", 3)]


def test_an_older_enroll_decision_tells_the_enrollment_once(store: Store) -> None:
    active_campaign(store)
    store.enroll_many("c1", [contact(phone(1))], T0)
    store._conn.execute(
        "INSERT INTO decisions (id, at, last_at, campaign, phone, type, detail)"
        " SELECT id, enrolled_at, enrolled_at, campaign, phone, 'enroll', 'contacts.csv:3'"
        " FROM enrollments"
    )
    history = [(e.kind, e.what, e.detail) for e in store.explain(phone(1))]
    assert history == [("decision", "enroll", "contacts.csv:3")]
