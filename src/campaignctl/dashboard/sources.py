"""The one place that finds the page's optional sources: the forecast of sends and credits
(`campaignctl.app.forecast`) and the replies kept in the state (with their review queue).

A panel whose source this installation lacks says "not available"; nothing else of the page
depends on them. Each probe answers None for a missing source and adapts what it finds to
the small values the page draws (ForecastDays, ReplyRow), so wiring a source in changes this
module only.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

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


def _module_function(module: str, name: str) -> Callable[..., Any] | None:
    try:
        found = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module.startswith(exc.name):
            return None  # this installation has no such module
        raise
    function = getattr(found, name, None)
    return function if callable(function) else None


def forecast_available() -> bool:
    return _module_function("campaignctl.app.forecast", "forecast") is not None


def forecast_days(config_dir: Path, store: object, now: datetime, days: int) -> ForecastDays | None:
    """The forecast of the next `days` days (app/forecast.py), or None without it."""
    forecast = _module_function("campaignctl.app.forecast", "forecast")
    if forecast is None:
        return None
    found = forecast(config_dir, store, now, days=days)
    by_campaign: dict[str, list[tuple[date, int]]] = {}
    for row in getattr(found, "rows", ()):
        by_campaign.setdefault(str(row.campaign), []).append((row.day, int(row.messages)))
    per_day = [(day, int(messages), int(credits)) for day, messages, credits in found.per_day()]
    return ForecastDays(per_day, found.runs_out, by_campaign)


def _rows(found: Sequence[Any]) -> list[ReplyRow]:
    return [
        ReplyRow(
            at=getattr(row, "at", None) or getattr(row, "received_at", None),
            phone=str(getattr(row, "phone", None) or getattr(row, "from_", "")),
            campaign=getattr(row, "campaign", None),
            step=getattr(row, "step", None),
            text=str(getattr(row, "text", None) or getattr(row, "body", "")),
            did=getattr(row, "did", None),
        )
        for row in found
    ]


def latest_replies(store: object, limit: int = LATEST_REPLIES) -> list[ReplyRow] | None:
    """The latest replies kept in the state, newest first, or None where the state keeps
    none (store/replies.py)."""
    replies = getattr(store, "replies", None)
    if not callable(replies):
        return None
    return _rows(replies(limit=limit))


def review_queue(store: object) -> list[ReplyRow] | None:
    """The numbers held until a person decides (their reply may mean stop: `replies
    review`), oldest first, or None where the state keeps no such queue."""
    holds = getattr(store, "review_holds", None)
    if not callable(holds):
        return None
    return [
        ReplyRow(at=hold.since, phone=hold.phone, campaign=None, step=None, text=hold.text,
                 did="review")
        for hold in holds()
    ]  # fmt: skip
