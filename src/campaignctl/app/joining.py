"""What the executor keeps about the numbers a campaign waits for, and the contacts its
enrollments are made from.

A number skipped `already_enrolled` waits for the campaign holding it: its contact is kept
in the state with the group's digest (store/waitlist.py), so it is enrolled the moment its
holder's enrollment ends, without reading the group again. A number skipped for any other
reason, or enrolled, waits no more.
"""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from datetime import datetime

from campaignctl.core.actions import Action
from campaignctl.core.types import Contact, Desired, Snapshot
from campaignctl.store.protocols import ApplyWriter


def contacts_for(
    desired: Desired,
    snapshot: Snapshot,
    campaign: str,
    phones: AbstractSet[str],
    given: Sequence[Contact] | None,
) -> list[Contact]:
    """The contacts of these numbers of the campaign's group: among those `given`, else in
    the group as loaded, else among the waiters of the snapshot (a group not read again)."""
    if given is not None:
        return [c for c in given if c.phone in phones]
    group = desired.groups[desired.campaigns[campaign].prospect_group]
    found = [c for c in group.contacts if c.phone in phones]
    if len(found) < len(phones):
        known = {c.phone for c in found}
        found.extend(
            w.contact
            for w in snapshot.waiters
            if w.campaign == campaign and w.contact.phone in phones - known
        )
    return found


def keep_waiting(
    store: ApplyWriter,
    desired: Desired,
    snapshot: Snapshot,
    skips: Sequence[Action],
    given: Sequence[Contact] | None,
    now: datetime,
) -> None:
    """Numbers refused enrollment `already_enrolled` wait for their holder; numbers refused
    for another reason wait no more (their group's next change decides again)."""
    held: dict[str, set[str]] = {}
    refused: dict[str, list[str]] = {}
    for action in skips:
        if action.type != "skip" or action.step is not None or action.phone is None:
            continue
        if action.reason == "already_enrolled":
            held.setdefault(action.campaign, set()).add(action.phone)
        else:
            refused.setdefault(action.campaign, []).append(action.phone)
    for campaign, phones in held.items():
        group = desired.groups[desired.campaigns[campaign].prospect_group]
        contacts = contacts_for(desired, snapshot, campaign, phones, given)
        store.wait_for(campaign, group.digest, contacts, now)
    for campaign, numbers in refused.items():
        store.stop_waiting(campaign, numbers)
