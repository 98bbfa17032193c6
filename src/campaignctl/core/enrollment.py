"""Enrollment from prospect groups: who joins a campaign, who is skipped and why, who was
removed. Runs only for a campaign whose group changed since the last sync. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from campaignctl.core.templates import TemplateProblem, is_blank, placeholders
from campaignctl.core.types import (
    Action,
    Contact,
    Enrollment,
    GroupSpec,
    Reason,
    Snapshot,
    Step,
)


@dataclass
class Owners:
    """Which campaign holds each number live, as this plan goes (first to enroll keeps it)."""

    snapshot_owner: dict[str, str]
    claimed: dict[str, str] = field(default_factory=dict)
    released: set[str] = field(default_factory=set)

    def owner(self, phone: str) -> str | None:
        if phone in self.claimed:
            return self.claimed[phone]
        if phone in self.released:
            return None
        return self.snapshot_owner.get(phone)


def missing_field(steps: Iterable[Step], fields: Mapping[str, str]) -> str | None:
    """The first placeholder without fallback that the contact cannot fill, if any."""
    for name in _required_fields(tuple(steps)):
        if is_blank(fields.get(name)):
            return name
    return None


@lru_cache(maxsize=256)
def _required_fields(steps: tuple[Step, ...]) -> tuple[str, ...]:
    """The placeholders without fallback of every step, in order: the fields render would
    find missing (worked out once per template, not once per contact)."""
    names: list[str] = []
    for step in steps:
        try:
            found = placeholders(step.body)
        except TemplateProblem:
            continue  # validate reports template syntax; nothing to say per contact
        names.extend(p.name for p in found if not p.has_default)
    return tuple(names)


@dataclass(frozen=True)
class SyncResult:
    actions: list[Action]
    new: list[Enrollment]  # enrolled by this plan; step 1 is due now


def _skip(campaign: str, phone: str, reason: Reason, detail: str) -> Action:
    return Action(type="skip", campaign=campaign, phone=phone, reason=reason, detail=detail)


def sync_group(
    campaign: str,
    group: GroupSpec,
    steps: tuple[Step, ...],
    snapshot: Snapshot,
    dnc: frozenset[str],
    owners: Owners,
    now: datetime,
) -> SyncResult:
    enrolled = snapshot.enrolled.get(campaign, frozenset())
    live = snapshot.live.get(campaign, frozenset())
    actions: list[Action] = []
    new: list[Enrollment] = []
    present: set[str] = set()
    for contact in group.contacts:
        present.add(contact.phone)
        if contact.phone in enrolled:
            continue
        reason = _enrollment_refusal(campaign, contact, steps, snapshot, dnc, owners)
        if reason is not None:
            actions.append(_skip(campaign, contact.phone, reason[0], reason[1]))
            continue
        owners.claimed[contact.phone] = campaign
        actions.append(
            Action(
                type="enroll", campaign=campaign, phone=contact.phone, detail=str(contact.source)
            )
        )
        new.append(
            Enrollment(
                campaign=campaign,
                phone=contact.phone,
                steps_sent=0,
                last_sent_at=None,
                next_due_at=now,
                enrolled_at=now,
                fields=contact.fields,
                zones=contact.zones,
                us_state=contact.us_state,
            )
        )
    for invalid in group.invalid:
        actions.append(
            _skip(campaign, invalid.raw, "invalid_phone", f"{invalid.source}: {invalid.reason}")
        )
    for phone in sorted(live - present):
        owners.released.add(phone)
        actions.append(
            Action(
                type="end",
                campaign=campaign,
                phone=phone,
                reason="removed",
                detail=f"no longer in group {group.name!r}",
            )
        )
    return SyncResult(actions, new)


def _enrollment_refusal(
    campaign: str,
    contact: Contact,
    steps: tuple[Step, ...],
    snapshot: Snapshot,
    dnc: frozenset[str],
    owners: Owners,
) -> tuple[Reason, str] | None:
    phone = contact.phone
    if phone in dnc:
        return "dnc", "on a do-not-call list"
    if phone in snapshot.opted_out:
        return "opted_out", "opted out"
    owner = owners.owner(phone)
    if owner is not None and owner != campaign:
        return "already_enrolled", f"enrolled in campaign {owner!r}"
    if not contact.zones:
        return "unknown_timezone", "no usable time zone (set timezone or timezoneFallback)"
    name = missing_field(steps, contact.fields)
    if name is not None:
        return "missing_field", f"{contact.source}: field {name!r} is empty"
    return None
