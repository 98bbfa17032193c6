"""A one-row change to the largest group, and the tick that syncs it (`make bench
ONLY=incsync`).

The state is the largest group launched (by this campaignctl, so that it keeps the
group's file) and made steady as the tick benchmark makes it (every enrollment sent step 1
two days before: nothing due). Then, each on a fresh copy of that state, the CSV is edited
by one row in its middle and one controller tick runs (open the state + apply_now, as
`reconcile` ticks):

    add      a row with a new number inserted           -> 1 enrolled
    remove   a row removed                              -> its number ended
    edit     a row's number replaced by a new one       -> 1 enrolled, 1 ended

The floor is reading the file and hashing it (sha256 over its bytes: a change cannot be
seen for less); each tick is given as a ratio to it, and to the bare phonenumbers work on
the group's numbers (the enroll benchmark's baseline). The sync's own share (looking
through the changed rows, then syncing them: StreamedApply._check and _sync, timed by
wrapping them) is given beside the tick, and the steady tick with nothing changed, in the
same run, for what every tick costs anyway.
"""

from __future__ import annotations

import gc
import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import scenarios
from bench.measure import Figure, Sample, Series, seconds, timed, verdict
from bench.repo import CAMPAIGN
from campaignctl import config
from campaignctl.app.streamed import StreamedApply
from campaignctl.core import phones
from campaignctl.store import Store
from campaignctl.store.db import StoreBase

if TYPE_CHECKING:
    from bench.run import Bench

RUNS = 5
HASH_RUNS = 7
TARGET_HASH = 3.0  # the tick under 3x the read and hash of the file
TARGET_BARE = 0.05  # and under 5% of the bare phonenumbers work on the group
NEW_ROW = b"Newcomer,Added,(212) 555-0142,New York,\n"
NEW_NUMBER = b"(312) 555-0143"


@dataclass
class Tick:
    sample: Sample
    sync: float  # of which StreamedApply._check and _sync
    summary: dict[str, int]
    collecting: float = 0.0  # of which the interpreter's garbage collections
    closing: float = 0.0  # of which closing the state (SQLite checkpoints it then)


