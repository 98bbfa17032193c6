"""kill -9 of an apply while it syncs a group by its changes, at seeded points (after a
seeded number of its enrollments and ends are written), then a clean apply: nothing is
lost and nothing doubled. The state equals that of the same versions of the group synced
whole without a kill, and what it keeps of the group's file is the file.

Each version of the group edits a fifth of its rows (added, removed, numbers and names
edited), scattered over the file; each apply decides ten contacts a transaction.
"""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from campaignctl.store import Store
from tests.faults.incsync_apply import apply
from tests.faults.tally import TALLY, sized
from tests.faults.world import Process, clean_env
from tests.incsync.helpers import big_repo, kept_file, numbers

COMPARED = {
    "enrollments": "SELECT campaign, phone, status, end_reason, steps_sent, next_due_at,"
    " enrolled_at, fields, source FROM enrollments",
    "campaigns": "SELECT name, status, group_digest, live_count FROM campaigns",
}


def progress(state: Path) -> int:
    """Enrollments written, and ends: what an apply has done of a sync so far."""
    conn = sqlite3.connect(f"{state.resolve().as_uri()}?mode=ro", uri=True)
    try:
        row = conn.execute(
            "SELECT count(*) + coalesce(sum(CASE WHEN status = 'ended' THEN 1 ELSE 0 END), 0)"
            " FROM enrollments"
        ).fetchone()
        return int(row[0])
    except sqlite3.OperationalError:  # the schema is being made: nothing done yet
        return 0
    finally:
        conn.close()


def start_apply(config_dir: Path, state: Path, log: Path) -> Process:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out, log.with_name(log.name + ".err").open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.faults.incsync_apply", str(config_dir), str(state)],
            stdout=out, stderr=err, env=clean_env(),
        )  # fmt: skip
    TALLY.runs += 1
    return Process(proc, log)


def kill_after(process: Process, state: Path, done: int, deadline: float = 120) -> bool:
    """SIGKILL the apply once it has written `done` more enrollments and ends; True when
    the kill hit it running."""
    first = progress(state)
    ends = time.monotonic() + deadline
    while process.alive() and progress(state) < first + done:
        assert time.monotonic() < ends, "the apply neither progressed nor ended"
        time.sleep(0.005)
    return process.kill()


def edit(rng: random.Random, rows: list[tuple[str, str]], fresh: list[str]) -> None:
    """Edit a fifth of the rows, scattered: rows added, removed, numbers and names edited."""
    for _ in range(len(rows) // 5):
        at = rng.randrange(len(rows))
        kind = rng.choice(["add", "remove", "number", "name"])
        if kind == "add":
            rows.insert(at, (fresh.pop(), f"New{at}"))
        elif kind == "remove":
            del rows[at]
        elif kind == "number":
            rows[at] = (fresh.pop(), rows[at][1])
        else:
            rows[at] = (rows[at][0], rows[at][1] + "x")


def state_of(state: Path) -> dict[str, list[tuple[Any, ...]]]:
    with Store.open(str(state), read_only=True) as store:
        return {
            table: sorted(tuple(r) for r in store._conn.execute(sql).fetchall())
            for table, sql in COMPARED.items()
        }


def test_kill_9_during_a_sync_of_the_changed_rows_loses_and_doubles_nothing(
    tmp_path: Path,
) -> None:
    size, versions, kills = sized(2000, 20_000), sized(2, 4), sized(2, 3)
    rng = random.Random(77)
    repo, rows = big_repo(tmp_path / "killed", size)
    whole, _ = big_repo(tmp_path / "whole", size)
    killed_state, whole_state = tmp_path / "killed.db", tmp_path / "whole.db"
    apply(repo.dir, str(killed_state))  # the launch: the group read whole, and kept
    apply(whole.dir, str(whole_state), saved=True)
    fresh = numbers(size, "415")
    hits = 0
    for version in range(versions):
        edit(rng, rows, fresh)
        repo.group(rows=rows)
        whole.group(rows=list(rows))
        outputs = []
        for number in range(kills):
            log = tmp_path / "logs" / f"v{version}-{number}.log"
            process = start_apply(repo.dir, killed_state, log)
            hit = kill_after(process, killed_state, rng.randint(1, len(rows) // 5))
            hits += hit
            outputs.append(process.output())
            assert "Traceback" not in outputs[-1], outputs[-1]
            if not hit:
                assert process.proc.returncode == 0, outputs[-1]
        finished = start_apply(repo.dir, killed_state, tmp_path / "logs" / f"v{version}.log")
        assert finished.wait() == 0, finished.output()
        outputs.append(finished.output())
        assert not any(" synced: " in output for output in outputs), outputs  # never whole
        # by its changes, said by the apply that finished the sync, unless a kill cut that
        # line: then the apply after it found nothing left to do, and says nothing
        assert outputs[-1] == "" or any("synced by its changes" in o for o in outputs), outputs
        apply(whole.dir, str(whole_state), saved=True)
        assert kept_file(str(killed_state)) == (repo.dir / "groups/open-house.csv").read_bytes()
    assert hits >= versions  # most kills hit an apply under way
    TALLY.fault("apply killed during a sync of changed rows", hits)
    killed, expected = state_of(killed_state), state_of(whole_state)
    relative = [
        tuple(str(v).replace(str(tmp_path / "killed"), "") for v in row)
        for row in killed["enrollments"]
    ]
    assert sorted(relative) == sorted(
        tuple(str(v).replace(str(tmp_path / "whole"), "") for v in row)
        for row in expected["enrollments"]
    )
    assert killed["campaigns"] == expected["campaigns"]
