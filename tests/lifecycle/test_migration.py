"""A state from before campaigns stayed active: migrated, a campaign the old rule completed
whose file still says active is active again, and the numbers skipped `already_enrolled`
then are enrolled once free. The old state is made with this code, then put back by SQL as
the earlier version left it (no table of waiting numbers, the campaign completed with the
old rule's reason), on both backends."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg

from tests.cli.repo import SETTINGS
from tests.lifecycle.helpers import ANA, BO, NOON, StateRepo, at, kinds

OLD_RULE_COMPLETED = """
UPDATE campaigns SET status = 'completed', reason = 'all enrollments ended'
    WHERE name = 'spring-buyers';
INSERT INTO decisions (id, at, last_at, campaign, type, detail)
    VALUES (100000, '2026-03-02T17:15:00.000000Z', '2026-03-02T17:15:00.000000Z',
            'spring-buyers', 'complete', 'every enrollment has ended');
"""
BEFORE_SQLITE = """
DROP TRIGGER enrollments_free;
DROP TABLE waiting;
DELETE FROM _sqlite_migrations WHERE name = 'm008_waiting_numbers';
PRAGMA user_version = 7;
"""
BEFORE_POSTGRESQL = """
DROP FUNCTION waiting_free() CASCADE;
DROP TABLE waiting;
DELETE FROM _yoyo_migration WHERE migration_id = '0005_waiting';
"""


def as_before(state: str, more: str = "") -> None:
    """Put the state back as the earlier version left it (plus `more` SQL)."""
    if state.startswith("postgresql:"):
        with psycopg.connect(state, autocommit=True) as conn:
            conn.execute((BEFORE_POSTGRESQL + more).encode())
        return
    conn = sqlite3.connect(state)
    try:
        conn.executescript(BEFORE_SQLITE + more)
    finally:
        conn.close()


def test_a_campaign_completed_by_the_old_rule_is_active_again(tmp_path: Path, state: str) -> None:
    repo = StateRepo(tmp_path, where=state)
    repo.one_step()
    repo.group(rows=[(ANA, "Ana")])
    repo.campaign(template="hello")
    repo.write("settings.yaml", SETTINGS)
    repo.funded().apply(NOON)  # Ana's only step: every enrollment ended
    as_before(state, OLD_RULE_COMPLETED)
    repo.group(rows=[(ANA, "Ana"), (BO, "Bo")])  # its file still says active; a row added
    plan = repo.apply(at(1))  # migrated on opening
    assert kinds(plan) == [("campaign_status", None), ("enroll", BO), ("send", BO)]
    change = plan["actions"][0]
    assert (change["from"], change["to"]) == ("completed", "active")
    assert repo.apply(at(1, 15))["actions"] == []
    row = repo.status_row("spring-buyers")
    assert (row["status"], row["reason"]) == ("active", "idle")


def test_numbers_skipped_before_the_migration_are_enrolled_once_free(
    tmp_path: Path, state: str
) -> None:
    repo = StateRepo(tmp_path, where=state)
    repo.template()  # two steps, 30 days apart
    repo.one_step()
    repo.group("first", rows=[(ANA, "Ana")])
    repo.group("second", rows=[(ANA, "Ana")])
    repo.campaign("autumn", group="first")
    repo.campaign("winter", template="hello", group="second", sender="+15125550148")
    repo.write("settings.yaml", SETTINGS)
    plan = repo.funded().apply(NOON)
    assert ("skip", ANA) in kinds(plan, "winter")
    as_before(state)  # the earlier version kept no waiting numbers
    assert ("send", ANA) in kinds(repo.apply(at(30)), "autumn")  # her last step: free
    assert ("enroll", ANA) in kinds(repo.apply(at(30, 15)), "winter")
