"""Enrollment from prospect groups: who joins a campaign, who is skipped and why, who was
removed, who returns. Runs for a campaign whose group changed since the last sync, and for
the numbers a campaign waits for that are free now (`rejoin`). Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from campaignctl.core.actions import End, Enroll, Skip
from campaignctl.core.consent import missing_consent
from campaignctl.core.templates import TemplateProblem, first_blank, required_names
from campaignctl.core.types import (
    Action,
    Contact,
    Enrollment,
    InvalidContact,
    Reason,
    Step,
    Waiter,
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


@lru_cache(maxsize=256)
def required_fields(steps: tuple[Step, ...]) -> tuple[str, ...]:
    """The placeholders without fallback of every step, each once, in order: the fields
    render would find missing (worked out once per template, not once per contact)."""
    names: list[str] = []
    for step in steps:
        try:
            names.extend(required_names(step.body))
        except TemplateProblem:
            continue  # validate reports template syntax; nothing to say per contact
    return tuple(dict.fromkeys(names))


@dataclass(frozen=True)
class SyncResult:
    actions: list[Action]
    new: list[Enrollment]  # enrolled by this plan; step 1 is due now


def _skip(campaign: str, phone: str, reason: Reason, detail: str) -> Action:
    return Skip(campaign, phone, reason, detail)


def sync_contacts(
    campaign: str,
    contacts: Iterable[Contact],
    invalid: Iterable[InvalidContact],
    steps: tuple[Step, ...],
    enrolled: AbstractSet[str],
    opted_out: AbstractSet[str],
    dnc: AbstractSet[str],
    owners: Owners,
    now: datetime,
    wrong_numbers: AbstractSet[str] = frozenset(),
    returning: Mapping[str, Enrollment] | None = None,
    require_consent: bool = False,
) -> SyncResult:
    """Enroll or skip contacts of a campaign's group: the whole group, or one batch of it.

    `enrolled`: the numbers this campaign enrolled before (live or ended), at least those of
    `contacts`; they are left alone, but for `returning`: those whose enrollment ended
    `removed`, whose row is back (enrolled again, every rule applying, at their next step).
    A number met twice is decided once (the first wins). `require_consent`: a contact
    without consentSource and consentAt is skipped (no_consent).
    """
    actions: list[Action] = []
    new: list[Enrollment] = []
    seen: set[str] = set()
    required = required_fields(steps)
    back = returning or {}
    for contact in contacts:
        phone = contact.phone
        if phone in seen:
            continue
        previous = back.get(phone)
        if phone in enrolled and (previous is None or previous.steps_sent >= len(steps)):
            continue
        seen.add(phone)
        reason = _enrollment_refusal(
            campaign, contact, required, opted_out, dnc, owners, wrong_numbers, require_consent
        )
        if reason is not None:
            actions.append(_skip(campaign, phone, reason[0], reason[1]))
            continue
        owners.claimed[phone] = campaign
        actions.append(Enroll(campaign, phone, str(contact.source)))
        new.append(_joined(campaign, contact, previous, now))
    for bad in invalid:
        actions.append(_skip(campaign, bad.raw, "invalid_phone", f"{bad.source}: {bad.reason}"))
    return SyncResult(actions, new)


def _joined(
    campaign: str, contact: Contact, previous: Enrollment | None, now: datetime
) -> Enrollment:
    """The enrollment a contact joins with: new (step 1 due now), or its earlier one again,
    at the step after the last it was sent (due as the caller says)."""
    if previous is not None:
        return previous._replace(
            fields=contact.fields, zones=contact.zones, us_state=contact.us_state
        )
    return Enrollment(
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


def rejoin_waiters(
    waiters: Iterable[Waiter],
    steps: Mapping[str, tuple[Step, ...]],
    opted_out: AbstractSet[str],
    dnc: AbstractSet[str],
    owners: Owners,
    now: datetime,
    wrong_numbers: AbstractSet[str] = frozenset(),
    require_consent: bool = False,
) -> SyncResult:
    """Enroll the free numbers campaigns wait for, first waiting first, every rule applying:
    the first campaign to take a number keeps it, and the others wait on (skipped
    `already_enrolled` again). `steps`: the sequence of each campaign that may enroll now."""
    actions: list[Action] = []
    new: list[Enrollment] = []
    for waiter in waiters:
        campaign = waiter.campaign
        if campaign not in steps:
            continue
        previous = waiter.previous
        result = sync_contacts(
            campaign,
            (waiter.contact,),
            (),
            steps[campaign],
            frozenset({waiter.contact.phone}) if previous is not None else frozenset(),
            opted_out,
            dnc,
            owners,
            now,
            wrong_numbers=wrong_numbers,
            returning={waiter.contact.phone: previous} if previous is not None else None,
            require_consent=require_consent,
        )
        actions.extend(result.actions)
        new.extend(result.new)
    return SyncResult(actions, new)


def removals(campaign: str, group: str, phones: Iterable[str], owners: Owners) -> list[Action]:
    """End the live enrollments of numbers no longer in the group (in the order given)."""
    actions: list[Action] = []
    for phone in phones:
        owners.released.add(phone)
        actions.append(End(campaign, phone, "removed", f"no longer in group {group!r}"))
    return actions


def _enrollment_refusal(
    campaign: str,
    contact: Contact,
    required: tuple[str, ...],
    opted_out: AbstractSet[str],
    dnc: AbstractSet[str],
    owners: Owners,
    wrong_numbers: AbstractSet[str],
    require_consent: bool,
) -> tuple[Reason, str] | None:
    phone = contact.phone
    if phone in dnc:
        return "dnc", "on a do-not-call list"
    if phone in opted_out:
        return "opted_out", "opted out"
    if phone in wrong_numbers:
        return "wrong_number", "its owner said it is a wrong number"
    if require_consent and (lacking := missing_consent(contact.fields)):
        names = " and ".join(lacking)
        return "no_consent", f"{contact.source}: no {names} (requireConsent is on)"
    owner = owners.owner(phone)
    if owner is not None and owner != campaign:
        return "already_enrolled", f"enrolled in campaign {owner!r}"
    if not contact.zones:
        return "unknown_timezone", "no usable time zone (set timezone or timezoneFallback)"
    name = first_blank(required, contact.fields)
    if name is not None:
        return "missing_field", f"{contact.source}: field {name!r} is empty"
    return None
