"""The page's panels that come from beyond its counts: the forecast of sends and credits
(`campaignctl.app.forecast`), and the replies kept in the state with their review queue,
each adapted to the small values the page draws (ForecastDays, ReplyRow).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Protocol

from campaignctl.app.forecast import forecast
from campaignctl.store.forecast import ForecastReader
from campaignctl.store.replies import Reply
from campaignctl.store.review import ReviewHold

LATEST_REPLIES = 20


@dataclass(frozen=True)
class ForecastDays:
    """The forecast as the page draws it: each day of the horizon with its messages and
    credits (all campaigns), and the day the balance runs out (None: not within it)."""

    per_day: list[tuple[date, int, int]]
    runs_out: date | None
    by_campaign: dict[str, list[tuple[date, int]]]


@dataclass(frozen=True)
class ReplyRow:
    """One reply as the page lists it."""

    at: datetime | None
    phone: str
    campaign: str | None
    step: int | None
    text: str
    did: str | None


class RepliesReader(Protocol):
    """What the replies panel reads of the state (store/replies.py, store/review.py)."""

    def replies(self, *, limit: int | None = None) -> list[Reply]: ...

    def review_holds(self, *, decided: bool = False) -> list[ReviewHold]: ...


def forecast_days(
    config_dir: Path,
    store: ForecastReader,
    now: datetime,
    days: int,
    stopped: Callable[[], bool] = lambda: False,
) -> ForecastDays:
    """The forecast of the next `days` days (app/forecast.py); given up (Cancelled) once
    `stopped` says so."""
    found = forecast(config_dir, store, now, days=days, stopped=stopped)
    by_campaign: dict[str, list[tuple[date, int]]] = {}
    for row in found.rows:
        by_campaign.setdefault(row.campaign, []).append((row.day, row.messages))
    return ForecastDays(found.per_day(), found.runs_out, by_campaign)


def latest_replies(store: RepliesReader, limit: int = LATEST_REPLIES) -> list[ReplyRow]:
    """The latest replies kept in the state, newest first."""
    return [
        ReplyRow(reply.received_at, reply.phone, reply.campaign, reply.step, reply.body, reply.did)
        for reply in store.replies(limit=limit)
    ]


def review_queue(store: RepliesReader) -> list[ReplyRow]:
    """The numbers held until a person decides (their reply may mean stop: `replies
    review`), oldest first."""
    return [
        ReplyRow(hold.since, hold.phone, None, None, hold.text, "review")
        for hold in store.review_holds()
    ]
