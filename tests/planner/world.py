"""A simulated world for the pure planner: the observed state as plain dicts, changed only by
applying the planner's own plans (every send succeeds), with a log of every message sent.

This is the planner's environment, not a stand-in for campaignctl code under test: the store
is tested on real SQLite files elsewhere; here the rules are checked over simulated months.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta

from campaignctl.core.lifecycle import AUTO_COMPLETED, launch_record
from campaignctl.core.planner import plan as make_plan
from campaignctl.core.types import (
    Action,
    CampaignSpec,
    CampaignState,
    Contact,
    Desired,
    Enrollment,
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

HERE = Location("sim.yaml", 1, 1)


@dataclass
class Sent:
    at: datetime
    campaign: str
    phone: str
    step: int
    body: str
    credits: int


@dataclass
class World:
    balance: int = 0
    serial: int = 0
    campaigns: dict[str, CampaignState] = field(default_factory=dict)
    enrollments: dict[tuple[str, str], Enrollment] = field(default_factory=dict)
    ended: dict[tuple[str, str], str] = field(default_factory=dict)  # -> end reason
    done: set[tuple[str, str]] = field(default_factory=set)
    last_sent: dict[str, datetime] = field(default_factory=dict)
    opted_out: set[str] = field(default_factory=set)
    suspended: str | None = None
    sent_by_day: dict[tuple[str, str], int] = field(default_factory=dict)  # (day, sender)
    log: list[Sent] = field(default_factory=list)
    plans: list[Plan] = field(default_factory=list)

    def snapshot(self, desired: Desired, now: datetime) -> Snapshot:
        changed = {
            name
            for name, spec in desired.campaigns.items()
            if (g := desired.groups.get(spec.prospect_group)) is not None
            and g.loaded
            and (name not in self.campaigns or self.campaigns[name].group_digest != g.digest)
        }
        live = {
            k: e for k, e in self.enrollments.items() if k not in self.ended and k not in self.done
        }
        due = sorted(
            (e for e in live.values() if e.next_due_at <= now),
            key=lambda e: (e.next_due_at, e.campaign, e.phone),
        )
        campaigns = {
            name: replace(c, live_enrollments=sum(1 for (cn, _p) in live if cn == name))
            for name, c in self.campaigns.items()
        }
        day = now.date().isoformat()
        return Snapshot(
            serial=self.serial,
            campaigns=campaigns,
            due=tuple(due),
            enrolled={n: frozenset(p for (c, p) in self.enrollments if c == n) for n in changed},
            live={n: frozenset(p for (c, p) in live if c == n) for n in changed},
            live_owner={p: c for (c, p) in live},
            last_sent=dict(self.last_sent),
            opted_out=frozenset(self.opted_out),
            balance=self.balance,
            suspended=self.suspended,
            sent_today={s: n for (d, s), n in self.sent_by_day.items() if d == day},
        )

    def tick(self, desired: Desired, now: datetime) -> Plan:
        result = make_plan(desired, self.snapshot(desired, now), now)
        self.apply(desired, result, now)
        return result

    def apply(self, desired: Desired, plan: Plan, now: datetime) -> None:
        self.plans.append(plan)
        for a in plan.actions:
            self._apply(desired, a, now)
        for name, digest in plan.group_digests.items():
            self.campaigns[name] = replace(self.campaigns[name], group_digest=digest)
        self.serial += 1

    def _status(self, name: str, status: str, reason: str | None) -> None:
        self.campaigns[name] = replace(self.campaigns[name], status=status, reason=reason)  # type: ignore[arg-type]

    def _apply(self, desired: Desired, a: Action, now: datetime) -> None:
        if a.type == "campaign_status":
            spec = desired.campaigns[a.campaign]
            if a.campaign not in self.campaigns:
                self.campaigns[a.campaign] = CampaignState(a.campaign, "draft", None, None, None, 0)
            launch = self.campaigns[a.campaign].launch
            if a.from_status == "draft":
                launch = launch_record(spec, desired.templates[spec.template])
            self.campaigns[a.campaign] = replace(
                self.campaigns[a.campaign], status=a.to_status, reason=None, launch=launch
            )
        elif a.type == "pause":
            self._status(a.campaign, "paused", "insufficient_credits")
        elif a.type == "resume":
            self._status(a.campaign, "active", None)
        elif a.type == "complete":
            self._status(a.campaign, "completed", AUTO_COMPLETED)
        elif a.type == "enroll":
            group = desired.groups[desired.campaigns[a.campaign].prospect_group]
            contact = next(c for c in group.contacts if c.phone == a.phone)
            assert (a.campaign, contact.phone) not in self.enrollments
            self.enrollments[(a.campaign, contact.phone)] = Enrollment(
                a.campaign,
                contact.phone,
                0,
                None,
                now,
                now,
                contact.fields,
                contact.zones,
                contact.us_state,
            )
        elif a.type in ("end", "skip") and a.phone and (a.type == "end" or a.step is not None):
            self.ended[(a.campaign, a.phone)] = a.reason or "?"
        elif a.type == "send":
            assert a.phone and a.step and a.body is not None and a.credits is not None
            key = (a.campaign, a.phone)
            e = self.enrollments[key]
            steps = self.campaigns[a.campaign].launch.steps  # type: ignore[union-attr]
            self.balance -= a.credits
            self.last_sent[a.phone] = now
            sender = self.campaigns[a.campaign].launch.sender.key  # type: ignore[union-attr]
            day = (now.date().isoformat(), sender)
            self.sent_by_day[day] = self.sent_by_day.get(day, 0) + 1
            self.log.append(Sent(now, a.campaign, a.phone, a.step, a.body, a.credits))
            if a.step >= len(steps):
                self.done.add(key)
                self.enrollments[key] = e._replace(steps_sent=a.step, last_sent_at=now)
            else:
                wait = timedelta(days=steps[a.step].wait_days)
                self.enrollments[key] = e._replace(
                    steps_sent=a.step, last_sent_at=now, next_due_at=now + wait
                )


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


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


NINE_TO_FIVE = QuietHours(time(9, 0), time(17, 0))
