"""A process that stalls (SIGSTOP: stopped, its machine paused) while it holds the lease, or
in the middle of a write, must keep the others waiting no longer than the lease's time to
live:

- a leading controller's tick leaves the lease's expiry at the controller's own TTL (the
  apply inside it does not take the lease again for its own, longer one);
- on PostgreSQL, a writer frozen inside its transaction holds the row every writer waits
  for: the server ends that transaction once it has waited on its client for a third of the
  lease's TTL (frozen in the middle of a batch, the process that takes the expired lease ends
  it), another process takes the lease when it expires, and the frozen one, let go on,
  writes nothing of that transaction; while its lease runs, it is left alone.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from campaignctl.clock import FrozenClock
from campaignctl.controller.loop import Controller, ControllerOptions
from campaignctl.providers.base import Outcome, OutgoingMessage, Provider
from campaignctl.providers.outbox import OutboxProvider
from campaignctl.store import LeaseHeld, Store
from tests.cli.repo import Repo
from tests.faults.tally import TALLY
from tests.faults.test_two_controllers import wait_until
from tests.faults.world import NOW_AT
from tests.postgres import Server

TTL_SECONDS = 3.0

# takes the lease, then freezes itself inside a write transaction of the store (the meta
# row locked, as in the middle of an intent): "idle" between two statements, "batch" in the
# middle of one executemany (a pipeline: its first query sent, the rest and the Sync not);
# continued, it tries to finish that write
FROZEN_WRITER = """
import os, signal, sys
from campaignctl.errors import StateError
from campaignctl.store import Store

url, ready, ttl, where = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]

def freeze():
    open(ready, "w").close()
    os.kill(os.getpid(), signal.SIGSTOP)

def rows():
    yield ("first of the batch",)
    freeze()
    yield ("written while frozen",)

with Store.open(url) as store:
    store.acquire_lease("frozen-writer", ttl)
    try:
        with store._write(fenced=True) as conn:
            if where == "idle":
                freeze()
                conn.execute("UPDATE meta SET suspended_reason = 'written while frozen' WHERE id = 1")
            else:
                conn.executemany("UPDATE meta SET suspended_reason = ? WHERE id = 1", rows())
    except StateError as exc:
        print(f"refused: {exc}", flush=True)
        store.detach_lease()
        sys.exit(3)
