"""Opening the state: creation, identity, versions, damage, read-only files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlite_utils import Database

from campaignctl.errors import StateError
from campaignctl.store import Store, schema
from tests.store.helpers import T0, active_campaign, contact, desired, phone


def _populated(path: Path) -> None:
    with Store.open(path) as store:
        store.add_credits(50, "seed", T0)
        active_campaign(store)
        store.enroll_many("c1", [contact(phone(i)) for i in range(200)], T0)


def test_creates_the_file_and_its_directory_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "deep" / ".campaignctl" / "state.db"
    with Store.open(path) as store:
        assert store.serial == 0
        assert store.balance() == 0
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA application_id").fetchone()[0] == schema.APPLICATION_ID
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(schema.known_migrations())


def test_data_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    _populated(path)
    with Store.open(path, create=False) as store:
        assert store.balance() == 50
        assert [r.live for r in store.campaign_status_rows()] == [200]


def test_missing_file_without_create_is_refused_and_not_created(tmp_path: Path) -> None:
    path = tmp_path / "none" / "state.db"
    with pytest.raises(StateError, match="no state database"):
        Store.open(path, create=False)
    assert not path.parent.exists()


def test_open_for_reading_a_missing_file_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with Store.open_for_reading(path) as store:
        assert store.campaign_status_rows() == []
        assert store.balance() == 0
    assert list(tmp_path.iterdir()) == []


def test_an_empty_file_is_initialised(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.touch()
    with Store.open(path) as store:
        assert store.add_credits(5, None, T0) == 5


@pytest.mark.parametrize(
    "content",
    [b"hello, this is a text file\n" * 10, b"SQLite format 3\x00" + b"\x00" * 10, b"\x89PNG" * 64],
)
def test_a_file_that_is_not_a_database_is_refused_untouched(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(content)
    with pytest.raises(StateError, match=r"not a campaignctl state database|corrupt"):
        Store.open(path)
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.db"]


def test_another_programs_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.execute("INSERT INTO notes VALUES ('keep me')")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StateError, match="not a campaignctl state database"):
        Store.open(path)
    assert path.read_bytes() == before


def test_a_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    _populated(path)
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at)"
                 " VALUES ('campaignctl', 'm099_from_the_future', 'x')")  # fmt: skip
    conn.execute(f"PRAGMA user_version = {len(schema.known_migrations()) + 1}")
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StateError, match="newer than this campaignctl"):
        Store.open(path)
    assert path.read_bytes() == before


def test_an_unknown_applied_migration_alone_counts_as_newer(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    _populated(path)
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at)"
                 " VALUES ('campaignctl', 'm003_elsewhere', 'x')")  # fmt: skip
    conn.commit()
    conn.close()
    with pytest.raises(StateError, match="upgrade campaignctl"):
        Store.open(path)


def test_a_truncated_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    _populated(path)
    size = path.stat().st_size
    assert size > 8 * 4096  # enough pages that half a file is a real truncation
    damaged = path.read_bytes()[: size // 2]
    path.write_bytes(damaged)
    with pytest.raises(StateError, match="truncated"):
        Store.open(path)
    assert path.read_bytes() == damaged


def test_damaged_pages_give_one_clear_error_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    _populated(path)
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(2 * page, len(data) - page, page):  # every page but the first
        data[offset : offset + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))
    with pytest.raises(StateError, match=r"corrupt|malformed"), Store.open(path) as store:
        store.campaign_status_rows()


def test_an_older_schema_is_migrated_keeping_its_data(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    db = Database(path)
    db.execute("PRAGMA journal_mode = WAL")
    schema.migrations.apply(db, stop_before="m002_decisions_webhooks_outbox")
    db.execute(f"PRAGMA application_id = {schema.APPLICATION_ID}")
    db.execute("PRAGMA user_version = 1")
    db.execute(
        "INSERT INTO ledger (at, amount, note) VALUES ('2026-01-01T00:00:00.000000Z', 7, 'old')"
    )
    db.close()
    assert (
        "decisions"
        not in sqlite3.connect(path)
        .execute("SELECT group_concat(name) FROM sqlite_master WHERE type = 'table'")
        .fetchone()[0]
    )

    with Store.open(path) as store:
        assert store.balance() == 7
        assert [e.note for e in store.ledger()] == ["old"]
        assert store.outbox() == []  # a table of the newer schema
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(schema.known_migrations())
    names = [r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations ORDER BY id")]
    assert names == schema.known_migrations()


def test_a_version_2_state_is_migrated_its_live_counts_kept(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    db = Database(path)
    db.execute("PRAGMA journal_mode = WAL")
    schema.migrations.apply(db, stop_before="m003_enrollment_source")
    db.execute(f"PRAGMA application_id = {schema.APPLICATION_ID}")
    db.execute("PRAGMA user_version = 2")
    at = "2026-03-02T15:00:00.000000Z"
    db.execute(
        "INSERT INTO campaigns (name, status, created_at, updated_at)"
        " VALUES ('c1', 'active', ?, ?)",
        [at, at],
    )
    for number in (phone(1), phone(2)):  # counted by the insert trigger of that version
        db.execute(
            "INSERT INTO enrollments (campaign, phone, status, next_due_at, enrolled_at,"
            " fields, zones) VALUES ('c1', ?, 'live', ?, ?, '{}', '[\"America/New_York\"]')",
            [number, at, at],
        )
        db.execute(
            "INSERT INTO decisions (at, last_at, campaign, phone, type, detail)"
            " VALUES (?, ?, 'c1', ?, 'enroll', 'contacts.csv:3:1')",
            [at, at, number],
        )
    db.close()
    assert sqlite3.connect(path).execute("SELECT live_count FROM campaigns").fetchone()[0] == 2

    with Store.open(path) as store:
        conn = store._conn
        assert conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"
                            " AND name = 'enrollments_count_insert'").fetchall() == []  # fmt: skip
        assert [(e.phone, e.source) for e in store.enrollments_of(phone(1))] == [(phone(1), None)]
        new = [contact(phone(n)) for n in (1, 3, 4, 2)]
        assert store.enroll_many("c1", new, T0) == 2
        store.end_enrollment("c1", phone(2), "replied", T0)
        live = conn.execute("SELECT count(*) FROM enrollments WHERE status = 'live'").fetchone()
        assert live[0] == 3
        assert conn.execute("SELECT live_count FROM campaigns").fetchone()[0] == 3
        assert store.snapshot(desired({}, {}), T0).campaigns["c1"].live_enrollments == 3
        assert [r.live for r in store.campaign_status_rows()] == [3]
        old = [(e.kind, e.what, e.detail) for e in store.explain(phone(1))]
        assert old == [("decision", "enroll", "contacts.csv:3:1")]  # told once, by the decision
        fresh = [(e.kind, e.what, e.detail) for e in store.explain(phone(3))]
        assert fresh == [("enrolled", "enrolled", "test.yaml:1:1")]
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(schema.known_migrations())
    names = [r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations ORDER BY id")]
    assert names == schema.known_migrations()


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StateError, match="directory"):
        Store.open(tmp_path)


def test_read_only_reads_work_and_writes_fail_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    _populated(path)
    with Store.open(path, read_only=True) as store:
        assert store.balance() == 50
        serial = store.serial
        with pytest.raises(StateError, match="read-only"):
            store.add_credits(1, None, T0)
        with pytest.raises(StateError, match="read-only"):
            store.suspend("x", T0)
        assert store.balance() == 50
        assert store.serial == serial


def test_a_file_without_write_permission_opens_read_only(tmp_path: Path) -> None:
    import os

    if os.geteuid() == 0:
        pytest.skip("root can write any file; read_only=True is tested above")
    path = tmp_path / "state.db"
    _populated(path)
    path.chmod(0o444)
    with Store.open(path) as store:
        assert store.read_only
        assert store.balance() == 50
        with pytest.raises(StateError, match="read-only"):
            store.add_credits(1, None, T0)


@pytest.mark.parametrize(
    ("sql", "writable_schema"),
    [  # the name of an index in SQLite's schema table; a migration's name, and its date
        (
            "UPDATE sqlite_master SET name = CAST(x'6f7574ff' AS TEXT) WHERE name = 'outbox_at'",
            True,
        ),
        ("UPDATE _sqlite_migrations SET name = CAST(x'6d303031ff' AS TEXT) WHERE id = 1", False),
        (
            "UPDATE _sqlite_migrations SET applied_at = CAST(x'ff' AS TEXT); PRAGMA user_version = 3",
            False,
        ),
    ],
)
def test_schema_text_that_is_not_utf8_is_refused_as_corrupt_untouched(
    tmp_path: Path, sql: str, writable_schema: bool
) -> None:
    path = tmp_path / "state.db"
    _populated(path)
    conn = sqlite3.connect(path)
    if writable_schema:
        conn.execute("PRAGMA writable_schema = ON")
    conn.executescript(sql)
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    damaged = path.read_bytes()
    for opening in (Store.open, Store.open_for_reading):
        with pytest.raises(StateError, match=r"state\.db: the state database is corrupt \(.*UTF-8"):
            opening(path)
    assert path.read_bytes() == damaged
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.db"]
