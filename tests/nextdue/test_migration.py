"""A state kept before next moments existed gets one for every enrollment: its wait, a lower
bound; the next tick reads what is due by it and sends as before."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlite_utils import Database

from campaignctl.store import Store, schema

DUE = "2026-03-02T15:00:00.000000Z"
LATER = "2026-04-01T15:00:00.000000Z"


def test_an_older_state_gets_the_wait_of_each_enrollment_as_its_next_moment(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    db = Database(path)
    db.execute("PRAGMA journal_mode = WAL")
    schema.migrations.apply(db, stop_before="m012_next_at")
    db.execute(f"PRAGMA application_id = {schema.APPLICATION_ID}")
    db.execute(f"PRAGMA user_version = {len(schema.known_migrations()) - 1}")
    db.execute(
        "INSERT INTO campaigns (name, status, created_at, updated_at, live_count)"
        " VALUES ('c1', 'active', ?, ?, 2)",
        [DUE, DUE],
    )
    for number, due in (("+12125550100", DUE), ("+12125550101", LATER)):
        db.execute(
            "INSERT INTO enrollments (campaign, phone, status, next_due_at, enrolled_at,"
            " fields, zones) VALUES ('c1', ?, 'live', ?, ?, '{}', '[\"America/New_York\"]')",
            [number, due, DUE],
        )
    db.close()

    with Store.open(path):
        pass
    conn = sqlite3.connect(path)
    rows = conn.execute("SELECT phone, next_at FROM enrollments ORDER BY phone").fetchall()
    assert rows == [("+12125550100", DUE), ("+12125550101", LATER)]
    indexes = [r[1] for r in conn.execute("PRAGMA index_list(enrollments)")]
    assert "enrollments_next" in indexes