sys.exit(0)
"""


class LeaseWatcher:
    """Sends through another provider, noting first how long the lease has left to run."""

    name = "outbox"

    def __init__(self, inner: Provider, store: Store) -> None:
        self.inner = inner
        self.store = store
        self.left: list[float] = []

    def send(self, message: OutgoingMessage) -> Outcome:
        _holder, _token, expires_at = self.store.current_lease()
        self.left.append(expires_at - time.time())
        return self.inner.send(message)

    def lookup(self, message: OutgoingMessage) -> Outcome | None:
        return self.inner.lookup(message)


def test_a_leading_controller_s_tick_leaves_the_lease_at_the_controller_s_ttl(
    tmp_path: Path,
) -> None:
    repo = Repo(tmp_path).standard()
    repo.run("credits", "add", "50", now="2026-03-01T00:00:00Z")
    clock = FrozenClock(NOW_AT)
    watchers: list[LeaseWatcher] = []

    def provider(store: Store) -> Provider:
        watchers.append(LeaseWatcher(OutboxProvider(store, clock), store))
        return watchers[-1]

    options = ControllerOptions(
        repo.dir, repo.state, interval=timedelta(hours=1), watch=False, lease_ttl=TTL_SECONDS
    )
    controller = Controller(options, clock, provider)
    assert controller.tick()
    left = [seconds for watcher in watchers for seconds in watcher.left]
    assert left, "nothing was sent"
    # a leader stalled here is waited out for its own TTL, not the apply's 60 s
    assert max(left) <= TTL_SECONDS, left


@pytest.fixture
def database(postgres_server: Server) -> Iterator[str]:
    url = postgres_server.create_database()
    with Store.open(url):
        pass  # the schema
    yield url
    postgres_server.drop_database(url)


def stopped(pid: int) -> bool:
    """Whether the process is stopped (SIGSTOP), from its /proc state."""
    stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    return stat.rsplit(")", 1)[1].split()[0] == "T"


def frozen_writer(tmp_path: Path, database: str, where: str, ttl: float) -> subprocess.Popen[str]:
    """The writer above, once it is frozen `where` it was told, holding the lease for
    `ttl` seconds; its session as the server sees it checked."""
    ready = tmp_path / "ready"
    frozen = subprocess.Popen(
        [sys.executable, "-c", FROZEN_WRITER, database, str(ready), str(ttl), where],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_until(lambda: ready.exists() and stopped(frozen.pid), "the writer freezes", 60)
    TALLY.fault(f"writer frozen (SIGSTOP) inside its transaction, {where}")
    if where == "batch":  # the session runs on, reading from its client: no limit applies
        wait_until(
            lambda: session_states(database) == [("active", "ClientRead")],
            "the server waits for the rest of the batch",
            10,
        )
    return frozen


def session_states(database: str) -> list[tuple[str, str]]:
    """The state and wait of the writer's server session (campaignctl's other than this)."""
    with psycopg.connect(database, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT state, wait_event FROM pg_stat_activity WHERE datname = current_database()"
            " AND application_name = 'campaignctl' AND pid <> pg_backend_pid()"
        ).fetchall()
    return [(state, wait) for state, wait in rows]


def finish(frozen: subprocess.Popen[str]) -> tuple[int, str]:
    frozen.send_signal(signal.SIGCONT)
    out, err = frozen.communicate(timeout=60)
    return frozen.returncode, out + err


def suspended_reason(database: str) -> object:
    with psycopg.connect(database) as conn:
        row = conn.execute("SELECT suspended_reason FROM meta WHERE id = 1").fetchone()
    assert row is not None
    return row[0]


@pytest.mark.parametrize(
    ("where", "ended_by"),
    [("idle", "idle-in-transaction timeout"), ("batch", "server closed the connection")],
)
def test_a_writer_frozen_in_its_transaction_is_ended_and_the_lease_taken_at_its_expiry(
    tmp_path: Path, database: str, caplog: pytest.LogCaptureFixture, where: str, ended_by: str
) -> None:
    """Between two statements the server ends the frozen transaction at the stall limit;
    in the middle of a batch it cannot tell a frozen client from a slow one, and the
    process taking the expired lease ends the session."""
    taken: list[tuple[int, float]] = []

    def standby() -> None:
        with Store.open(database) as store:
            token = store.acquire_lease("standby", TTL_SECONDS, wait_seconds=60)
            taken.append((token, time.time()))
            store.release_lease(token)

    frozen = frozen_writer(tmp_path, database, where, TTL_SECONDS)
    try:
        with Store.open(database) as store:  # a read waits for no writer
            holder, _token, expires_at = store.current_lease()
        assert holder == "frozen-writer"
        waiting = threading.Thread(target=standby, daemon=True)
        waiting.start()
        waiting.join(timeout=30)
        assert taken, "the lease was not taken while the writer stayed frozen"
        token, at = taken[0]
        assert token == 2  # the frozen writer's was 1
        # not before the frozen writer's lease expired, and soon after
        assert expires_at <= at <= expires_at + 10, (at, expires_at)
    finally:
        code, output = finish(frozen)
    assert code == 3, output
    assert "refused:" in output and ended_by in output, output
    ended = [r.getMessage() for r in caplog.records if "ended server session" in r.getMessage()]
    if where == "batch":
        assert len(ended) == 1, ended
        assert "in the middle of a batch" in ended[0], ended
        assert "while the lease of frozen-writer had expired" in ended[0], ended
    else:
        assert ended == []  # the server ended it first
    assert suspended_reason(database) is None  # nothing of the frozen transaction was written


def test_a_writer_frozen_in_a_batch_while_its_lease_runs_is_left_alone(
    tmp_path: Path, database: str
) -> None:
    """Before the holder's lease expires, the process that wants it waits the stall limit
    and is told the lease is held; the writer is left alone and finishes its write once
    let go on; the waiting store goes on reading and writing."""
    frozen = frozen_writer(tmp_path, database, "batch", ttl=120)
    try:
        with Store.open(database) as store:
            with pytest.raises(LeaseHeld, match="in the middle of a write"):
                store.acquire_lease("standby", TTL_SECONDS, wait_seconds=0)
            assert store.current_lease()[0] == "frozen-writer"  # no transaction left open
            assert ("active", "ClientRead") in session_states(database)  # not ended
    finally:
        code, output = finish(frozen)
    assert code == 0, output
    assert suspended_reason(database) == "written while frozen"
