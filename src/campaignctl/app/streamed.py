"""The apply of a fresh plan, streamed: the planner's stages (core.planner.Planning) run a
batch at a time, each batch's facts read from the state and its decisions written before
the next is read. A group of a million contacts is enrolled, and a queue of a million due
messages considered, in the memory of one batch.

    lifecycle     launches, pauses, resumes of the lifecycle           (applied first)
    sync          each changed group, BATCH contacts at a time: enroll, skip (only the
                  rows that changed when the state keeps what its last sync read:
                  app/incremental.py); then
    removal       the numbers that left it are ended, and the group's digest recorded
    rejoin        the numbers campaigns wait for that were free when it began, BATCH at
                  a time: enrolled by the first campaign waiting (or waiting on)
    due           the enrollments whose next moment has come, oldest first, a batch at a
                  time: send, defer, skip; a campaign is read no further once its sender's
                  pace is used
    finish        resumes and completions; the run is recorded

Each stage value comes from the pure planner (core.planner.Planning) and goes to the one
executor (app.executor.Executor), which also carries out saved plans.

The decisions, and their order, are those of `core.planner.plan` on the same state: the
enrollments due before this apply are considered before the ones it enrolls, as there.
A crash between batches loses nothing: what is written is whole (each batch is a
transaction), the group's digest is recorded only once all of it is, and the next apply
goes on from the state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from datetime import datetime

from campaignctl.app.executor import Executor
from campaignctl.app.group_sync import BatchTaker, Stopped, sync_rows
from campaignctl.app.groupread import hold_broken_groups, with_samples
from campaignctl.app.incremental import RowCache, RowSync, WholeRead, prepare
from campaignctl.config import ContactSource
from campaignctl.config.phone_workers import PhoneWorkers
from campaignctl.core.actions import Action
from campaignctl.core.enrollment import Owners
from campaignctl.core.planner import Planning, Stage
from campaignctl.core.types import Contact, Desired, Plan, Waiter
from campaignctl.store.protocols import BatchStore
from campaignctl.store.stream import SyncStart

log = logging.getLogger("campaignctl.engine")


class StreamedApply:
    """One fresh apply, streamed: the planner's stages, with each batch's facts read from
    the state, handed to the executor as they are decided."""

    def __init__(
        self,
        store: BatchStore,
        planning: Planning,
        sources: Mapping[str, ContactSource],
        executor: Executor,
        now: datetime,
    ) -> None:
        self.store = store
        self.planning = planning
        self.sources = sources
        self.executor = executor
        self.now = now  # the moment this apply plans for
        self.options = executor.options
        self.interrupted = False  # asked to stop before the end
        self.held: list[Action] = []  # sends and ending skips, until the syncs are done
        # the first contacts each campaign enrolled: what a launch review estimates from
        self.samples: dict[str, list[Contact]] = {}
        self.row_syncs: dict[str, RowSync] = {}  # the syncs of only the rows that changed
        # campaign -> its due enrollments not read: its pace was used (counted, not read)
        self.unread: dict[str, int] = {}
        # the phone workers of the large groups read whole: started before the first of them
        # is looked through, they are ready when it is read
        self.workers: PhoneWorkers | None = None
        self._stack = ExitStack()

    def run(self) -> Plan:
        with self._stack:
            return self._run()

    def _run(self) -> Plan:
        planning = self.planning
        # a bad row holds its campaign, found before anything
        hold_broken_groups(planning, self.sources, self._check)
        syncs = planning.to_sync()
        self.executor.record_edits(planning.relaunches, planning.holds)
        self.executor.carry_out(planning.lifecycle().actions)
        self.store.take_freed()  # those freed while this apply runs wait for the next
        last_id = self.store.last_enrollment_id()  # the ones above are enrolled now
        try:
            if any(planning.had_live(name) for name in syncs):
                # a group of a running campaign changed: the numbers that left it are known
                # only once all of it is read, and must not be sent to; so the syncs first,
                # then every due enrollment, the new ones read back after the others
                for name in syncs:
                    self._sync(name, inline=False)
                self._rejoin(inline=False)
                self._due(last_id)
            else:
                # only new groups (a launch): the due enrollments first, then each batch's
                # new enrollments are considered as they are made (the same order). Sends,
                # and what would end an enrollment, wait for the syncs to end well: the
                # numbers stay owned meanwhile, and a file that fails to read sends nothing
                self._due(last_id, hold=bool(syncs))
                for name in syncs:
                    self._sync(name, inline=True)
                self._rejoin(inline=True)
                self.executor.carry_out(self.held)
        except Stopped:
            self.interrupted = True
        else:
            self.executor.carry_out(planning.finish().actions)
        done = self.executor.done
        for tally in planning.waits_unread(self.unread):  # counted with the defers not listed
            done.counted[(tally.campaign, tally.type, tally.reason)] += tally.count
        return planning.result(done.listed, done.tallies())

    def shown(self) -> Desired:
        """The desired state to show this apply with: each group read holds the sample of
        its first enrolled contacts (the rest were never held)."""
        return with_samples(self.executor.desired, self.planning, self.samples)

    # ------------------------------------------------------------------ stages

    def _check(self, campaign: str, group: str) -> None:
        """Look through what the campaign's sync will read for errors: the rows that
        changed, when the state keeps what the last sync read (app/incremental.py), else
        the whole group. Raises ConfigError."""
        source = self.sources[group]
        if isinstance(self.store, RowCache):
            rows = prepare(self.store, self.planning, campaign, source)
            if rows is not None:
                self.row_syncs[campaign] = rows
                return
        if self.workers is None:
            self.workers = source.start_workers()
            if self.workers is not None:
                self._stack.enter_context(self.workers)
        source.check()

    def _sync(self, campaign: str, *, inline: bool) -> None:
        """Enroll the campaign's group a batch at a time, then end the numbers that left:
        only the rows that changed when they are known (`_check`), else the whole group.
        `inline`: consider each batch's new enrollments for sending at once."""
        rows = self.row_syncs.pop(campaign, None)
        if rows is not None:
            assert isinstance(self.store, RowCache)
            start = SyncStart(enrolled=1, others_live=1, sent=True, present=False)
            sync_rows(self.store, rows, self._taker(campaign, start, inline=inline))
            return
        planning = self.planning
        group = planning.group_of(campaign)
        assert group is not None
        source = self.sources[group.name]
        start = self.store.sync_start(campaign, present=planning.had_live(campaign))
        whole = WholeRead(planning, campaign, source)
        taken = self._taker(campaign, start, inline=inline, read=whole.add)
        try:
            source.read(taken.take, self.options.batch, self.workers)
            gone = self.store.live_absent(campaign) if start.present else []
        finally:
            self.store.sync_end()
        self.executor.carry_out(planning.remove(campaign, gone, Owners({})).actions)
        planning.synced(campaign)
        if isinstance(self.store, RowCache):
            whole.record(self.store)
        else:
            self.store.set_group_digest(campaign, group.digest)
        self.store.drop_stale_waiting(campaign, group.digest)
        log.info(
            "%s: group %s synced: %d numbers read, %d enrolled",
            campaign,
            group.name,
            taken.read,
            taken.enrolled,
        )

    def _taker(
        self,
        campaign: str,
        start: SyncStart,
        *,
        inline: bool,
        read: Callable[[list[Contact]], None] | None = None,
    ) -> BatchTaker:
        return BatchTaker(
            self.planning, self.executor, self.store, self.options, self.samples, self._hold,
            campaign, start, inline=inline, read=read,
        )  # fmt: skip

    def _rejoin(self, *, inline: bool) -> None:
        """Enroll the numbers running campaigns wait for that were free when this apply
        began, a batch at a time, first waiting first. `inline`: consider the new
        enrollments for sending at once (sends and ending skips held)."""
        planning = self.planning
        for batch in self.store.freed_batches(planning.rejoining(), self.options.batch):
            if self.options.should_stop():
                raise Stopped
            owners = Owners(self.store.live_owners([w.contact.phone for w in batch]))
            stage = planning.rejoin(batch, owners)
            self._carry_out_rejoin(batch, stage.actions)
            if inline and stage.new:
                sent_before = self.store.last_sent_of({e.phone for e in stage.new})
                due = planning.due(planning.due_now(stage.new), sent_before)
                self.executor.carry_out(self._hold(due), fresh=True)
            self.executor.heartbeat()

    def _carry_out_rejoin(self, batch: list[Waiter], actions: list[Action]) -> None:
        """Each campaign's decisions with its own contacts (two groups may list a number
        with other fields): every enrollment first, so a number taken is seen held."""
        contacts: dict[str, list[Contact]] = {}
        for waiter in batch:
            contacts.setdefault(waiter.campaign, []).append(waiter.contact)
        for enrolls in (True, False):
            for campaign, theirs in contacts.items():
                mine = [
                    a for a in actions if a.campaign == campaign and (a.type == "enroll") == enrolls
                ]
                if mine:
                    self.executor.carry_out(mine, joining=theirs)

    def _hold(self, stage: Stage) -> list[Action]:
        """Keep sends and the skips that end an enrollment for later; the rest to do now."""
        later = {"send", "skip"}
        self.held.extend(a for a in stage.actions if a.type in later)
        return [a for a in stage.actions if a.type not in later]

    def _due(self, last_id: int, *, hold: bool = False) -> None:
        """Consider the enrollments whose next moment has come, oldest first, a batch at a
        time, reading no further the campaigns that can send nothing more in this tick: the
        rest of their queue waits for the pace, counted, not read (`unread`). `hold`: sends
        and skips wait in `held`."""
        # those due by their wait whose next moment is to come: counted, not read
        self.planning.wait_later(self.store.later_counts(self.now, last_id))
        batches = self.store.next_batches(
            self.now, self.options.batch, last_id, self.planning.is_used
        )
        for batch in batches:
            if self.options.should_stop():
                raise Stopped
            self.unread.update(batch.unread)
            stage = self.planning.due(batch.enrollments, batch.last_sent)
            self.executor.carry_out(self._hold(stage) if hold else stage.actions)
            self.executor.heartbeat()
