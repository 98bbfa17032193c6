"""The page's contents, read from the state and drawn into HTML: the overview of every
campaign (index.html) and one number's history (explain.html).

The overview's counts come from one read (store/dashboard.py); what waits now and the
forecast come from their background panels (background.py); everything else is drawn here.
The explain page shows exactly what `campaignctl explain --format json` says of the number.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jinja2

from campaignctl.app.waiting import next_step
from campaignctl.core.instants import format_instant
from campaignctl.core.phones import InvalidPhone, normalize
from campaignctl.dashboard import model, sources
from campaignctl.dashboard.background import Background, Moment, Result
from campaignctl.dashboard.svg import Series, chart
from campaignctl.dashboard.waits import Waits, waits_now
from campaignctl.render.status import explain_json
from campaignctl.store import Store

HISTORY_DAYS = 90  # the sends and balance shown before today, today included
FORECAST_DAYS = 90
PANEL_WAIT_SECONDS = 0.3  # how long a request waits for its slow panels, all together
WAITS_EVERY = timedelta(minutes=1)  # what waits now is computed again at most this often
FORECAST_EVERY = timedelta(minutes=15)  # ... the forecast (a reconcile interval)
TEMPLATES = ("index.html", "explain.html", "login.html", "message.html")


@dataclass(frozen=True)
class Options:
    """How the page is shown."""

    mask_numbers: bool = False
    optout_threshold: float = model.DEFAULT_OPTOUT_THRESHOLD
    refresh_seconds: int = 60


def _floor(at: datetime, every: timedelta) -> datetime:
    epoch = datetime(2000, 1, 1, tzinfo=at.tzinfo)
    return at - (at - epoch) % every


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("campaignctl.dashboard", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["instant"] = lambda at: "-" if at is None else format_instant(at)
    env.filters["count"] = lambda n: f"{n:,}"
    return env


class Pages:
    """Builds and renders the pages; the slow panels run beside the requests."""

    def __init__(
        self,
        config_dir: Path,
        now: Callable[[], datetime],
        options: Options,
    ) -> None:
        self.config_dir = config_dir
        self.now = now
        self.options = options
        self.templates = environment()
        self.templates.filters["phone"] = self.phone
        for name in TEMPLATES:  # compiled as the server starts, not by its first request
            self.templates.get_template(name)
        self._store: Store | None = None
        self.waits: Background[Waits] = Background(
            "waits",
            lambda moment, stopped: waits_now(config_dir, self._open(), moment.now, stopped),
            now,
        )
        self.forecast: Background[sources.ForecastDays] = Background(
            "forecast",
            lambda moment, stopped: sources.forecast_days(
                config_dir, self._open(), moment.now, FORECAST_DAYS, stopped
            ),
            now,
        )

    def attach(self, panels: Store) -> None:
        """The connection to the state the slow panels read on (not the requests' own)."""
        self._store = panels

    def _open(self) -> Store:
        assert self._store is not None, "a panel runs only once the page has opened the state"
        return self._store

    def phone(self, number: str | None) -> str:
        if number is None:
            return "-"
        return model.mask_phone(number) if self.options.mask_numbers else number

    def render(self, template: str, **context: Any) -> str:
        return self.templates.get_template(template).render(options=self.options, **context)

    # ------------------------------------------------------------------ the overview

    def _panels(
        self, serial: int, now: datetime
    ) -> tuple[Result[Waits] | None, Result[sources.ForecastDays] | None]:
        deadline = time.monotonic() + PANEL_WAIT_SECONDS
        waits = self.waits.get(Moment(serial, _floor(now, WAITS_EVERY)), PANEL_WAIT_SECONDS)
        left = max(deadline - time.monotonic(), 0.0)
        forecast = self.forecast.get(Moment(serial, _floor(now, FORECAST_EVERY)), left)
        return waits, forecast

    def overview(self, store: Store) -> str:
        now = self.now()
        last = now.date()
        first = last - timedelta(days=HISTORY_DAYS - 1)
        facts = store.dashboard_facts(first, last)
        views = model.campaign_views(facts, first, last, self.options.optout_threshold)
        waits, forecast = self._panels(facts.serial, now)
        ahead = forecast.value if forecast is not None else None
        days = model.days_between(first, last)
        history = model.balance_per_day(facts.balance, facts.ledger_per_day, days)
        sent = [Series("sent", model.sent_per_day(views), "bar")]
        balance = [Series("balance", history, "line", "balance")]
        if ahead is not None:
            sent.append(
                Series("forecast", [(d, m) for d, m, _ in ahead.per_day], "bar", "forecast")
            )
            balance.append(Series("burn-down", model.burn_down(facts.balance, ahead.per_day),
                                  "line", "forecast"))  # fmt: skip
        campaign_charts = {
            view.name: chart(
                [Series("sent", view.sent_per_day, "bar"),
                 *([Series("forecast", ahead.by_campaign.get(view.name, []), "bar", "forecast")]
                   if ahead is not None else [])],
                title=f"{view.name}: messages sent per day", today=last, height=120,
            )
            for view in views
        }  # fmt: skip
        return self.render(
            "index.html",
            now=now,
            where=store.where,
            facts=facts,
            views=views,
            waits=waits,
            forecast=forecast,
            sent_chart=chart(sent, title="Messages sent per day, all campaigns", today=last),
            balance_chart=chart(balance, title="Credit balance at the end of each day", today=last),
            campaign_charts=campaign_charts,
            replies=sources.latest_replies(store),
            review=sources.review_queue(store),
            computing=waits is None or forecast is None,
        )

    # ------------------------------------------------------------------ one number

    def explain(self, store: Store, raw: str) -> tuple[str, str]:
        """The explain page for a number as typed: (status, HTML)."""
        query = raw.strip()
        try:
            phone = normalize(query, default_region="US").e164
        except InvalidPhone as exc:
            return "400 Bad Request", self.render(
                "explain.html", query=query, problem=f"{query!r}: {exc.reason}", found=None
            )
        query = self.phone(phone) if self.options.mask_numbers else query  # not echoed
        optout = store.optout_of(phone)
        enrollments = store.enrollments_of(phone)
        events = store.explain(phone)
        if not events and optout is None:
            problem = f"{self.phone(phone)}: unknown number (the state has no record of it)"
            return "404 Not Found", self.render(
                "explain.html", query=query, problem=problem, found=None
            )
        waiting = next_step(self.config_dir, store, phone, self.now())
        found = json.loads(explain_json(phone, optout, enrollments, events, waiting))
        return "200 OK", self.render("explain.html", query=query, problem=None, found=found)

    def close(self) -> None:
        self.waits.close()
        self.forecast.close()
