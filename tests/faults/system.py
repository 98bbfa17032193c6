"""The machine-level faults: a small tmpfs to fill, an immutable file, a read-only bind mount,
and an exclusive SQLite lock held by another process. Each skips the test, saying why, where
the machine does not allow it (not root, no mount namespace...)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=30)


@contextmanager
def small_disk(where: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` (e.g. "8m") mounted at `where`."""
    where.mkdir(parents=True, exist_ok=True)
    mounted = _run("mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where))
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to fill (needs root): {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        if _run("umount", str(where)).returncode != 0:
            _run("umount", "-l", str(where))


def fill(disk: Path, leave: int) -> Path:
    """Fill `disk` with one file, then give back `leave` bytes; returns the file."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    block = b"\0" * 65536
    try:
        while True:
            os.write(fd, block)
    except OSError:
        pass
    finally:
        os.close(fd)
    try:  # the last bytes a block at a time
        with filler.open("ab", buffering=0) as handle:
            while True:
                handle.write(b"\0" * 4096)
    except OSError:
        pass
    os.truncate(filler, max(0, filler.stat().st_size - leave))
    return filler


@contextmanager
def immutable(path: Path) -> Iterator[Path]:
    """`chattr +i`: not even root can write it (permission bits do not stop root)."""
    marked = _run("chattr", "+i", str(path))
    if marked.returncode != 0:
        pytest.skip(f"cannot make the state immutable (chattr +i): {marked.stderr.strip()}")
    try:
        yield path
    finally:
        _run("chattr", "-i", str(path))


@contextmanager
def read_only_mount(directory: Path) -> Iterator[Path]:
    """Bind-mount `directory` over itself, read-only."""
    bound = _run("mount", "--bind", str(directory), str(directory))
    if bound.returncode != 0:
        pytest.skip(f"cannot bind-mount the state directory: {bound.stderr.strip()}")
    try:
        remounted = _run("mount", "-o", "remount,bind,ro", str(directory))
        if remounted.returncode != 0:
            pytest.skip(f"cannot remount read-only: {remounted.stderr.strip()}")
        yield directory
    finally:
        if _run("umount", str(directory)).returncode != 0:
            _run("umount", "-l", str(directory))


HOLD_LOCK = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()  # until the test closes our stdin
conn.execute("COMMIT")
"""


class HeldLock:
    """Another process holding BEGIN EXCLUSIVE on the state until `release()`."""

    def __init__(self, state: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLD_LOCK, str(state)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "locked"

    def release(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            assert self.proc.wait(timeout=10) == 0
