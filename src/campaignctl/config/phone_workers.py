"""Normalising the phone numbers of a contacts CSV in batches: in this process for a small
file, in worker processes (one per core, up to `MAX_WORKERS`) for a large one.

Parsing a number (phonenumbers) is most of the cost of reading contacts: about 30 us each, so
a million take half a minute on one core. Batches are handed out in file order and their
results taken back in the same order, so what the reader builds does not depend on how many
processes did the parsing. A worker is `python -m campaignctl.config.phone_workers REGION`, fed
batches on stdin and answering on stdout (no multiprocessing: nothing of the caller's main
module is imported again). If a worker cannot start or fails, its numbers are parsed here.

    with BatchNormalizer("US", parallel=True) as normalizer:
        pending = normalizer.submit(["(415) 555-0100", "555-0199"])
        pending.results()   # [PhoneInfo(...), "not a valid number for region US"]
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Generic, TypeVar

from campaignctl.core import phones

log = logging.getLogger("campaignctl.phone_workers")

MAX_WORKERS = 2
BATCH_NUMBERS = 10_000  # numbers per batch handed to a worker
# a CSV at least this large is parsed by worker processes (about 50,000 contacts): below it,
# starting the workers (a fresh interpreter each) costs more than it saves
PARALLEL_MIN_BYTES = 2 * 1024 * 1024
WORKER_TIMEOUT_SECONDS = 120.0  # a batch takes well under a second

# a normalised number, or why it is not a valid number
Normalized = phones.PhoneInfo | str
_Wire = tuple[str, tuple[str, ...], str | None, str | None] | str
Row = TypeVar("Row")
_HEADER = struct.Struct(">Q")


def normalize_batch(numbers: Sequence[str], region: str) -> list[_Wire]:
    """Normalise each number; plain tuples travel between processes cheaply."""
    out: list[_Wire] = []
    for raw in numbers:
        try:
            info = phones.normalize(raw, region)
        except phones.InvalidPhone as exc:
            out.append(exc.reason)
            continue
        out.append((info.e164, info.zones, info.us_state, info.region))
    return out


def _from_wire(item: _Wire) -> Normalized:
    return item if isinstance(item, str) else phones.PhoneInfo(*item)


def _write_message(stream: IO[bytes], value: object) -> None:
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(payload)))
    stream.write(payload)
    stream.flush()


def _read_message(stream: IO[bytes]) -> object | None:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    payload = stream.read(size)
    return pickle.loads(payload) if len(payload) == size else None


def worker_count() -> int:
    """The cores this process may use, up to MAX_WORKERS (1: parse here)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(MAX_WORKERS, cores))


class _Worker:
    """One worker process, a thread that writes it its batches (handing a batch over never
    waits for the worker to finish the one before) and a thread that reads its answers."""

    def __init__(self, region: str) -> None:
        package_root = str(Path(__file__).resolve().parents[1])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "campaignctl.config.phone_workers", region],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self.batches: queue.Queue[list[str] | None] = queue.Queue()
        self.answers: queue.Queue[list[_Wire] | None] = queue.Queue()
        self.failed = False
        self._writer = threading.Thread(target=self._write_batches, daemon=True)
        self._writer.start()
        threading.Thread(target=self._read_answers, daemon=True).start()

    def _write_batches(self) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        try:
            while (numbers := self.batches.get()) is not None:
                _write_message(stdin, numbers)
        except (OSError, ValueError):
            self.failed = True
        finally:
            with contextlib.suppress(OSError):
                stdin.close()  # the worker ends when its input does

    def _read_answers(self) -> None:
        assert self.process.stdout is not None
        try:
            while (answer := _read_message(self.process.stdout)) is not None:
                self.answers.put(answer)  # type: ignore[arg-type]
        except (OSError, pickle.UnpicklingError, EOFError, ValueError):
            pass
        self.answers.put(None)

    def send(self, numbers: list[str]) -> bool:
        if not self.failed:
            self.batches.put(numbers)
        return not self.failed

    def answer(self) -> list[_Wire] | None:
        if self.failed:
            return None
        try:
            answer = self.answers.get(timeout=WORKER_TIMEOUT_SECONDS)
        except queue.Empty:
            answer = None
        if answer is None:
            self.failed = True
            log.warning("a phone number worker stopped: parsing its numbers in this process")
        return answer

    def stop(self) -> None:
        self.batches.put(None)
        self._writer.join(timeout=5)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            with contextlib.suppress(OSError):
                self.process.stdout.close()


