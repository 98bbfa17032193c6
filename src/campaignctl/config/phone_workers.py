"""Normalising the phone numbers of a contacts CSV in batches: in this process for a small
file, in a pool of worker processes (one per core, up to `MAX_WORKERS`) for a large one.

Reading a number (phonenumbers validates it) is most of the cost of reading contacts: about
30 us each, half that in the plain North American forms, which skip phonenumbers' parse
(core.phones), so a million take a quarter to half a minute on one core. Batches
are handed out in file order and their results taken back in the same order, so what the
reader builds does not depend on how many processes did the parsing; only a few batches are
in flight at a time, so a large file never waits in memory. The workers (`PhoneWorkers`) are
a `concurrent.futures.ProcessPoolExecutor` of fresh interpreters ("spawn": they hold only
what parsing needs, none of this process's memory); each batch carries the region its
numbers are read in, so one pool serves every group an apply reads, started before the
first is looked through. A worker that stops before it answers ends the read with
`WorkerStopped`; Ctrl-C is left to this process, which stops the pool; a worker whose parent
is killed exits.

    with BatchNormalizer("US", parallel=True) as normalizer:   # a pool of its own
        pending = normalizer.submit(["(415) 555-0100", "555-0199"])
        pending.results()   # [PhoneInfo(...), "not a valid number for region US"]

    workers = start_workers("US", "groups/a.csv")   # to share; None on one core
    BatchNormalizer("GB", parallel=True, workers=workers).submit(["020 7946 0958"])
    workers.close()                                  # its owner's to stop
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.connection import wait
from types import TracebackType
from typing import Generic, TypeVar

from campaignctl.core import phones
from campaignctl.errors import CampaignctlError

MAX_WORKERS = 2
BATCH_NUMBERS = 10_000  # numbers per batch handed to a worker
# how much lower the workers' priority is than their parent's. The parent consumes what they
# parse, and its own work a contact (planning, writing the state) costs about as much CPU as
# their parsing: at an even share, three busy processes on two cores leave it two thirds of
# one, and a launch waits for it. Lower, they take what the parent leaves.
WORKER_NICENESS = 10
# a CSV at least this large is parsed by worker processes (about 50,000 contacts): below it,
# starting the workers (a fresh interpreter each) costs more than it saves
PARALLEL_MIN_BYTES = 2 * 1024 * 1024

# a normalised number, or why it is not a valid number
Normalized = phones.PhoneInfo | str
_Wire = tuple[str, tuple[str, ...], str | None, str | None] | str
Row = TypeVar("Row")
_T = TypeVar("_T")

_EXAMPLE = "+1 415 555 0100"  # a number a worker parses as it starts (see _started)
STOPPED = "stopped before it answered (killed, or out of memory?)"  # a worker, in an error


class WorkerStopped(CampaignctlError):
    """A worker process stopped before it answered (killed, out of memory): the file was
    not read whole."""


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


def worker_count() -> int:
    """The cores this process may use, up to MAX_WORKERS (1: parse here)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(MAX_WORKERS, cores))


def _start_worker() -> None:
    """A worker's start: a lower priority than the parent's (WORKER_NICENESS); Ctrl-C (sent
    by a terminal to every process of the command) ignored, as the parent decides when the
    pool stops; and a thread that ends the worker when its parent is gone (killed: nobody
    is left to stop the pool)."""
    os.nice(WORKER_NICENESS)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent.sentinel,), daemon=True).start()


def _exit_with(parent_sentinel: int) -> None:
    wait([parent_sentinel])  # ready once the parent's end of the pipe is closed: it died
    os._exit(1)


def _started(region: str) -> None:
    """A worker's first task, once it has started: load what parsing a number of `region`
    needs (phonenumbers loads its metadata on first use)."""
    normalize_batch([_EXAMPLE], region)


def _normalize_in_worker(numbers: list[str], region: str) -> list[_Wire]:
    return normalize_batch(numbers, region)


def stopped_error(source: str, why: str = STOPPED) -> WorkerStopped:
    """The error that ends the read of `source` when a worker fails."""
    return WorkerStopped(
        f"{source}: a process parsing its phone numbers {why}: the file was not read whole"
    )


