"""The phone number workers of a real `campaignctl validate` on a large CSV, as processes:
one killed ends the command with one clear line, Ctrl-C stops the command and them, and they
do not outlive a command killed with -9."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from bench.generate import write_contacts_csv

from campaignctl.config.phone_workers import PARALLEL_MIN_BYTES, WORKER_NICENESS, worker_count

DEADLINE = 60.0  # seconds; each wait ends as soon as what it waits for happens


@pytest.fixture(scope="module")
def large_group(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository whose group's CSV is parsed by the workers for several seconds."""
    config_dir = tmp_path_factory.mktemp("large") / "campaigns.d"
    csv_path = config_dir / "contacts.csv"
    write_contacts_csv(csv_path, 150_000, seed=3)
    assert csv_path.stat().st_size >= 2 * PARALLEL_MIN_BYTES
    (config_dir / "group.yaml").write_text(
        "apiVersion: campaignctl/v1\nkind: ProspectGroup\nmetadata:\n  name: large\n"
        "spec:\n  csv: contacts.csv\n",
        encoding="utf-8",
    )
    return config_dir


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {DEADLINE:.0f} s")
        time.sleep(0.02)


def workers_of(parent: int) -> list[int]:
    """The worker processes (spawned by multiprocessing) whose parent is `parent`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and b"--multiprocessing-fork" in cmdline:
            found.append(int(entry.name))
    return found


def stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat from the third (the state) on; None once it has ended."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def gone(pid: int) -> bool:
    """Whether the process has ended (a zombie waiting for its parent has ended too)."""
    fields = stat(pid)
    return fields is None or fields[0] == "Z"


def niceness(pid: int) -> int | None:
    fields = stat(pid)
    return None if fields is None else int(fields[16])


@pytest.fixture
def validating(large_group: Path) -> Iterator[tuple[subprocess.Popen[str], list[int]]]:
    """`campaignctl validate` running in its own process group (as a terminal runs a
    command), once its workers have started."""
    process = subprocess.Popen(
        [sys.executable, "-m", "campaignctl", "--dir", str(large_group), "validate"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    workers: list[int] = []

    def started() -> bool:  # all of them: one starting later could race a kill
        workers[:] = workers_of(process.pid)
        return len(workers) == worker_count() or process.poll() is not None

    try:
        wait_for(started, "the phone number workers start")
        assert workers, process.communicate()
        yield process, workers
    finally:  # whatever is left of the group (a worker left behind holds the output pipes)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()


def test_a_worker_killed_ends_the_command_with_one_clear_line(
    validating: tuple[subprocess.Popen[str], list[int]],
) -> None:
    process, workers = validating
    os.kill(workers[0], signal.SIGKILL)
    _, stderr = process.communicate(timeout=DEADLINE)
    assert process.returncode == 1
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines() == [
        f"error: {process.args[4]}/contacts.csv: a process parsing its phone numbers stopped "
        "before it answered (killed, or out of memory?): the file was not read whole"
    ]
    wait_for(lambda: all(gone(pid) for pid in workers_of(process.pid)), "the other worker ends")


def test_the_workers_leave_the_cores_to_the_command_first(
    validating: tuple[subprocess.Popen[str], list[int]],
) -> None:
    process, workers = validating
    lower = niceness(process.pid)
    assert lower is not None
    lower += WORKER_NICENESS
    wait_for(  # each lowers its own priority as it starts, and parses for seconds
        lambda: all(niceness(pid) == lower for pid in workers),
        f"the workers run at niceness {lower}",
    )


def cpu_seconds(pid: int) -> float:
    """The CPU time the process has used so far (0 once it has ended)."""
    fields = stat(pid)
    if fields is None:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# when Ctrl-C is pressed: as a worker starts, while it imports, while it parses (each parses
# about 2 s of CPU of this file: at 1 s it is mid-file, however the batches were shared)
@pytest.mark.parametrize("worker_cpu", [0.0, 0.2, 1.0])
def test_ctrl_c_stops_the_command_and_its_workers(
    validating: tuple[subprocess.Popen[str], list[int]], worker_cpu: float
) -> None:
    process, workers = validating
    wait_for(
        lambda: cpu_seconds(workers[0]) >= worker_cpu or process.poll() is not None,
        f"the first worker uses {worker_cpu} s of CPU",
    )
    assert process.poll() is None
    os.killpg(process.pid, signal.SIGINT)  # what a terminal does: every process of the group
    _, stderr = process.communicate(timeout=DEADLINE)
    assert process.returncode == 1
    assert stderr.strip() == "Aborted."  # the command's answer to Ctrl-C; no worker's traceback
    wait_for(lambda: all(gone(pid) for pid in workers), "the workers end")


def test_workers_do_not_outlive_a_command_killed(
    validating: tuple[subprocess.Popen[str], list[int]],
) -> None:
    process, workers = validating
    process.kill()
    process.wait(timeout=DEADLINE)
    wait_for(lambda: all(gone(pid) for pid in workers), "the orphaned workers end")