class PendingBatch:
    """The results of one batch, in the order of its numbers."""

    def __init__(self, numbers: list[str], region: str, worker: _Worker | None) -> None:
        self._numbers = numbers
        self._region = region
        self._worker = worker

    def results(self) -> list[Normalized]:
        wire = self._worker.answer() if self._worker is not None else None
        if wire is None or len(wire) != len(self._numbers):
            wire = normalize_batch(self._numbers, self._region)
        return [_from_wire(item) for item in wire]


class BatchNormalizer:
    """Hands batches of numbers to worker processes (when `parallel` and there are cores),
    in turn, or normalises them here."""

    def __init__(self, region: str, *, parallel: bool) -> None:
        self.region = region
        self._workers: list[_Worker] = []
        self._turn = 0
        if parallel and worker_count() > 1:
            try:
                self._workers = [_Worker(region) for _ in range(worker_count())]
            except OSError as exc:
                log.warning("parsing phone numbers in this process (no workers: %s)", exc)
                self.close()

    @property
    def workers(self) -> int:
        return len(self._workers) or 1

    @property
    def lookahead(self) -> int:
        """How many batches to keep in flight beyond the one being consumed."""
        return 2 * len(self._workers)

    def submit(self, numbers: list[str]) -> PendingBatch:
        worker = None
        if self._workers and numbers:
            worker = self._workers[self._turn % len(self._workers)]
            self._turn += 1
            if not worker.send(numbers):
                worker = None
        return PendingBatch(numbers, self.region, worker)

    def close(self) -> None:
        for worker in self._workers:
            worker.stop()
        self._workers = []

    def __enter__(self) -> BatchNormalizer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class OrderedRows(Generic[Row]):
    """Rows wait here while their numbers are normalised (by workers, maybe), then go to
    `consume(row, results)` in the order they were added, whoever parsed them.

        rows = OrderedRows(normalizer, consume)
        for row, numbers in ...:
            rows.add(row, numbers)
        rows.finish()          # also after an error, so every row read is consumed
    """

    def __init__(
        self, normalizer: BatchNormalizer, consume: Callable[[Row, list[Normalized]], None]
    ) -> None:
        self._normalizer = normalizer
        self._consume = consume
        self._rows: list[tuple[Row, int]] = []  # each row and how many numbers it has
        self._numbers: list[str] = []
        self._waiting: deque[tuple[list[tuple[Row, int]], PendingBatch]] = deque()

    def add(self, row: Row, numbers: list[str]) -> None:
        self._rows.append((row, len(numbers)))
        self._numbers.extend(numbers)
        if len(self._numbers) >= BATCH_NUMBERS:
            self._submit()

    def finish(self) -> None:
        self._submit()
        while self._waiting:
            self._take(*self._waiting.popleft())

    def _submit(self) -> None:
        if self._rows:
            self._waiting.append((self._rows, self._normalizer.submit(self._numbers)))
            self._rows, self._numbers = [], []
        while len(self._waiting) > self._normalizer.lookahead:
            self._take(*self._waiting.popleft())

    def _take(self, rows: list[tuple[Row, int]], pending: PendingBatch) -> None:
        results = pending.results()
        start = 0
        for row, count in rows:
            self._consume(row, results[start : start + count])
            start += count


def _serve(region: str) -> int:
    """The worker: answer each batch of numbers read on stdin, until stdin closes."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while (numbers := _read_message(stdin)) is not None:
        _write_message(stdout, normalize_batch(numbers, region))  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(_serve(sys.argv[1] if len(sys.argv) > 1 else "US"))
