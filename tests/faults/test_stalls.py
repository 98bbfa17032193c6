"""A process that stalls (SIGSTOP: stopped, its machine paused) while it holds the lease, or
in the middle of a write, must keep the others waiting no longer than the lease's time to
live:

- a leading controller's tick leaves the lease's expiry at the controller's own TTL (the
  apply inside it does not take the lease again for its own, longer one);
- on PostgreSQL, a writer frozen inside its transaction holds the row every writer waits
  for: the server ends that transaction once it has waited on its client for a third of the
  lease's TTL, another process takes the lease when it expires, and the frozen one, let go
  on, writes nothing of that transaction.
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
from campaignctl.store import Store
from tests.cli.repo import Repo
from tests.faults.tally import TALLY
from tests.faults.test_two_controllers import wait_until
from tests.faults.world import NOW_AT
from tests.postgres import Server

TTL_SECONDS = 3.0

# takes the lease, then freezes itself inside a write transaction of the store (the meta
# row locked, as in the middle of an intent); continued, it tries to finish that write
FROZEN_WRITER = """
import os, signal, sys
from campaignctl.errors import StateError
from campaignctl.store import Store

url, ready, ttl = sys.argv[1], sys.argv[2], float(sys.argv[3])
with Store.open(url) as store:
    store.acquire_lease("frozen-writer", ttl)
    try:
        with store._write(fenced=True) as conn:
            open(ready, "w").close()
            os.kill(os.getpid(), signal.SIGSTOP)
            conn.execute("UPDATE meta SET suspended_reason = 'written while frozen' WHERE id = 1")
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


def test_a_writer_frozen_in_its_transaction_is_ended_and_the_lease_taken_at_its_expiry(
    tmp_path: Path, database: str
) -> None:
    ready = tmp_path / "ready"
    frozen = subprocess.Popen(
        [sys.executable, "-c", FROZEN_WRITER, database, str(ready), str(TTL_SECONDS)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    taken: list[tuple[int, float]] = []

    def standby() -> None:
        with Store.open(database) as store:
            token = store.acquire_lease("standby", TTL_SECONDS, wait_seconds=60)
            taken.append((token, time.time()))
            store.release_lease(token)

    try:
        wait_until(lambda: ready.exists() and stopped(frozen.pid), "the writer freezes", 60)
        TALLY.fault("writer frozen (SIGSTOP) inside its transaction")
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
        frozen.send_signal(signal.SIGCONT)
        out, err = frozen.communicate(timeout=60)
    assert frozen.returncode == 3, out + err
    assert "refused:" in out and "idle-in-transaction timeout" in out, out + err
    with psycopg.connect(database) as conn:
        row = conn.execute("SELECT suspended_reason FROM meta WHERE id = 1").fetchone()
    assert row == (None,)  # nothing of the frozen transaction was written
