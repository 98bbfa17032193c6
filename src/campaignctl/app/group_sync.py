"""A campaign's group decided a batch at a time, as a streamed apply reads it: the whole
group (its reader hands each batch to `BatchTaker.take`), or only the rows that changed
(`sync_rows`, with what app/incremental.py worked out)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import replace

from campaignctl.app.executor import ApplyOptions, Executor
from campaignctl.app.incremental import RowCache, RowSync
from campaignctl.app.met import MetNumbers
from campaignctl.core.actions import Action
from campaignctl.core.enrollment import Owners
from campaignctl.core.planner import SAMPLE, Planning, Stage
from campaignctl.core.types import Contact, InvalidContact
from campaignctl.store.protocols import BatchStore
from campaignctl.store.stream import SyncStart

log = logging.getLogger("campaignctl.engine")


class Stopped(Exception):
    """Asked to stop between two batches."""


def first_rows(contacts: list[Contact], skipped: AbstractSet[str]) -> list[Contact]:
    """The contacts of a batch to decide: each number once, as its first row lists it (the
    row the planner decides by, and whose line and fields a number waiting or returning is
    kept with, as a whole sync keeps them), but for the numbers met and skipped before."""
    seen = set(skipped)
    fresh: list[Contact] = []
    for contact in contacts:
        if contact.phone not in seen:
            seen.add(contact.phone)
            fresh.append(contact)
    return fresh


class BatchTaker:
    """Decides a campaign's group a batch at a time (`take`, the sink of the group's
    reader): each batch's facts read from the state, its decisions carried out, the new
    enrollments considered for sending at once when `inline` (`hold` keeps their sends for
    later). `read` sees every batch of contacts."""

    def __init__(
        self,
        planning: Planning,
        executor: Executor,
        store: BatchStore,
        options: ApplyOptions,
        samples: dict[str, list[Contact]],
        hold: Callable[[Stage], list[Action]],
        campaign: str,
        start: SyncStart,
        *,
        inline: bool,
        read: Callable[[list[Contact]], None] | None = None,
    ) -> None:
        self.planning = planning
        self.executor = executor
        self.store = store
        self.options = options
        self.samples = samples
        self.hold = hold
        self.campaign = campaign
        self.start = start
        self.inline = inline
        self.seen = read
        self.met = MetNumbers()
        self.read = 0  # contacts and invalid numbers taken
        self.enrolled_before = executor.enrolled

    @property
    def enrolled(self) -> int:
        return self.executor.enrolled - self.enrolled_before

    def take(self, contacts: list[Contact], invalid: list[InvalidContact]) -> None:
        campaign, start, met = self.campaign, self.start, self.met
        planning, executor, store = self.planning, self.executor, self.store
        if self.options.should_stop():
            raise Stopped
        if self.seen is not None:
            self.seen(contacts)
        phones = [c.phone for c in contacts]
        facts = store.sync_facts(campaign, phones, start, met.maybe(phones))
        skipped = met.skipped.intersection(phones)  # met before: decided once
        fresh = first_rows(contacts, skipped)
        stage = planning.sync(
            campaign, fresh, invalid, facts.enrolled, Owners(facts.live_owner), facts.returning
        )
        joined = {e.phone for e in stage.new}
        joining = [c for c in fresh if c.phone in joined]
        executor.carry_out(stage.actions, joining=fresh)
        sample = self.samples.setdefault(campaign, [])
        sample.extend(joining[: SAMPLE - len(sample)])
        met.add(phones, (a.phone for a in stage.actions if a.type == "skip" and a.phone))
        if start.present:
            store.mark_present(phones)
        if self.inline and stage.new:
            sent_before = store.last_sent_of(joined) if start.sent else {}
            due = planning.due(planning.due_now(stage.new), sent_before)
            executor.carry_out(self.hold(due), fresh=True)
        executor.heartbeat()
        self.read += len(contacts) + len(invalid)
        if self.options.importing is not None:
            self.options.importing(campaign, self.read, self.enrolled)


def sync_rows(cache: RowCache, rows: RowSync, taker: BatchTaker) -> None:
    """Sync only the rows that changed: the contacts of the rows added, with the numbers
    the campaign waits for (decided again, as a whole sync decides them), in file order, a
    batch at a time; then the numbers the group no longer lists are ended, and what this
    sync read is recorded with the group's digest, in one transaction."""
    planning, campaign = taker.planning, taker.campaign
    group = planning.group_of(campaign)
    assert group is not None
    waiting = [
        c._replace(source=replace(c.source, line=rows.line_now(c.source.line)))
        if c.source.file == rows.csv_shown and c.source.line is not None
        else c
        for c in cache.waiting_contacts(campaign, [rows.old_digest, group.digest])
        if c.phone not in rows.touched
    ]
    offered = sorted(
        [*rows.offered, *waiting],
        key=lambda c: (c.source.file == rows.csv_shown, c.source.line or 0),
    )
    size = max(1, taker.options.batch)
    for at in range(0, max(len(offered), len(rows.invalid)), size):
        taker.take(offered[at : at + size], rows.invalid[at : at + size])
    states = cache.enrollment_states(campaign, rows.gone)
    gone = [p for p in rows.gone if states.get(p, ("",))[0] == "live"]
    taker.executor.carry_out(planning.remove(campaign, gone, Owners({})).actions)
    planning.synced(campaign)
    cache.record_synced(campaign, group.digest, lambda: rows.kept, rows.blocks, rows.drop)
    taker.store.drop_stale_waiting(campaign, group.digest)
    log.info(
        "%s: group %s synced by its changes: %d rows removed, %d added, %d numbers waited "
        "for decided again; %d enrolled, %d ended",
        campaign,
        group.name,
        rows.counts[0],
        rows.counts[1],
        len(waiting),
        taker.enrolled,
        len(gone),
    )
