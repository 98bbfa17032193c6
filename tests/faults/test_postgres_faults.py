"""The fault suite on a PostgreSQL state: real `reconcile` processes on a real server (the
test's own cluster, tests/postgres.py), the local Twilio emulator, and the same audit as on
SQLite: every due message exactly once, the state agreeing with the provider.

- the leader killed with -9 in the middle of its sends, a standby taking over;
- the server restarted under a running controller: it waits, reconnects and goes on;
- the controller's sessions cut (pg_terminate_backend) while a send is between its intent
  and its outcome: the next tick settles it by look-up.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from campaignctl.emulator import Fault, TwilioEmulator
from tests.faults.audit import audit
from tests.faults.tally import TALLY, sized
from tests.faults.test_two_controllers import (
    in_flight,
    leader_killed_standby_takes_over,
    wait_until,
)
from tests.faults.world import (
    Process,
    Script,
    campaign_repo,
    emulator_at_noon,
    phones,
    start,
    twilio_env,
)
from tests.postgres import Server

SLOW = {"slow answer": lambda r: Fault(delay=r.uniform(0.05, 0.15))}


@pytest.fixture
def database(postgres_server: Server) -> Iterator[str]:
    """A fresh database holding the state's schema; its URL."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)


def pending(url: str) -> int:
    """Attempts between intent and outcome right now."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM attempts WHERE status = 'pending'").fetchone()
    return int(row[0]) if row else 0


def cut_sessions(url: str) -> int:
    """pg_terminate_backend of every other session on the database: the controller's."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return sum(1 for (done,) in rows if done)


def finish(
    controller: Process,
    emulator: TwilioEmulator,
    url: str,
    total: int,
    credits: int,
    script: Script,
) -> None:
    """Wait for every due message, stop the controller, and audit."""
    wait_until(
        lambda: len(emulator.messages()) >= total and not in_flight(url),
        f"all {total} sent and settled",
        90,
    )
    assert controller.stop() == 0, controller.stderr()
    assert "Traceback" not in controller.stderr(), controller.stderr()
    assert emulator.wait_idle(10)
    script.settle(emulator)
    result = audit(emulator.messages(), url, phones(total), initial_credits=credits)
    assert result.ok, result.report()


def test_leader_killed_mid_tick_a_standby_takes_over(tmp_path: Path, database: str) -> None:
    leader_killed_standby_takes_over(tmp_path, database)


def test_the_server_restarted_under_a_running_controller(
    tmp_path: Path, database: str, postgres_server: Server
) -> None:
    if postgres_server.cluster is None:
        pytest.skip("the server is not one these tests started: it cannot be restarted")
    rng = random.Random(5)
    restarts, first, later = sized(1, 3), 30, 20
    total = first + restarts * later
    credits = 2 * total
    repo = campaign_repo(tmp_path, first, credits, state=database)
    script = Script()
    with emulator_at_noon() as emulator:
        script.plant(emulator, rng, "create", 1.0, SLOW, 3 * total)
        controller = start(
            repo, ["reconcile", "--interval", "1s"], twilio_env(emulator), "ctl.log", state=database
        )
        count = first
        for _ in range(restarts):
            before = len(emulator.messages())
            wait_until(lambda n=before: len(emulator.messages()) >= n + 3, "sending", 30)
            postgres_server.restart()
            TALLY.fault("database restarted")
            count += later  # contacts keep coming
            repo.group(rows=[(p, f"Name{i}") for i, p in enumerate(phones(count))])
            wait_until(lambda n=count: len(emulator.messages()) >= n, "sending goes on", 60)
        assert controller.alive(), controller.stderr()
        finish(controller, emulator, database, total, credits, script)
    errors = [line for line in controller.stderr().splitlines() if " ERROR " in line]
    assert all("tick failed" in line for line in errors), errors


def test_sessions_cut_between_intent_and_outcome_are_settled_by_lookup(
    tmp_path: Path, database: str
) -> None:
    rng = random.Random(11)
    cuts, total = sized(3, 8), 60
    credits = 2 * total
    repo = campaign_repo(tmp_path, total, credits, state=database)
    script = Script()
    with emulator_at_noon() as emulator:
        script.plant(emulator, rng, "create", 1.0, SLOW, 3 * total)
        controller = start(
            repo, ["reconcile", "--interval", "1s"], twilio_env(emulator), "ctl.log", state=database
        )
        for _ in range(cuts):
            before = len(emulator.messages())
            at = before + rng.randint(1, 4)  # the seeded moment: after that many more sends
            wait_until(lambda n=at: len(emulator.messages()) >= n, "sending", 30)
            wait_until(lambda: pending(database) > 0, "a send between intent and outcome", 30)
            left = pending(database)
            assert cut_sessions(database) > 0
            TALLY.fault("session cut (pg_terminate_backend)")
            TALLY.left_in_flight += left
        finish(controller, emulator, database, total, credits, script)
