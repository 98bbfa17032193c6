"""`python -m bench.run [--quick] [--only NAME]` (`make bench`, `make bench ONLY=launch`):
campaignctl's benchmarks, to a million contacts.

Each benchmark prints the median of several runs and a ratio against a baseline measured in
the same run (the enrollment baseline in the same process), then the figures are written into
bench/RESULTS.md. --quick runs 10k and 100k contacts only (and writes nothing unless --write).
--only runs some benchmarks (comma-separated) and writes nothing unless --write; `launch` is
the launch of the largest group: its enroll figures and its peak memory.

    enroll      launch of a campaign on a new group vs bare phonenumbers on the same numbers
    tick        a controller tick over the launched group, nothing due / 10,000 due / (1M)
                a million due to a 900-a-tick sender, the state in SQLite and in PostgreSQL
    forecast    `campaignctl forecast` of 90 days over 100,000 live enrollments
    memory      peak RSS of a fresh process launching the largest group
    apply       the engine's own cost per message, outbox provider and local Twilio server,
                SQLite and PostgreSQL
    sendout     a 100-a-second sender against the local Twilio server answering each create
                after 150 ms: messages a second achieved, and the engine's own cost a message
    validate    `campaignctl validate` on 2,000 files vs check-jsonschema on the same files
    dashboard   the status page over the steady state of the largest group, SQLite and
                PostgreSQL, in process and over HTTP (bench/dashboard.py)
    plan        `plan` of the launch of the largest group vs its streamed apply: time and
                peak RSS, each in a fresh process (bench/planbench.py)
    incsync     the tick after a one-row change to the largest group vs reading and
                hashing its file (bench/incsync.py)
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from bench import dashboard, incsync, scenarios, throughput, validation
from bench import forecast as forecasting
from bench.generate import write_campaign_repo, write_validate_repo
from bench.measure import Figure, Sample, Series, seconds, timed, verdict
from bench.postgres import Postgres, postgres
from bench.report import load_average, machine, markdown, write_results
from campaignctl.config.phone_workers import PARALLEL_MIN_BYTES
from campaignctl.store.location import StateArg

SEED = 7
T = TypeVar("T")
RUNS = {10_000: 5, 100_000: 3, 1_000_000: 2}  # enrollment runs per size (1M: minutes each)
TICK_RUNS = 5
DUE = {10_000: 1_000, 100_000: 10_000, 1_000_000: 10_000}
SENDOUT = {1_000_000: 1_000_000}  # a long send-out: every one of a million due at once
APPLY_CONTACTS = 2_000
APPLY_RUNS = 3
VALIDATE_RUNS = 3
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
ONLY = (
    "launch",
    "enroll",
    "tick",
    "forecast",
    "memory",
    "apply",
    "sendout",
    "validate",
    "dashboard",
    "plan",
    "incsync",
)
PLAN_RUNS = 2  # of `plan` and of the streamed apply, alternately, on the largest group


def alone(benchmark: Callable[..., T], *args: Any) -> T:
    """Run one benchmark, and say which threads it left running: they would run beside the
    benchmarks after it, in this process, and be measured with them (a dashboard's forecast
    panel still computing once made the incsync ticks a hundred times longer)."""
    before = set(threading.enumerate())
    result = benchmark(*args)
    left = sorted(t.name for t in threading.enumerate() if t not in before and t.is_alive())
    if left:
        print(f"  !! {benchmark.__name__} left threads running: {', '.join(left)}", flush=True)
    return result


@contextmanager
def sqlite_copy(source: Path, work: Path) -> Iterator[Path]:
    """A fresh copy of an SQLite state (overwritten by the next run)."""
    scenarios.copy_state(source, work)
    yield work


def size_name(size: int) -> str:
    return f"{size // 1_000_000}M" if size >= 1_000_000 else f"{size // 1000}k"


def progress(text: str) -> None:
    print(f"  .. {text}", file=sys.stderr, flush=True)


class Bench:
    def __init__(self, workdir: Path, stack: ExitStack) -> None:
        self.workdir = workdir
        self.stack = stack
        self.figures: list[Figure] = []
        self.baselines: dict[int, float] = {}
        self.pg: Postgres | None = None

    def add(self, figure: Figure) -> None:
        self.figures.append(figure)
        print(figure.line(), flush=True)

    def repo(self, name: str, size: int, rate: float = 1.0) -> Path:
        """The generated campaign repo of `size` contacts (generated once, then reused)."""
        root = self.workdir / f"{name}-{size}-seed{SEED}"
        config_dir = root / "campaigns.d"
        if not (root / "ready.json").exists():
            progress(f"generating {size:,} contacts in {root}")
            shutil.rmtree(root, ignore_errors=True)
            _, summary = write_campaign_repo(root, size, SEED, messages_per_second=rate)
            (root / "ready.json").write_text(json.dumps({"rows": summary.rows}))
        return config_dir

    # ------------------------------------------------------------------ enroll

    def enroll(self, size: int) -> Path:
        config_dir = self.repo("contacts", size)
        state = self.workdir / "states" / f"launch-{size}.db"
        state.parent.mkdir(parents=True, exist_ok=True)
        numbers = scenarios.raw_numbers(config_dir / "groups" / "contacts" / "prospects.csv")
        scenarios.warm_up()
        bare, launched, syncs = Series(), Series(), Series()
        stages: list[scenarios.LaunchTimes] = []
        runs = RUNS[size]
        for run in range(runs):
            progress(f"enroll {size_name(size)}: run {run + 1} of {runs}")
            sample, valid = timed(lambda: scenarios.bare_phonenumbers(numbers))
            bare.add(sample)
            scenarios.fresh_state(state)
            sample, times = timed(lambda: scenarios.launch(config_dir, state, scenarios.NIGHT))
            launched.add(sample)
            syncs.add(Sample(times.sync, 0.0))
            stages.append(times)
        self.baselines[size] = bare.wall
        name = size_name(size)
        per = bare.wall / len(numbers) * 1e6
        self.add(Figure("enroll", name, "bare phonenumbers: parse, is_valid_number, E.164, "
                        "time_zones_for_number", f"{seconds(bare.wall)}",
                        note=f"{len(numbers):,} numbers, {valid:,} valid, {per:.1f} us each; "
                        f"CPU {seconds(bare.cpu)}; runs {bare.spread()}"))  # fmt: skip
        ratio = launched.wall / bare.wall
        middle = sorted(stages, key=lambda t: t.total)[len(stages) // 2]
        # the target applies where both cores can be used: a CSV large enough for the phone
        # workers (below it, starting them would cost more than they save)
        csv_path = config_dir / "groups" / "contacts" / "prospects.csv"
        both_cores = csv_path.stat().st_size >= PARALLEL_MIN_BYTES
        self.add(Figure("enroll", name, "launch: the whole apply (engine.apply_now, streamed)",
                        seconds(launched.wall), f"{ratio:.2f}x",
                        "<= 1.2x" if both_cores else "(one core: recorded)",
                        verdict(ratio <= 1.2) if both_cores else "",
                        note=f"enrolled {middle.summary.get('enroll', 0):,}; stages: load "
                        f"{seconds(middle.load)}, check {seconds(middle.check)}, read and "
                        f"enroll {seconds(middle.sync)}, due {seconds(middle.due)}; CPU of this "
                        f"process {seconds(launched.cpu)}; runs {launched.spread()}"))  # fmt: skip
        self.add(Figure("enroll", name, "of which reading the group: CSV, every number parsed, "
                        "checked, enrolled, its first message considered",
                        seconds(syncs.wall), f"{syncs.wall / bare.wall:.2f}x"))  # fmt: skip
        return state

    # ------------------------------------------------------------------ tick

    def ticks(self, size: int, launched: Path) -> None:
        steady = launched.with_name(f"steady-{size}.db")
        due_state = launched.with_name(f"due-{size}.db")
        work = launched.with_name(f"tick-{size}.db")
        scenarios.copy_state(launched, steady)
        scenarios.age_state(steady, scenarios.AFTERNOON)
        scenarios.copy_state(steady, due_state)
        scenarios.make_due(due_state, scenarios.AFTERNOON, DUE[size])
        # (label, SQLite state, how many due): nothing, a queue, and a long send-out
        cases = [("nothing due", steady, 0), (f"{DUE[size]:,} due", due_state, DUE[size])]
        if size in SENDOUT:
            sendout = launched.with_name(f"sendout-{size}.db")
            scenarios.copy_state(steady, sendout)
            scenarios.make_due(sendout, scenarios.AFTERNOON, SENDOUT[size])
            cases.append((f"{SENDOUT[size]:,} due, a send-out", sendout, SENDOUT[size]))
        for label, source, _ in cases:
            self._tick(size, label, "", partial(sqlite_copy, source, work))
        pg = self.postgres()
        progress(f"tick {size_name(size)}: the states copied to PostgreSQL")
        steady_url = pg.load(steady)
        urls = [("nothing due", steady_url)]
        for label, _, count in cases[1:]:
            url = pg.server.clone_database(steady_url, file_copy=True)
            scenarios.make_due(url, scenarios.AFTERNOON, count)
            pg.settle(url)
            urls.append((label, url))
        for label, url in urls:
            self._tick(size, label, " on PostgreSQL", partial(pg.fresh, url))
        for _, url in urls[1:]:
            pg.server.drop_database(url)

    def _tick(
        self,
        size: int,
        label: str,
        where: str,
        fresh: Callable[[], AbstractContextManager[StateArg]],
    ) -> None:
        config_dir = self.repo("contacts", size)
        target_applies = size >= 1_000_000
        series, summary = Series(), dict[str, int]()
        for run in range(TICK_RUNS):
            progress(f"tick{where} {size_name(size)} {label}: run {run + 1} of {TICK_RUNS}")
            with fresh() as state:
                sample, summary = timed(
                    lambda: scenarios.tick(config_dir, state, scenarios.AFTERNOON)
                )
            series.add(sample)
        share = series.wall / self.baselines[size]
        counts = ", ".join(f"{k} {v:,}" for k, v in summary.items() if v) or "no actions"
        self.add(Figure("tick", size_name(size), f"steady tick{where}, {label} (open state + "
                        "apply_now)", seconds(series.wall), f"{share:.1%} of bare parse",
                        "< 5%" if target_applies else "",
                        verdict(share < 0.05) if target_applies else "",
                        note=f"{counts}; runs {series.spread()}"))  # fmt: skip

    def postgres(self) -> Postgres:
        """The PostgreSQL server of the benchmarks (started on first use)."""
        if self.pg is None:
            progress("starting a PostgreSQL server")
            self.pg = self.stack.enter_context(postgres())
        return self.pg

    def forecast(self, size: int, launched: Path) -> None:
        config_dir = self.repo("contacts", size)
        self.add(forecasting.measure(config_dir, launched, size_name(size), progress))

    # ------------------------------------------------------------------ memory

    def memory(self, size: int) -> None:
        config_dir = self.repo("contacts", size)
        state = self.workdir / "states" / f"memory-{size}.db"
        progress(f"peak memory of a process launching {size_name(size)}")
        root = Path(__file__).resolve().parent.parent
        done = subprocess.run(
            [sys.executable, "-m", "bench.rss", str(config_dir), str(state)],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
        peak = result["peak_mb"]
        self.add(Figure("memory", size_name(size), "peak RSS (VmHWM) of a process launching the "
                        "group", f"{peak:.0f} MB", "", "< 300 MB", verdict(peak < 300),
                        note=f"after start-up {result['start_mb']:.0f} MB; "
                        f"largest phone worker {result['largest_worker_mb']:.0f} MB; "
                        f"{result['enrolled']:,} enrolled in {seconds(result['seconds'])}"))  # fmt: skip

    # ------------------------------------------------------------------ plan

    def plan(self, size: int) -> None:
        """`plan` of the launch (what CI runs) against the streamed apply of the same
        launch, alternately, each in a fresh process: time, and peak RSS."""
        config_dir = self.repo("contacts", size)
        state = self.workdir / "states" / f"planbench-{size}.db"
        state.parent.mkdir(parents=True, exist_ok=True)
        root = Path(__file__).resolve().parent.parent
        runs: dict[str, list[dict[str, Any]]] = {"plan": [], "apply": []}
        for run in range(PLAN_RUNS):
            for kind in ("apply", "plan"):
                progress(f"plan {size_name(size)}: {kind}, run {run + 1} of {PLAN_RUNS}")
                done = subprocess.run(
                    [sys.executable, "-m", "bench.planbench", kind, str(config_dir), str(state)],
                    cwd=root,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                runs[kind].append(json.loads(done.stdout.strip().splitlines()[-1]))
        plan, apply = (sorted(runs[k], key=lambda r: r["seconds"]) for k in ("plan", "apply"))
        planned, applied = plan[len(plan) // 2], apply[len(apply) // 2]
        ratio = planned["seconds"] / applied["seconds"]
        peak = max(r["peak_mb"] for r in runs["plan"])
        counts = ", ".join(f"{k} {v:,}" for k, v in planned["summary"].items() if v)
        name = size_name(size)
        self.add(Figure("plan", name, "`plan` of the launch (streamed, JSON written) vs its "
                        "streamed apply", seconds(planned["seconds"]), f"{ratio:.2f}x",
                        "<= 1.2x", verdict(ratio <= 1.2),
                        note=f"apply {seconds(applied['seconds'])}; {counts}; runs: plan "
                        f"{', '.join(seconds(r['seconds']) for r in runs['plan'])}, apply "
                        f"{', '.join(seconds(r['seconds']) for r in runs['apply'])}"))  # fmt: skip
        self.add(Figure("plan", name, "peak RSS (VmHWM) of a process making `plan` of the "
                        "launch", f"{peak:.0f} MB", "", "< 300 MB", verdict(peak < 300),
                        note=f"after start-up {planned['start_mb']:.0f} MB; largest phone "
                        f"worker {planned['largest_worker_mb']:.0f} MB; the streamed apply "
                        f"{max(r['peak_mb'] for r in runs['apply']):.0f} MB"))  # fmt: skip

    # ------------------------------------------------------------------ apply

    def apply(self) -> None:
        config_dir = self.repo("apply", APPLY_CONTACTS, rate=100)
        prepared = self.workdir / "states" / "apply-prepared.db"
        work = self.workdir / "states" / "apply.db"
        progress("apply throughput: preparing")
        throughput.prepare(config_dir, prepared)
        pg = self.postgres()
        prepared_url = pg.load(prepared)
        backends: list[tuple[str, Callable[[], AbstractContextManager[StateArg]]]] = [
            ("SQLite", partial(sqlite_copy, prepared, work)),
            ("PostgreSQL", partial(pg.fresh, prepared_url)),
        ]
        with throughput.local_twilio_server() as url:
            for backend, fresh in backends:
                for provider, where in (("outbox", None), ("twilio", url)):
                    costs = []
                    for run in range(APPLY_RUNS):
                        progress(f"apply {provider} on {backend}: run {run + 1} of {APPLY_RUNS}")
                        with fresh() as state:
                            costs.append(throughput.send_all(config_dir, state, provider, where))
                    self._apply_figure(costs, provider, backend)

    def _apply_figure(self, costs: list[throughput.ApplyCost], provider: str, backend: str) -> None:
        costs.sort(key=lambda c: c.engine_per_message)
        cost = costs[len(costs) // 2]
        engine_ms = cost.engine_per_message * 1000
        label = "outbox provider" if provider == "outbox" else "local Twilio server"
        on = "" if backend == "SQLite" else f", {backend} state"
        target = 0.5 if backend == "SQLite" else None
        self.add(Figure("apply", f"{cost.messages:,} msgs", f"engine's own cost per "
                        f"message, {label}{on}", f"{engine_ms:.3f} ms",
                        f"{cost.engine_per_message / cost.per_message:.0%} of the apply",
                        f"< {target} ms" if target else "",
                        verdict(engine_ms < target) if target else "",
                        note=f"CPU {cost.engine_cpu_per_message * 1000:.3f} ms; "
                        f"whole apply {seconds(cost.total)}, "
                        f"{cost.per_message * 1000:.2f} ms a message with the provider; "
                        f"{cost.messages / cost.total:,.0f} messages/s"))  # fmt: skip

    # ------------------------------------------------------------------ sendout

    def sendout(self) -> None:
        rate = 100.0
        config_dir = self.repo("apply", APPLY_CONTACTS, rate=rate)
        prepared = self.workdir / "states" / "sendout-prepared.db"
        work = self.workdir / "states" / "sendout.db"
        progress("send-out: preparing")
        throughput.prepare(config_dir, prepared, concurrency=None)
        costs = []
        with throughput.local_twilio_server(latency=0.15) as url:
            for run in range(APPLY_RUNS):
                progress(f"send-out at 150 ms a create: run {run + 1} of {APPLY_RUNS}")
                with sqlite_copy(prepared, work) as state:
                    costs.append(throughput.send_out(config_dir, state, url, rate))
        cost = sorted(costs, key=lambda c: c.achieved)[len(costs) // 2]
        spread = ", ".join(f"{c.achieved:.0f}/s" for c in costs)
        self.add(Figure("sendout", f"{cost.messages:,} msgs", "messages a second handed to a "
                        "Twilio answering each create after 150 ms, 100-a-second sender",
                        f"{cost.achieved:.0f}/s", f"{cost.share:.0%} of messagesPerSecond",
                        ">= 80%", verdict(cost.share >= 0.8),
                        note=f"whole apply {seconds(cost.total)}, hand-overs "
                        f"{seconds(cost.span)}; {cost.peak} calls in flight at the most; "
                        f"runs {spread}"))  # fmt: skip
        engine_ms = cost.engine_per_message * 1000
        self.add(Figure("sendout", f"{cost.messages:,} msgs", "engine's own cost per message "
                        "(CPU of the apply's thread; the calls run on the pool)",
                        f"{engine_ms:.3f} ms", "", "< 0.5 ms", verdict(engine_ms < 0.5),
                        note=f"CPU of the whole process {cost.process_cpu / cost.messages * 1000:.3f} "
                        "ms a message, the SDK's HTTP calls included"))  # fmt: skip

    # ------------------------------------------------------------------ incsync

    def incsync(self, size: int) -> None:
        incsync.measure(self, size, size_name(size))

    # ------------------------------------------------------------------ validate

    def validate(self) -> None:
        root = self.workdir / f"validate-seed{SEED}"
        if not (root / "ready.json").exists():
            progress(f"generating the validate repo in {root}")
            shutil.rmtree(root, ignore_errors=True)
            _, files = write_validate_repo(root, SEED)
            (root / "ready.json").write_text(json.dumps([str(f) for f in files]))
        files = [Path(f) for f in json.loads((root / "ready.json").read_text())]
        ours, theirs = Series(), Series()
        for run in range(VALIDATE_RUNS):
            progress(f"validate: run {run + 1} of {VALIDATE_RUNS}")
            ours.add(validation.campaignctl_validate(root / "campaigns.d"))
            theirs.add(validation.check_jsonschema(files, root))
        self.add(Figure("validate", f"{len(files):,} files", "campaignctl validate (schema, "
                        "models, 100,000 contacts parsed, cross-file checks)",
                        seconds(ours.wall), f"{ours.wall / theirs.wall:.2f}x check-jsonschema",
                        note=f"check-jsonschema (schema only, CSVs not read) "
                        f"{seconds(theirs.wall)}; CPU {seconds(ours.cpu)} vs "
                        f"{seconds(theirs.cpu)}"))  # fmt: skip


def _only(text: str) -> set[str]:
    names = {name.strip() for name in text.split(",") if name.strip()}
    unknown = names - set(ONLY)
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"choose among {', '.join(ONLY)}")
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="10k and 100k contacts only")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "campaignctl-bench",
                        help="where generated data and states go (reused between runs)")  # fmt: skip
    parser.add_argument("--write", action=argparse.BooleanOptionalAction, default=None,
                        help="write bench/RESULTS.md (default: on a full run)")  # fmt: skip
    parser.add_argument("--only", type=_only, default=set(ONLY[1:]), metavar="NAME[,NAME]",
                        help=f"run only these benchmarks: {', '.join(ONLY)}")  # fmt: skip
    args = parser.parse_args(argv)
    sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
    only: set[str] = args.only
    if "launch" in only:  # the largest group: launched, and the memory that takes
        sizes = sizes[-1:]
        only |= {"enroll", "memory"}
    started = time.perf_counter()
    info = machine()
    for key, value in info.items():
        print(f"{key}: {value}")
    with ExitStack() as stack:
        bench = Bench(args.workdir, stack)
        for size in sizes:
            if only & {"enroll", "tick"} or ("forecast" in only and size == 100_000):
                launched = alone(bench.enroll, size)
                if "tick" in only:
                    alone(bench.ticks, size, launched)
                if "forecast" in only and size == 100_000:
                    alone(bench.forecast, size, launched)
        if "memory" in only:
            alone(bench.memory, sizes[-1])
        if "plan" in only:
            alone(bench.plan, sizes[-1])
        if "apply" in only:
            alone(bench.apply)
        if "sendout" in only:
            alone(bench.sendout)
        if "validate" in only:
            alone(bench.validate)
        if "dashboard" in only:
            alone(dashboard.run, bench, sizes[-1])
        if "incsync" in only:
            alone(bench.incsync, sizes[-1])
    minutes = (time.perf_counter() - started) / 60
    info["load average at the end"] = load_average()
    print(f"load average at the end: {info['load average at the end']}")
    print(f"done in {minutes:.1f} minutes")
    if args.write or (args.write is None and not args.quick and only == set(ONLY[1:])):
        command = "make bench" if not args.quick else "python -m bench.run --quick"
        write_results(RESULTS, markdown(bench.figures, info, command, minutes))
        print(f"figures written to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
