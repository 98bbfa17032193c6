"""The status page over a million enrollments (`make bench ONLY=dashboard`).

The state is the tick benchmark's steady one (a launch of the largest group, every
enrollment sent step 1 two days before; made here when no earlier run left it): a million
enrollments, a million attempts and a million ledger debits. A copy gets this campaignctl's
schema (the summary rows the page reads, counted from the rows where an older run left the
state), then the page is rendered at the afternoon of the tick benchmark:

    in process   DashboardApp called as a WSGI application (a GET of /), the state opened
                 read-only beforehand, as a running server has it
    over HTTP    the same app served by waitress on 127.0.0.1, fetched with urllib

on SQLite, then on PostgreSQL (the state copied in with `state copy`, then vacuumed as
autovacuum does a freshly loaded table). The first request is timed in two parts: opening
the state (read-only, as the server does on its first request), then the first page. What
waits now is computed beside the requests (dashboard/background.py): it is timed on its
own, and the page is timed once it is ready.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import waitress.server
import waitress.wasyncore

from bench import scenarios
from bench.measure import Figure, Series, seconds, timed, verdict
from campaignctl.clock import FrozenClock
from campaignctl.dashboard.app import DashboardApp
from campaignctl.dashboard.waits import waits_now
from campaignctl.store import Store
from campaignctl.store.location import StateArg

if TYPE_CHECKING:
    from bench.run import Bench

RUNS = 5
TARGET_SECONDS = 1.0
NOW = scenarios.AFTERNOON


def steady_state(bench: Bench, size: int) -> Path:
    """The tick benchmark's steady state of `size` enrollments (made when missing)."""
    states = bench.workdir / "states"
    steady = states / f"steady-{size}.db"
    if steady.exists():
        return steady
    launched = states / f"launch-{size}.db"
    if not launched.exists():
        config_dir = bench.repo("contacts", size)
        print(f"  .. dashboard: launching {size:,} contacts for its state", flush=True)
        states.mkdir(parents=True, exist_ok=True)
        scenarios.fresh_state(launched)
        scenarios.launch(config_dir, launched, scenarios.NIGHT)
    scenarios.copy_state(launched, steady)
    scenarios.age_state(steady, NOW)
    return steady


def _get(app: DashboardApp) -> int:
    """One GET of / through the WSGI interface; the size of the page."""
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "QUERY_STRING": "", "SERVER_NAME":
               "bench", "SERVER_PORT": "80", "wsgi.url_scheme": "http"}  # fmt: skip
    answered: list[str] = []
    body = b"".join(app(environ, lambda status, headers, exc_info=None: answered.append(status)))  # type: ignore[arg-type, return-value]
    assert answered == ["200 OK"], answered
    return len(body)


@contextmanager
def _serving(app: DashboardApp) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = waitress.server.create_server(app, host="127.0.0.1", port=port, threads=2)
    stopping = threading.Event()

    def run() -> None:
        while not stopping.is_set():
            waitress.wasyncore.loop(timeout=0.05, map=server._map, count=1)
        server.task_dispatcher.shutdown()
        waitress.wasyncore.close_all(server._map)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        stopping.set()
        thread.join(10)


def _fetch(url: str) -> int:
    with urllib.request.urlopen(url, timeout=60) as response:
        assert response.status == 200
        return len(response.read())


def _page(bench: Bench, label: str, size: str, state: StateArg, config_dir: Path) -> None:
    app = DashboardApp(state, config_dir, FrozenClock(NOW).now)
    try:
        with Store.open(state, create=False, read_only=True) as store:
            panel, waits = timed(lambda: waits_now(config_dir, store, NOW))
        live = sum(sum(found.values()) for found in waits.counts.values())
        bench.add(Figure("dashboard", size, f"what waits now, computed beside the page{label}",
                         seconds(panel.wall), note=f"{live:,} live enrollments counted; "
                         f"CPU {seconds(panel.cpu)}"))  # fmt: skip
        opened, _ = timed(app.store)
        first, length = timed(lambda: _get(app))  # starts the panels computed beside it
        panels = _wait_for_panels(app)
        _measure(bench, size, f"page render in process (WSGI call){label}", lambda: _get(app),
                 (opened.wall, first.wall, panels), length)  # fmt: skip
        with _serving(app) as url:
            _measure(bench, size, f"page over HTTP (waitress, urllib){label}",
                     lambda: _fetch(url), None, length)  # fmt: skip
    finally:
        app.close()


def _wait_for_panels(app: DashboardApp) -> float:
    """Render until both slow panels (what waits now, the forecast: computed beside the
    first requests) are shown; the seconds that took. The pages are measured after: a panel
    still computing on a thread of the process would be measured with them."""
    started = time.monotonic()
    while time.monotonic() < started + 600:
        _get(app)
        panels = (app.pages.waits.latest(), app.pages.forecast.latest())
        if all(panel is not None and panel.value is not None for panel in panels):
            return time.monotonic() - started
        time.sleep(0.5)
    raise RuntimeError("the dashboard's panels were not computed in 10 minutes")


def _measure(bench: Bench, size: str, what: str, call: Callable[[], int],
             cold: tuple[float, float, float] | None, length: int) -> None:  # fmt: skip
    series = Series()
    for _ in range(RUNS):
        sample, _ = timed(call)
        series.add(sample)
    first = (
        f"opening the state {seconds(cold[0])}, then the first page {seconds(cold[1])}, its "
        f"two slow panels computed beside it in {cold[2]:.0f} s (before the runs); "
        if cold is not None
        else ""
    )
    bench.add(Figure("dashboard", size, what, seconds(series.wall), "",
                     f"< {TARGET_SECONDS:g} s", verdict(series.wall < TARGET_SECONDS),
                     note=f"{first}page {length / 1024:.0f} KiB; CPU {seconds(series.cpu)}; "
                     f"runs {series.spread()}"))  # fmt: skip


def run(bench: Bench, size: int) -> None:
    """The dashboard benchmark on the steady state of `size` enrollments."""
    steady = steady_state(bench, size)
    config_dir = bench.repo("contacts", size)
    state = steady.with_name(f"dashboard-{size}.db")
    scenarios.copy_state(steady, state)
    name = f"{size // 1_000_000}M" if size >= 1_000_000 else f"{size // 1000}k"
    Store.open(state).close()  # a state left by an older run gets the page's summary
    _page(bench, "", name, state, config_dir)
    pg = bench.postgres()
    url = pg.load(state)
    _page(bench, ", PostgreSQL", name, url, config_dir)
