"""An SQLite state's WAL is copied back into its file on a thread of the store's own, not
inside the commit that crosses SQLite's threshold (which would make that commit wait for
two flushes of the disk)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from campaignctl.store import Store
from campaignctl.store.sqlite import CHECKPOINT_COMMITS, FALLBACK_PAGES
from tests.faults.test_two_controllers import wait_until
from tests.store.helpers import T0

THREAD = "campaignctl-checkpoint"


def _balance_in_the_file(path: Path) -> int | None:
    """The balance as the database file itself holds it, its WAL not read (None while a
    checkpoint is writing the page being read)."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?immutable=1", uri=True)
    try:
        return int(conn.execute("SELECT balance FROM meta WHERE id = 1").fetchone()[0])
    except sqlite3.DatabaseError:
        return None
    finally:
        conn.close()


def _checkpointers() -> int:
    return sum(1 for thread in threading.enumerate() if thread.name == THREAD)


def test_commits_reach_the_file_without_crossing_the_threshold_of_a_commit(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    before = _checkpointers()
    with Store.open(path) as store:
        for number in range(CHECKPOINT_COMMITS):
            assert _checkpointers() == before  # none until the first checkpoint is due
            store.add_credits(1, f"top-up {number}", T0)
        assert _checkpointers() == before + 1
        # a few pages each, far from the pages at which a commit checkpoints on its own
        assert CHECKPOINT_COMMITS * 10 < FALLBACK_PAGES
        wait_until(
            lambda: _balance_in_the_file(path) == CHECKPOINT_COMMITS,
            "the commits copied into the file",
            10,
        )
    assert _checkpointers() == before  # stopped with the store
