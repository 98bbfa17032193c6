"""The forecast benchmark: `campaignctl forecast` of 90 days over the steady state the tick
benchmark makes (every live enrollment had step 1 two days ago, so step 2 of all of them
falls due together on day 28, and step 3 45 days after it goes out), from the afternoon
the tick benchmark plans at. The whole call is timed: the files loaded, the state read
once, every tick at which something can change simulated."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bench import scenarios
from bench.measure import Figure, Series, seconds, timed, verdict
from campaignctl.app.forecast import Forecast, forecast
from campaignctl.store import Store

DAYS = 90
RUNS = 3
TARGET_SECONDS = 10.0
GRID = DAYS * 24 * 4  # the controller's ticks over those days (every 15 minutes: bench/repo.py)


def steady_state(launched: Path) -> Path:
    """A copy of the launched state, made steady as the tick benchmark makes it."""
    steady = launched.with_name(f"forecast-{launched.stem}.db")
    scenarios.copy_state(launched, steady)
    scenarios.age_state(steady, scenarios.AFTERNOON)
    return steady


def run(config_dir: Path, state: Path) -> Forecast:
    """One forecast, as the command makes it."""
    with Store.open_for_reading(state) as store:
        return forecast(config_dir, store, scenarios.AFTERNOON, DAYS)


def measure(config_dir: Path, launched: Path, size: str, progress: Callable[[str], None]) -> Figure:
    state = steady_state(launched)
    series = Series()
    result: Forecast | None = None
    for attempt in range(RUNS):
        progress(f"forecast {size}: run {attempt + 1} of {RUNS}")
        sample, result = timed(lambda: run(config_dir, state))
        series.add(sample)
    assert result is not None
    busy = sum(1 for _, messages, _ in result.per_day() if messages)
    runs_out = result.runs_out.isoformat() if result.runs_out else "beyond the horizon"
    return Figure(
        "forecast",
        size,
        f"forecast of {DAYS} days over the steady state (read once, ticks simulated)",
        seconds(series.wall),
        "",
        f"< {TARGET_SECONDS:.0f} s",
        verdict(series.wall < TARGET_SECONDS),
        note=f"{result.messages:,} messages on {busy} days, credits last {runs_out}; "
        f"{result.ticks:,} of the {GRID:,} ticks simulated; "
        f"CPU {seconds(series.cpu)}; runs {series.spread()}",
    )