@contextmanager
def collection_timer(spent: list[float]) -> Iterator[None]:
    """Add the time of each garbage collection to `spent`, while it lasts: this process
    holds what the benchmarks before kept, which a full collection walks through."""
    started: list[float] = []

    def timing(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started.append(time.perf_counter())
        elif started:
            spent.append(time.perf_counter() - started.pop())

    gc.callbacks.append(timing)
    try:
        yield
    finally:
        gc.callbacks.remove(timing)


@contextmanager
def method_timer(owner: type, names: tuple[str, ...], spent: list[float]) -> Iterator[None]:
    """Add the time of each call of these methods of `owner` to `spent`, while it lasts."""
    saved = {name: vars(owner)[name] for name in names}

    def timing(work: Callable[..., Any]) -> Callable[..., Any]:
        def timed_work(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return work(*args, **kwargs)
            finally:
                spent.append(time.perf_counter() - started)

        return timed_work

    for name, work in saved.items():
        setattr(owner, name, timing(work))
    try:
        yield
    finally:
        for name, work in saved.items():
            setattr(owner, name, work)


def sync_timer(spent: list[float]) -> AbstractContextManager[None]:
    """Add the time of StreamedApply._check and _sync to `spent`, while it lasts."""
    return method_timer(StreamedApply, ("_check", "_sync"), spent)


def steady_state(bench: Bench, size: int, config_dir: Path) -> Path:
    """The largest group launched by this campaignctl (its file kept), made steady. One
    kept by another version (its group digest another) is made again: its first tick
    would sync the new digest, and its block list may be cut otherwise."""
    states = bench.workdir / "states"
    steady = states / f"incsync-steady-{size}.db"
    if steady.exists():
        with Store.open(steady) as store:
            kept = store.synced_group(CAMPAIGN)
        if kept is not None and kept.digest in _group_digests(config_dir):
            return steady
    launched = states / f"incsync-launch-{size}.db"
    states.mkdir(parents=True, exist_ok=True)
    print(f"  .. incsync: launching {size:,} contacts for its state", flush=True)
    scenarios.fresh_state(launched)
    scenarios.launch(config_dir, launched, scenarios.NIGHT)
    scenarios.copy_state(launched, steady)
    scenarios.age_state(steady, scenarios.AFTERNOON)
    return steady


def _group_digests(config_dir: Path) -> set[str]:
    """The digests of the config's groups, as this version takes them."""
    loaded = config.load(config_dir, parse_contacts=lambda name, digest: False)
    return {g.digest for g in loaded.desired.groups.values()} if loaded.desired else set()


def _middle_row(data: bytes) -> tuple[int, int]:
    """The start and end of a row in the middle of the file whose only number is valid,
    with a city (a contact enrolled at the launch)."""
    at = data.index(b"\n", len(data) // 2) + 1
    while True:
        end = data.index(b"\n", at) + 1
        cells = data[at:end].decode().rstrip("\n").split(",")
        try:
            phones.normalize(cells[2])
        except phones.InvalidPhone:
            at = end
            continue
        if ";" not in cells[2] and cells[3]:
            return at, end
        at = end


def edits(data: bytes) -> dict[str, bytes]:
    at, end = _middle_row(data)
    row = data[at:end]
    number = row.split(b",")[2]
    return {
        "add": data[:at] + NEW_ROW + data[at:],
        "remove": data[:at] + data[end:],
        "edit": data[:at] + row.replace(number, NEW_NUMBER) + data[end:],
    }


def _tick(config_dir: Path, source: Path, work: Path) -> Tick:
    scenarios.copy_state(source, work)
    spent: list[float] = []
    collecting: list[float] = []
    closing: list[float] = []

    def tick() -> dict[str, int]:
        with collection_timer(collecting):  # not the collection `timed` makes before
            return scenarios.tick(config_dir, work, scenarios.AFTERNOON)

    with sync_timer(spent), method_timer(StoreBase, ("close",), closing):
        sample, summary = timed(tick)
    return Tick(sample, sum(spent), summary, sum(collecting), sum(closing))


def measure(bench: Bench, size: int, name: str) -> None:
    config_dir = bench.repo("contacts", size)
    csv_path = config_dir / "groups" / "contacts" / "prospects.csv"
    original = csv_path.read_bytes()
    steady = steady_state(bench, size, config_dir)
    bare = bench.baselines.get(size)
    if bare is None:
        numbers = scenarios.raw_numbers(csv_path)
        scenarios.warm_up()
        bare = timed(lambda: scenarios.bare_phonenumbers(numbers))[0].wall
    hashing = Series()
    for _ in range(HASH_RUNS):
        hashing.add(timed(lambda: hashlib.sha256(csv_path.read_bytes()).hexdigest())[0])
    floor = hashing.wall
    bench.add(Figure("incsync", name, "read and hash the group's CSV (sha256 over its bytes)",
                     seconds(floor), note=f"{len(original) / 1e6:.1f} MB; runs "
                     f"{hashing.spread()}"))  # fmt: skip
    work = steady.with_name(f"incsync-work-{size}.db")
    reference = [_tick(config_dir, steady, work) for _ in range(3)]
    middle = sorted(reference, key=lambda t: t.sample.wall)[1]
    quiet = middle.sample.wall
    bench.add(Figure("incsync", name, "steady tick, nothing changed (the same run, for "
                     "reference)", seconds(quiet), f"{quiet / floor:.2f}x read+hash",
                     note=f"of which garbage collections {seconds(middle.collecting)}, closing the "
                     f"state {seconds(middle.closing)}; runs "
                     f"{', '.join(seconds(t.sample.wall) for t in reference)}"))  # fmt: skip
    try:
        for label, edited in edits(original).items():
            csv_path.write_bytes(edited)
            ticks = [_tick(config_dir, steady, work) for _ in range(RUNS)]
            _figure(bench, name, label, ticks, floor, bare)
    finally:
        csv_path.write_bytes(original)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{work}{suffix}").unlink(missing_ok=True)


def _figure(bench: Bench, name: str, label: str, ticks: list[Tick], floor: float,
            bare: float) -> None:  # fmt: skip
    series = Series()
    for tick in ticks:
        series.add(tick.sample)
    middle = sorted(ticks, key=lambda t: t.sample.wall)[len(ticks) // 2]
    ratio = series.wall / floor
    share = series.wall / bare
    counts = ", ".join(f"{k} {v:,}" for k, v in middle.summary.items() if v) or "no actions"
    bench.add(Figure("incsync", name, f"tick after a one-row {label} (open state + "
                     "apply_now)", seconds(series.wall), f"{ratio:.2f}x read+hash",
                     f"< {TARGET_HASH:.0f}x", verdict(ratio < TARGET_HASH),
                     note=f"{share:.2%} of bare phonenumbers ({seconds(bare)}; target "
                     f"< {TARGET_BARE:.0%}: {verdict(share < TARGET_BARE)}); of which the "
                     f"sync {seconds(middle.sync)} ({middle.sync / floor:.2f}x read+hash), "
                     f"garbage collections {seconds(middle.collecting)}, closing the state "
                     f"{seconds(middle.closing)}; {counts}; runs "
                     f"{series.spread()}"))  # fmt: skip
