"""The forecast as a use case: the messages and credits each campaign is expected to send, day
by day, and the day the balance runs out, from the files and the state as they are now.

    result = forecast(config_dir, store, now, days=90)
    result.rows        # ForecastDay(day, campaign, messages, credits), days with something
    result.runs_out    # the first day a due message finds the balance short, or None
    result.per_day()   # (day, messages, credits) for every day, zeros included

It reads a snapshot of the state and every live enrollment due within the horizon (with
the order of their rows), and writes nothing: the real planner is run forward over
simulated ticks on that snapshot in memory (`campaignctl.app.forecast_sim`). What cannot be foreseen is assumed not to happen: no
contact is added, no one replies or opts out, no credits are added, the files stay as they
are (`Forecast.assumptions` says so, for the output).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path

from campaignctl.app.forecast_sim import Simulation, midnight
from campaignctl.app.plan import Planned, collection_paused, load_desired
from campaignctl.core.types import Desired, Plan, Settings, Snapshot
from campaignctl.errors import StateError
from campaignctl.store.forecast import ForecastReader, Upcoming

DAYS = 90
READS = 3  # snapshots read before giving up on a state that keeps changing

# a configuration with no campaign: its snapshot reads only the state's own facts (the
# balance, the campaigns, the sends of the day), none of any group or enrollment
_NO_CAMPAIGNS = Desired({}, {}, {}, frozenset(), Settings(), "sha256:none")


@dataclass(frozen=True)
class ForecastDay:
    """What one campaign is expected to send on one UTC day."""

    day: date
    campaign: str
    messages: int
    credits: int


@dataclass(frozen=True)
class Forecast:
    """The expected sends of `days` UTC days from `start`, with the balance at the start."""

    start: date
    days: int
    balance: int
    rows: list[ForecastDay]  # days with something, by day then campaign
    runs_out: date | None  # the first day the balance cannot pay for a message that is due
    assumptions: str
    held: Mapping[str, str] = field(default_factory=dict)  # campaigns a broken file holds
    ticks: int = 0  # the ticks simulated: only those at which something could change

    def per_day(self) -> list[tuple[date, int, int]]:
        """(day, messages, credits) summed over the campaigns, for every day of the
        horizon, zeros included."""
        sums: dict[date, tuple[int, int]] = {}
        for row in self.rows:
            messages, credits = sums.get(row.day, (0, 0))
            sums[row.day] = (messages + row.messages, credits + row.credits)
        days = (self.start + timedelta(days=n) for n in range(self.days))
        return [(day, *sums.get(day, (0, 0))) for day in days]

    @property
    def messages(self) -> int:
        return sum(row.messages for row in self.rows)

    @property
    def credits(self) -> int:
        return sum(row.credits for row in self.rows)


def forecast(
    config_dir: Path,
    store: ForecastReader,
    now: datetime,
    days: int = DAYS,
    stopped: Callable[[], bool] = lambda: False,
) -> Forecast:
    """The forecast of the files under `config_dir` on `store`, from `now` for `days` UTC
    days (the day of `now` first). `stopped` is asked before each simulated tick: True
    gives the forecast up (Cancelled)."""
    with collection_paused():
        desired = load_desired(config_dir, store)
    return forecast_desired(desired, store, now, days, stopped)


def forecast_desired(
    desired: Desired,
    store: ForecastReader,
    now: datetime,
    days: int = DAYS,
    stopped: Callable[[], bool] = lambda: False,
) -> Forecast:
    """The forecast of a desired state already loaded (as `plan` has it) on `store`."""
    if days < 1:
        raise ValueError("a forecast covers one day at least")
    end = midnight(now.date() + timedelta(days=days))
    with collection_paused():
        snapshot, upcoming, sent_today = _read(desired, store, now, end)
        simulation = Simulation(
            desired,
            snapshot,
            upcoming.due,
            sent_today,
            now,
            end,
            moments=upcoming.moments,
            stopped=stopped,
        )
        if snapshot.suspended is None:
            simulation.run()
    rows = [
        ForecastDay(day, campaign, messages, credits)
        for (day, campaign), (messages, credits) in sorted(simulation.totals.items())
    ]
    return Forecast(
        start=now.date(),
        days=days,
        balance=snapshot.balance,
        rows=rows,
        runs_out=simulation.runs_out,
        assumptions=assumptions(desired, snapshot),
        held=desired.held,
        ticks=simulation.ticks,
    )


def _read(
    desired: Desired, store: ForecastReader, now: datetime, end: datetime
) -> tuple[Snapshot, Upcoming, dict[str, int]]:
    """The state as a snapshot at `now` holds it (the sends of the day of `now` by sender,
    for the daily limits), and every live enrollment due before `end` (all the forecast can
    send to) with its row id, oldest due first, and its number's last send; read again until
    both come from the same serial of the state."""
    for _ in range(READS):
        snapshot = store.snapshot(desired, now, with_due=False)
        upcoming = store.upcoming(end)
        if upcoming.serial == snapshot.serial:
            last_sent = {**snapshot.last_sent, **upcoming.last_sent}
            return replace(snapshot, last_sent=last_sent), upcoming, dict(snapshot.sent_today)
    raise StateError("the state kept changing while the forecast read it; try again")


def assumptions(desired: Desired, snapshot: Snapshot) -> str:
    """What the forecast takes for granted, in one sentence for its readers."""
    every = _interval_text(desired.settings.reconcile_interval)
    text = (
        "Assumes nothing new happens: no contact is added, no one replies or opts out, no "
        "credits are added and the files stay as they are (a number waiting for another "
        f"campaign to end is not counted joining it); the controller ticks every {every}."
    )
    if snapshot.suspended is not None:
        text += f" All sending is suspended ({snapshot.suspended}): nothing goes out until resumed."
    return text


def _interval_text(interval: timedelta) -> str:
    seconds = int(interval.total_seconds())
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def worth_forecasting(plan: Plan) -> bool:
    """Whether a plan's review should say how long the credits last: a campaign launches,
    or the balance is short for a message that is due."""
    return any(
        (a.type == "campaign_status" and a.from_status == "draft" and a.to_status == "active")
        or a.type == "pause"
        or (a.type == "defer" and a.reason == "insufficient_credits")
        for a in plan.actions
    )


def plan_forecast(planned: Planned, store: ForecastReader, days: int = DAYS) -> Forecast | None:
    """The forecast a plan's review shows, when it is worth one (`worth_forecasting`)."""
    if not worth_forecasting(planned.plan):
        return None
    return forecast_desired(planned.desired, store, planned.plan.now, days)
