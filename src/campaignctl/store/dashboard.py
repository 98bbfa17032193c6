"""The reads of the status page (`campaignctl dashboard`): every count it shows, from one
consistent read transaction, each read from the summary rows the state keeps beside its
tables (store/summary.py), so a page costs the same on a state of a million enrollments as
on one of a hundred.

    facts = store.dashboard_facts(first_day, last_day)

The funnel of enrollments (campaign, status, end_reason, steps_sent) and of attempts
(campaign, step, status, delivery_status, credits) are a few rows each; the sends and the
ledger of the days asked are a range of rows keyed by day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol, runtime_checkable

from campaignctl.store.codec import launch_value
from campaignctl.store.db import DamagedValue, StoreBase, opt_from_text, shown, to_text
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


def _none_if_empty(value: str) -> str | None:
    """A key of the summary as the column had it ('' stands for NULL there)."""
    return value or None


def _day(text: str) -> date:
    """A day of the summary (YYYY-MM-DD, cut from a stored instant)."""
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        raise DamagedValue(f"the summary's day {shown(text)} cannot be read") from None


def _sent_per_day(conn: Conn, first: date, last: date) -> dict[tuple[str, date], int]:
    rows = conn.execute(
        "SELECT campaign, day, n FROM summary_sent_days WHERE day >= ? AND day <= ? AND n <> 0",
        [first.isoformat(), last.isoformat()],
    ).fetchall()
    return {(str(name), _day(day)): int(n) for name, day, n in rows}


def _ledger_per_day(conn: Conn, first: date, last: date) -> dict[date, int]:
    rows = conn.execute(
        "SELECT day, amount FROM summary_ledger_days WHERE day >= ? AND day <= ? AND amount <> 0",
        [first.isoformat(), last.isoformat()],
    ).fetchall()
    return {_day(day): int(total) for day, total in rows}


class DashboardMixin(StoreBase):
    def dashboard_facts(self, first: date, last: date) -> DashboardFacts:
        """The page's counts; the days from `first` to `last` (UTC, both included) for the
        sends and the ledger of each day."""
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
                (str(c), str(s), _none_if_empty(r), int(k), int(n))
                for c, s, r, k, n in conn.execute(
                    "SELECT campaign, status, end_reason, steps_sent, n FROM summary_enrollments"
                    " WHERE n <> 0 ORDER BY campaign, status, end_reason, steps_sent"
                )
            ]
            attempts = [
                (str(c), int(k), str(s), _none_if_empty(d), int(n), int(credits))
                for c, k, s, d, n, credits in conn.execute(
                    "SELECT campaign, step, status, delivery_status, n, credits"
                    " FROM summary_attempts WHERE n <> 0"
                    " ORDER BY campaign, step, status, delivery_status"
                )
            ]
            sent = _sent_per_day(conn, first, last)
            ledger = _ledger_per_day(conn, first, last)
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
