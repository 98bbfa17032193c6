"""A simulated world for the planner: a real state file, changed only by the real executor
carrying out the planner's own plans (through the outbox provider: every send succeeds),
with the messages sent read back from the state.

The store and the executor are the ones campaignctl runs; only time and the configuration
(built as values, not files) are simulated, so the rules are checked over simulated months.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path

from campaignctl.app.apply import carry_out_plan
from campaignctl.app.executor import ApplyOptions
from campaignctl.app.lease import Lease
from campaignctl.app.plan import Planned
from campaignctl.clock import FrozenClock
from campaignctl.core.instants import format_instant, parse_instant
from campaignctl.core.planner import plan as make_plan
from campaignctl.core.types import (
    CampaignSpec,
    CampaignState,
    Contact,
    Desired,
    GroupSpec,
    Plan,
    QuietHours,
    Sender,
    Settings,
    Snapshot,
    Step,
    TemplateSpec,
)
from campaignctl.errors import Location
from campaignctl.providers.outbox import OutboxProvider
from campaignctl.store import Store

HERE = Location("sim.yaml", 1, 1)
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)  # before any simulated instant


@dataclass(frozen=True)
class Sent:
    at: datetime
    campaign: str
    phone: str
    step: int
    body: str


@dataclass(frozen=True)
class Enrolled:
    """One enrollment as the state holds it."""

    campaign: str
    phone: str
    status: str  # live, done, ended
    end_reason: str | None
    steps_sent: int
    next_due_at: datetime
    zones: tuple[str, ...]


class OptOuts:
    """The opted-out numbers of the state; `add` records a STOP."""

    def __init__(self, world: World) -> None:
        self.world = world

    def add(self, phone: str) -> None:
        self.world.store.add_optout(phone, "sms", "STOP", self.world.now)

    def __contains__(self, phone: object) -> bool:
        return isinstance(phone, str) and self.world.store.optout_of(phone) is not None


class World:
    """A state file, and the time of the simulation (changes from outside happen at it)."""

    def __init__(
        self, balance: int = 0, suspended: str | None = None, opted_out: Iterable[str] = ()
    ) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="campaignctl-world-")
        self.path = Path(self._folder.name) / "state.db"
        self.store = Store.open(self.path)
        self.now = EPOCH
        self.plans: list[Plan] = []
        self.balance = balance
        self.suspended = suspended
        for phone in opted_out:
            self.opted_out.add(phone)

    # ------------------------------------------------------------------ changed from outside

    @property
    def balance(self) -> int:
        return self.store.balance()

    @balance.setter
    def balance(self, value: int) -> None:
        more = value - self.store.balance()
        assert more >= 0, "credits are only added"
        if more:
            self.store.add_credits(more, "simulation", self.now)

    @property
    def suspended(self) -> str | None:
        return self.store.suspended()

    @suspended.setter
    def suspended(self, reason: str | None) -> None:
        if reason is None:
            self.store.resume(self.now)
        else:
            self.store.suspend(reason, self.now)

    @property
    def opted_out(self) -> OptOuts:
        return OptOuts(self)

    # ------------------------------------------------------------------ planning and applying

    def snapshot(self, desired: Desired, now: datetime) -> Snapshot:
        return self.store.snapshot(desired, now)

    def tick(self, desired: Desired, now: datetime) -> Plan:
        """Plan at `now` and carry the plan out with the real executor."""
        self.now = now
        clock = FrozenClock(now)
        snapshot = self.store.snapshot(desired, now)
        plan = make_plan(desired, snapshot, now)
        with Lease(self.store, "simulation", 0.0):
            carry_out_plan(
                self.store,
                OutboxProvider(self.store, clock),
                clock,
                ApplyOptions(holder="simulation"),
                Planned(desired, snapshot, plan),
            )
        self.plans.append(plan)
        return plan

    # ------------------------------------------------------------------ read from the state

    @property
    def log(self) -> list[Sent]:
        return [Sent(m.at, m.campaign, m.to, m.step, m.body) for m in self.store.outbox()]

    def sent(self) -> int:
        """How many messages went out so far."""
        return len(self._read("SELECT 1 FROM outbox"))

    def sent_since(self, count: int) -> list[Sent]:
        """The messages sent after the first `count`."""
        new = self.sent() - count
        if new <= 0:
            return []
        return [Sent(m.at, m.campaign, m.to, m.step, m.body) for m in self.store.outbox(new)]

    def _read(self, sql: str) -> list[tuple[object, ...]]:
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()

    @property
    def campaigns(self) -> dict[str, CampaignState]:
        return dict(self.store.snapshot(_NOTHING, self.now, with_due=False).campaigns)

    @property
    def enrollments(self) -> dict[tuple[str, str], Enrolled]:
        rows = self._read(
            "SELECT campaign, phone, status, end_reason, steps_sent, next_due_at, zones"
            " FROM enrollments"
        )
        return {
            (c, p): Enrolled(c, p, st, why, n, parse_instant(due), tuple(json.loads(zones)))
            for c, p, st, why, n, due, zones in rows
        }

    def enrolled_at(self) -> dict[tuple[str, str], datetime]:
        """When each enrollment was made, by (campaign, phone)."""
        rows = self._read("SELECT campaign, phone, enrolled_at FROM enrollments")
        return {(str(c), str(p)): parse_instant(str(t)) for c, p, t in rows}

    def zones_of(self, campaign: str, phone: str) -> tuple[str, ...]:
        rows = self._read(
            f"SELECT zones FROM enrollments WHERE campaign = {_quoted(campaign)}"
            f" AND phone = {_quoted(phone)}"
        )
        return tuple(json.loads(str(rows[0][0])))

    def next_due_after(self, now: datetime) -> datetime | None:
        """When the next live enrollment can go out, after `now`: due by its wait, and its
        next moment come (a number deferred to its window is not read before)."""
        moment = "max(next_due_at, coalesce(next_at, next_due_at))"
        rows = self._read(
            f"SELECT min({moment}) FROM enrollments WHERE status = 'live'"
            f" AND {moment} > {_quoted(format_instant(now))}"
        )
        return parse_instant(str(rows[0][0])) if rows and rows[0][0] else None

    def forget_next_moments(self) -> None:
        """Make every next moment its wait, as a state kept before next moments were: the
        next tick reads every enrollment due by its wait."""
        conn = sqlite3.connect(self.path)
        try:
            conn.execute("UPDATE enrollments SET next_at = next_due_at")
            conn.commit()
        finally:
            conn.close()

    @property
    def ended(self) -> dict[tuple[str, str], str]:
        return {k: e.end_reason or "?" for k, e in self.enrollments.items() if e.status == "ended"}

    @property
    def done(self) -> set[tuple[str, str]]:
        return {k for k, e in self.enrollments.items() if e.status == "done"}


# --------------------------------------------------------------------------- building desired


def digest(*parts: object) -> str:
    return "sha256:" + hashlib.sha256(repr(parts).encode()).hexdigest()


def template(name: str, bodies: list[str], waits: list[int]) -> TemplateSpec:
    steps = tuple(Step(body=b, wait_days=w) for b, w in zip(bodies, waits, strict=True))
    return TemplateSpec(name=name, status="published", steps=steps, source=HERE)


def campaign(
    name: str,
    template_name: str,
    group: str,
    *,
    status: str = "active",
    sender: str = "+15125550100",
    mps: float = 1.0,
    daily: int | None = None,
    quiet: QuietHours = QuietHours(),
) -> CampaignSpec:
    return CampaignSpec(
        name=name,
        template=template_name,
        prospect_group=group,
        status=status,  # type: ignore[arg-type]
        sender=Sender(from_number=sender, messages_per_second=mps, daily_limit=daily),
        quiet_hours=quiet,
        stop_on_reply=True,
        source=HERE,
    )


def group(name: str, contacts: list[Contact]) -> GroupSpec:
    return GroupSpec(
        name=name,
        source=HERE,
        digest=digest(name, [(c.phone, sorted(c.fields.items()), c.zones) for c in contacts]),
        contacts=tuple(contacts),
        field_names=frozenset(k for c in contacts for k in c.fields),
    )


def contact(phone: str, zones: tuple[str, ...], state: str | None = None, **fields: str) -> Contact:
    return Contact(phone=phone, fields=fields, zones=zones, us_state=state, source=HERE)


def desired(
    campaigns: list[CampaignSpec],
    templates: list[TemplateSpec],
    groups: list[GroupSpec],
    *,
    dnc: frozenset[str] = frozenset(),
    settings: Settings = Settings(),
) -> Desired:
    return Desired(
        campaigns={c.name: c for c in campaigns},
        templates={t.name: t for t in templates},
        groups={g.name: g for g in groups},
        dnc=dnc,
        settings=settings,
        config_digest=digest([c.name for c in campaigns], sorted(dnc)),
    )


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


_NOTHING = Desired({}, {}, {}, frozenset(), Settings(), "sha256:none")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


NINE_TO_FIVE = QuietHours(time(9, 0), time(17, 0))
