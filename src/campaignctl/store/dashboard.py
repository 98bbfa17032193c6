"""The reads of the status page (`campaignctl dashboard`): every count it shows, from one
consistent read transaction, each an aggregate over an index that holds all it needs.

    facts = store.dashboard_facts(first_day, last_day)

A state of a million enrollments and as many attempts is counted from its indexes, never
from its rows (each carries the contact's fields or the message's body): the funnel from
`enrollments_funnel` (campaign, status, end_reason, steps_sent) and `attempts_funnel`
(campaign, step, status, delivery_status, credits), the sends of each day from
`attempts_sent_at` (campaign, created_at, status) of the sent attempts, and the balance of
each day from `ledger_at` (at, amount). The days are counted one range at a time (a subquery per
campaign and day), which both databases answer from the index in order, with no sort.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol, runtime_checkable

from campaignctl.store.codec import launch_value
from campaignctl.store.db import StoreBase, opt_from_text, to_text
from campaignctl.store.dialect import Conn


@dataclass(frozen=True)
class CampaignRow:
    """A campaign as the state observes it."""

    name: str
    status: str
    reason: str | None
    template: str | None
    prospect_group: str | None
    launched_at: datetime | None
    updated_at: datetime | None


@dataclass(frozen=True)
class DashboardFacts:
    """Everything the page counts, as the state held it at one moment (`serial`)."""

    serial: int
    balance: int
    suspended: str | None
    suspended_at: datetime | None
    campaigns: list[CampaignRow]
    # (campaign, status, end_reason, steps_sent, count) of every enrollment
    enrollments: list[tuple[str, str, str | None, int, int]]
    # (campaign, step, status, delivery_status, count, credits) of every attempt
    attempts: list[tuple[str, int, str, str | None, int, int]]
    # (campaign, day) -> messages recorded sent that UTC day, for the days asked (no zeros)
    sent_per_day: dict[tuple[str, date], int]
    # day -> the sum of the ledger's entries that UTC day, for the days asked (no zeros)
    ledger_per_day: dict[date, int]


@runtime_checkable
class DashboardReader(Protocol):
    """What the status page reads: its counts, and where the state is (for its heading)."""

    where: str

    def dashboard_facts(self, first: date, last: date) -> DashboardFacts: ...


def _days(first: date, last: date) -> list[tuple[date, str, str]]:
    """Each UTC day from first to last, with the instants (stored form) it begins and ends."""
    days: list[tuple[date, str, str]] = []
    day = first
    while day <= last:
        start = datetime.combine(day, time(0), tzinfo=UTC)
        days.append((day, to_text(start), to_text(start + timedelta(days=1))))
        day += timedelta(days=1)
    return days


def _with_days(days: Sequence[tuple[date, str, str]]) -> tuple[str, list[Any]]:
    """The days as a table both databases take (`WITH days ... AS (VALUES ...)`), and its
    values."""
    rows = ", ".join("(?, ?, ?)" for _ in days)
    return f"WITH days (day, start_at, stop_at) AS (VALUES {rows}) ", [
        value for day, start, stop in days for value in (day.isoformat(), start, stop)
    ]


def _sent_per_day(conn: Conn, days: Sequence[tuple[date, str, str]]) -> dict[tuple[str, date], int]:
    if not days:
        return {}
    with_days, params = _with_days(days)
    rows = conn.execute(
        f"{with_days}SELECT campaigns.name, days.day, (SELECT count(*) FROM attempts"
        " WHERE attempts.status = 'sent' AND attempts.campaign = campaigns.name"
        " AND attempts.created_at >= days.start_at AND attempts.created_at < days.stop_at)"
        " FROM campaigns, days",
        params,
    ).fetchall()
    return {(str(name), date.fromisoformat(day)): int(n) for name, day, n in rows if n}


def _ledger_per_day(conn: Conn, days: Sequence[tuple[date, str, str]]) -> dict[date, int]:
    if not days:
        return {}
    with_days, params = _with_days(days)
    rows = conn.execute(
        f"{with_days}SELECT days.day, (SELECT sum(amount) FROM ledger"
        " WHERE ledger.at >= days.start_at AND ledger.at < days.stop_at) FROM days",
        params,
    ).fetchall()
    return {date.fromisoformat(day): int(total) for day, total in rows if total}


class DashboardMixin(StoreBase):
    def dashboard_facts(self, first: date, last: date) -> DashboardFacts:
        """The page's counts; the days from `first` to `last` (UTC, both included) for the
        sends and the ledger of each day."""
        days = _days(first, last)
        with self._read() as conn:
            serial, balance, suspended, suspended_at = conn.execute(
                "SELECT serial, balance, suspended_reason, suspended_at FROM meta WHERE id = 1"
            ).fetchone()
            campaigns = [
                CampaignRow(
                    name=name,
                    status=status,
                    reason=reason,
                    template=None if launch is None else launch_value(launch, "template"),
                    prospect_group=None
                    if launch is None
                    else launch_value(launch, "prospect_group"),
                    launched_at=opt_from_text(launched_at),
                    updated_at=opt_from_text(updated_at),
                )
                for name, status, reason, launch, launched_at, updated_at in conn.execute(
                    "SELECT name, status, reason, launch, launched_at, updated_at"
                    " FROM campaigns ORDER BY name"
                )
            ]
            enrollments = [
                (str(c), str(s), r, int(k), int(n))
                for c, s, r, k, n in conn.execute(
                    "SELECT campaign, status, end_reason, steps_sent, count(*) FROM enrollments"
                    " GROUP BY campaign, status, end_reason, steps_sent"
                )
            ]
            attempts = [
                (str(c), int(k), str(s), d, int(n), int(credits or 0))
                for c, k, s, d, n, credits in conn.execute(
                    "SELECT campaign, step, status, delivery_status, count(*), sum(credits)"
                    " FROM attempts GROUP BY campaign, step, status, delivery_status"
                )
            ]
            sent = _sent_per_day(conn, days)
            ledger = _ledger_per_day(conn, days)
        return DashboardFacts(
            serial=int(serial),
            balance=int(balance),
            suspended=suspended,
            suspended_at=opt_from_text(suspended_at),
            campaigns=campaigns,
            enrollments=enrollments,
            attempts=attempts,
            sent_per_day=sent,
            ledger_per_day=ledger,
        )

    def due_counts(self, now: datetime) -> dict[str, tuple[int, int, int]]:
        """Per campaign with live enrollments: (live, due at `now`, attempts in flight)."""
        with self._read() as conn:
            live = {
                str(name): int(n)
                for name, n in conn.execute(
                    "SELECT name, live_count FROM campaigns WHERE live_count > 0"
                )
            }
            due = {
                str(name): int(n)
                for name, n in conn.execute(
                    "SELECT campaign, count(*) FROM enrollments"
                    " WHERE status = 'live' AND next_due_at <= ? GROUP BY campaign",
                    [to_text(now)],
                )
            }
            flying = {
                str(name): int(n)
                for name, n in conn.execute(
                    "SELECT campaign, count(*) FROM attempts"
                    " WHERE status IN ('pending', 'unknown') GROUP BY campaign"
                )
            }
        return {name: (n, due.get(name, 0), flying.get(name, 0)) for name, n in live.items()}