class _PoolBroken(Exception):
    """A worker of the pool stopped, or none could be started (`why`)."""

    def __init__(self, why: str = STOPPED) -> None:
        super().__init__(why)
        self.why = why


class PhoneWorkers:
    """The pool of worker processes, all started at once (`source`: the file they are
    started for, named if they cannot be). One pool can parse the numbers of several
    groups, each batch in its own region: an apply starts it before it looks through the
    groups it will read (app.streamed), so the workers are ready when the first is read."""

    def __init__(self, count: int, region: str, source: str) -> None:
        self.count = count
        self._pool: ProcessPoolExecutor | None = ProcessPoolExecutor(
            count,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
        )
        # every worker starts now, one task each: the pool starts one at each submit until
        # it is full, and one started after another stopped can find the pool's pipes
        # closed under it (an OSError, not BrokenProcessPool: a race of concurrent.futures)
        try:
            for _ in range(count):
                self.submit(_started, region)
        except _PoolBroken as exc:
            self.close()
            raise stopped_error(source, exc.why) from None

    def submit(self, task: Callable[..., _T], *args: object) -> Future[_T]:
        """Hand a task to the workers. Raises _PoolBroken."""
        if self._pool is None:
            raise _PoolBroken()
        # a worker may start now: it starts with Ctrl-C blocked (the mask is inherited), so
        # that one pressed while it imports is never its traceback (it then ignores it)
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            return self._pool.submit(task, *args)
        except BrokenProcessPool:
            raise _PoolBroken() from None
        except OSError as exc:
            if exc.errno is None:  # "handle is closed": the pool's pipes, as a worker stopped
                raise _PoolBroken() from None
            # no process could be started (a limit of the machine)
            raise _PoolBroken(f"could not be started ({exc})") from None
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)

    def close(self) -> None:
        """Stop the workers: the batches they are parsing end (under a second each), the
        ones waiting are dropped."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> PhoneWorkers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def start_workers(region: str, source: str) -> PhoneWorkers | None:
    """A pool of phone workers, one per core (None on one core: parse in this process)."""
    count = worker_count()
    return PhoneWorkers(count, region, source) if count > 1 else None


class PendingBatch:
    """The results of one batch, in the order of its numbers: parsed by a worker (`future`)
    or, without one, here when asked."""

    def __init__(
        self, numbers: list[str], normalizer: BatchNormalizer, future: Future[list[_Wire]] | None
    ) -> None:
        self._numbers = numbers
        self._normalizer = normalizer
        self._future = future

    def results(self) -> list[Normalized]:
        if self._future is None:
            wire = normalize_batch(self._numbers, self._normalizer.region)
        else:
            try:
                wire = self._future.result()
            except BrokenProcessPool:
                raise self._normalizer.stopped() from None
        return [_from_wire(item) for item in wire]


class BatchNormalizer:
    """Hands batches of numbers to worker processes (`workers`, a pool shared with other
    reads; else, when `parallel` and there are cores, a pool of its own), or normalises
    them here. `source` names the file in errors."""

    def __init__(
        self,
        region: str,
        *,
        parallel: bool,
        source: str = "the contacts",
        workers: PhoneWorkers | None = None,
    ) -> None:
        self.region = region
        self.source = source
        self._own = workers is None and parallel
        self._workers = start_workers(region, source) if self._own else workers
        self.workers = 1 if self._workers is None else self._workers.count

    @property
    def lookahead(self) -> int:
        """How many batches to keep in flight beyond the one being consumed."""
        return 2 * self.workers if self._workers is not None else 0

    def submit(self, numbers: list[str]) -> PendingBatch:
        if self._workers is None or not numbers:
            return PendingBatch(numbers, self, None)
        try:
            future = self._workers.submit(_normalize_in_worker, numbers, self.region)
        except _PoolBroken as exc:
            raise self.stopped(exc.why) from None
        return PendingBatch(numbers, self, future)

    def stopped(self, why: str = STOPPED) -> WorkerStopped:
        """The error that ends the read when a worker fails."""
        return stopped_error(self.source, why)

    def close(self) -> None:
        """Stop the workers of its own (a shared pool is its owner's to stop)."""
        if self._own and self._workers is not None:
            self._workers.close()
        self._workers = None

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
